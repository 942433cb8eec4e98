/**
 * The Proof-of-Stake engine module: Gasper — stake-weighted proposers drawn from a RANDAO mix,
 * LMD-GHOST fork choice, Casper FFG finality (engine.ts). Parameters (genesis engine.params):
 * slotMs, slotsPerEpoch (params.ts).
 *
 * Registered as `pos` (consensus/registry.ts). Its certificates are FFG finality proofs
 * (certificate.ts): accountable safety, which every verifier prints.
 */
import { onlyTyped } from '../../crypto/errors.ts';
import { headerHash } from '../../ledger/block.ts';
import { BYZANTINE_FAULTS } from '../fault-model.ts';
import type { EngineModule } from '../types.ts';
import { POS_CERT_GUARANTEE } from './certificate.ts';
import { PosEngine } from './engine.ts';
import { type PosMessage, posCodec } from './messages.ts';
import { parsePosParams } from './params.ts';
import { decodePosData, genesisMix, POS_ENGINE, posHeaderFault } from './rules.ts';

export { POS_CERT_KIND, type PosCertificate, posCertificateScheme } from './certificate.ts';
export type { PosMessage } from './messages.ts';

export const pos: EngineModule<PosMessage> = {
  name: POS_ENGINE,
  description: `Proof of Stake (Gasper): RANDAO proposers weighted by stake, LMD-GHOST fork choice, Casper FFG finality — ${POS_CERT_GUARANTEE}`,
  faultModel: BYZANTINE_FAULTS,
  emptyBlocks: true,
  reads: [],
  codec: posCodec,
  // Epochs of four one-second slots: finality in two to three epochs, about ten simulated
  // seconds, well inside a simulation's liveness window after its faults heal.
  simParams: { slotMs: 1000, slotsPerEpoch: 4 },
  parseParams: (params) => ({ ...parsePosParams(params) }),
  create: (ctx) => new PosEngine(ctx, parsePosParams(ctx.params)),
  headerFault(header, _hash, parent, params) {
    let data: ReturnType<typeof decodePosData>;
    try {
      data = decodePosData(header.engineData);
    } catch (e) {
      return `engine data: ${onlyTyped(e).message}`;
    }
    let parentData: { slot: number; mix: Uint8Array; seed: Uint8Array };
    if (parent.height === 0) {
      const mix = genesisMix(headerHash(parent));
      parentData = { slot: 0, mix, seed: mix };
    } else
      try {
        parentData = decodePosData(parent.engineData);
      } catch (e) {
        return `parent engine data: ${onlyTyped(e).message}`;
      }
    return posHeaderFault(data, parentData, parsePosParams(params).slotsPerEpoch);
  },
  // A transaction lands in some epoch e; e's checkpoint is justified during e + 1 and finalized
  // during e + 2 (Gasper's common case): up to three epochs.
  finalityDelayMs: (params) => {
    const p = parsePosParams(params);
    return 3 * p.slotsPerEpoch * p.slotMs;
  },
  guardPosition: (header) => (header.height === 0 ? 0 : decodePosData(header.engineData).slot),
  byzantine: {
    // A second block for the same slot (a double proposal); votes need the BLS key, which the
    // simulator's equivocators do not hand out — their twins double-vote instead.
    conflicting(msg, ctx) {
      if (msg.type !== 'block') return undefined;
      const alt = ctx.alternative(headerHash(msg.block.header));
      return alt === undefined ? undefined : { type: 'block', block: alt.block, slot: msg.slot };
    },
  },
};
