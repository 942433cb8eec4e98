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
import { POW_ENGINE } from './rules.ts';

export { POW_CERT_KIND, type PowCertificate, powCertificateScheme } from './certificate.ts';
export type { PowMessage } from './messages.ts';

export const pow: EngineModule<PowMessage> = {
  name: POW_ENGINE,
  description: `Proof of Work (Nakamoto 2008): the most-work chain, ASERT retarget, commits k blocks deep — ${POW_CERT_GUARANTEE}`,
  faultModel: HASH_POWER_FAULTS,
  emptyBlocks: true,
  reads: [],
  codec: powCodec,
  // A few hundred hashes a block and two-second blocks. Ten confirmations: a 5-second partition
  // (the simulator's longest) is far short of the time to mine ten blocks on either side, and a
  // miner with a quarter of the hash power (a Byzantine validator of four) reverts a 10-deep block
  // with probability about 0.1% (Nakamoto 2008, §11: q = 0.25 needs z ≈ 15 for 0.1%).
  simParams: { genesisBits: 0x2000ffff, blockIntervalMs: 2000, announceMs: 1000, confirmations: 10 },
  parseParams: (params) => ({ ...parsePowParams(params) }),
  create: (ctx) => new PowEngine(ctx, parsePowParams(ctx.params)),
};
