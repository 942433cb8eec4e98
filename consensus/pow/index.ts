/**
 * The Proof-of-Work engine module: Nakamoto consensus — mine on the tip with the most cumulative
 * work, commit k blocks deep — with the ASERT retarget (asert.ts) anchored at genesis and
 * Bitcoin's compact targets (target.ts). Parameters (genesis engine.params): confirmations,
 * blockIntervalMs, halfLifeMs, genesisBits, announceMs (params.ts).
 *
 * Registered as `pow` (consensus/registry.ts). Its certificates are the headers that bury a block
 * (certificate.ts): what they promise is probabilistic, and every verifier prints so.
 */
import { HASH_POWER_FAULTS } from '../fault-model.ts';
import type { EngineModule } from '../types.ts';
import { POW_CERT_GUARANTEE } from './certificate.ts';
import { PowEngine } from './engine.ts';
import { type PowMessage, powCodec } from './messages.ts';
import { parsePowParams } from './params.ts';
import { ancestorOf, chainWorkOf, POW_ENGINE, powHeaderFault, retargetRule } from './rules.ts';

export { POW_CERT_KIND, type PowCertificate, powCertificateScheme } from './certificate.ts';
export type { PowMessage } from './messages.ts';

export const pow: EngineModule<PowMessage> = {
  name: POW_ENGINE,
  description: `Proof of Work (Nakamoto 2008): the most-work chain, ASERT retarget, commits k blocks deep — ${POW_CERT_GUARANTEE}`,
  faultModel: HASH_POWER_FAULTS,
  emptyBlocks: true,
  reads: [],
  slotless: true,
  codec: powCodec,
  // A few hundred hashes a block, one-second blocks and k = 17: a 5-second partition (the
  // simulator's longest) is far short of the time to mine 17 blocks on either side, and a miner
  // with a quarter of the hash power (a Byzantine validator of four) reverts a 17-deep block with
  // probability under 0.1% — the exact race in the simulator's mining model needs z = 17 at
  // q = 0.25, more than Nakamoto's 15 (his Poisson shortcut; npm run bench:pow prints both).
  simParams: { genesisBits: 0x2000ffff, blockIntervalMs: 1000, announceMs: 1000, confirmations: 17 },
  parseParams: (params) => ({ ...parsePowParams(params) }),
  create: (ctx) => new PowEngine(ctx, parsePowParams(ctx.params)),
  headerFault: (header, hash, parent, params, genesisTimeMs) =>
    powHeaderFault(header, hash, ancestorOf(parent), retargetRule(parsePowParams(params), genesisTimeMs)),
  chainWork: chainWorkOf,
  confirmations: (params) => {
    const p = parsePowParams(params);
    return { blocks: p.confirmations, expectedMs: (p.confirmations + 1) * p.blockIntervalMs };
  },
};
