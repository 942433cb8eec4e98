/**
 * The Algorand engine module: BA* over VRF sortition (engine.ts). Parameters (genesis
 * engine.params, params.ts): proposalWaitMs, blockWaitMs, stepMs, maxSteps, tauProposer, tauStep,
 * tauFinal, thresholdStep, thresholdFinal (thousandths), seedRefresh, rebroadcastMs. Every
 * validator needs its own VRF key (genesis `vrfPublicKey`).
 */
import type { FaultModel } from '../fault-model.ts';
import type { EngineModule } from '../types.ts';
import { AlgorandEngine } from './engine.ts';
import { type AlgorandMessage, algorandCodec } from './messages.ts';
import { ALGORAND_DEFAULTS, algorandParams, parseAlgorandParams } from './params.ts';

export { ALGORAND_CERT_KIND, algorandCertificateScheme } from './certificate.ts';
export type { AlgorandMessage } from './messages.ts';

/** floor(T·n) + 1 of n equal units, T in thousandths. */
const needed = (thousandths: number, n: number) => Math.floor((thousandths * n) / 1000) + 1;

/**
 * For n validators of equal power and the default thresholds, in full committee (τ ≥ n): at most
 * f faulty such that the honest n − f alone pass T_step and T_final (liveness) and two passing sets
 * of one step intersect in more than f (safety). With T_final = 0.74 that is f = 1 of 4 or of 7:
 * stricter than n/3, the price of the paper's thresholds. Sampled committees (τ below the total
 * stake) rest on a probabilistic argument instead: params.ts describeBound says which one a
 * genesis gets (`verity config check` prints it).
 */
function tolerated(n: number): number {
  const stepNeeded = needed(ALGORAND_DEFAULTS.thresholdStep, n);
  const finalNeeded = needed(ALGORAND_DEFAULTS.thresholdFinal, n);
  const live = n - Math.max(stepNeeded, finalNeeded);
  const safe = Math.min(2 * stepNeeded - n, 2 * finalNeeded - n) - 1;
  return Math.max(0, Math.min(live, safe));
}

export const ALGORAND_FAULTS: FaultModel = {
  kind: 'byzantine',
  tolerated,
  quorumPower: (set) => needed(ALGORAND_DEFAULTS.thresholdFinal, set.totalPower),
  livenessCore: (n) => n - tolerated(n),
  byzantineModes: 'all',
  description:
    'full committee (τ ≥ total stake): tolerates faulty power f while the honest rest passes T_final = 0.74 and two passing sets intersect in more than f (1 of 4, 1 of 7); sampled committees: honest stake > 80% with overwhelming probability',
};

export const algorand: EngineModule<AlgorandMessage> = {
  name: 'algorand',
  description:
    'Algorand BA* (Gilad et al. 2017): VRF sortition, Reduction, BinaryBA* with a common coin, final and tentative blocks',
  faultModel: ALGORAND_FAULTS,
  emptyBlocks: true,
  reads: [],
  codec: algorandCodec,
  requiresVrfKeys: true,
  parseParams: parseAlgorandParams,
  create: (ctx) => new AlgorandEngine(ctx, algorandParams(ctx.params)),
  byzantine: {
    conflicting(msg, ctx) {
      if (msg.type === 'proposal') {
        const alt = ctx.alternative(msg.hash);
        return alt === undefined ? undefined : { ...msg, block: alt.block, hash: alt.hash };
      }
      // A vote for the other block built at this position, for the empty outcome, or for a block
      // when the vote was empty (the sortition proof stays valid: it does not cover the value).
      const alt = msg.value.length ? ctx.alternative(msg.value) : undefined;
      const value =
        alt?.hash ?? (msg.value.length ? new Uint8Array(0) : new Uint8Array(32).fill(1 + ctx.rng.int(255)));
      if (msg.step === 255 && value.length === 0) return undefined; // FINAL names a block
      return { ...msg, value };
    },
  },
};
