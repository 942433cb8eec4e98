/**
 * What an engine tolerates, as an object the simulator, the sweeps and (later) genesis checks can
 * ask, instead of a 'bft' | 'cft' string each caller interpreted for itself. For n validators of
 * equal power: how many may be faulty (f), what a quorum holds, and how many must be up and
 * honest for the engine to make progress — n − f, the liveness core (2f + 1 only when n = 3f + 1).
 */
import type { ValidatorSet } from '../ledger/validators.ts';

export interface FaultModel {
  readonly kind: 'byzantine' | 'crash';
  /** Faulty validators tolerated among n of equal power. */
  tolerated(n: number): number;
  /** The power a quorum of `set` holds. */
  quorumPower(set: ValidatorSet): number;
  /** Validators that must be up and honest for progress: n − f. */
  livenessCore(n: number): number;
  /** Byzantine behaviours a simulation may give its faulty validators ('all', or these names). */
  readonly byzantineModes: 'all' | readonly string[];
  readonly description: string;
}

const bftTolerated = (n: number) => Math.floor((n - 1) / 3);
const cftTolerated = (n: number) => Math.floor((n - 1) / 2);

export const BYZANTINE_FAULTS: FaultModel = {
  kind: 'byzantine',
  tolerated: bftTolerated,
  quorumPower: (set) => set.quorumPower,
  livenessCore: (n) => n - bftTolerated(n),
  byzantineModes: 'all',
  description: 'tolerates f < n/3 Byzantine validators (by power); a quorum holds more than 2/3 of the power',
};

export const CRASH_FAULTS: FaultModel = {
  kind: 'crash',
  tolerated: cftTolerated,
  quorumPower: (set) => set.majorityPower,
  livenessCore: (n) => n - cftTolerated(n),
  // A crash-fault engine promises nothing against Byzantine behaviour: silence is a crash.
  byzantineModes: ['silent'],
  description:
    'tolerates f < n/2 crashed validators and no Byzantine one; a quorum holds more than half the power',
};

/**
 * Proof of Work: safety and liveness rest on the honest miners holding most of the hash power
 * (each validator one equal share in the simulator). A Byzantine minority may withhold, mine in
 * private or send junk; finality is probabilistic, so "tolerated" means a reversal of a k-deep
 * block becomes exponentially unlikely in k, not impossible. Any honest miner makes progress.
 */
export const HASH_POWER_FAULTS: FaultModel = {
  kind: 'byzantine',
  tolerated: cftTolerated,
  quorumPower: (set) => set.majorityPower,
  livenessCore: (n) => n - cftTolerated(n),
  byzantineModes: ['silent', 'invalid-sig', 'garbage', 'replay', 'selfish', 'private-chain'],
  description:
    'tolerates Byzantine miners holding less than half the hash power; finality is k blocks deep and probabilistic',
};

/**
 * Whether `byzantine` of n validators behaving as `mode` is within what the model tolerates: at
 * most f of them, in a behaviour the model admits (for a crash-fault engine, only silence — a
 * twin or an equivocator is outside its model however few there are).
 */
export function tolerates(model: FaultModel, n: number, byzantine: number, mode: string): boolean {
  if (byzantine === 0) return true;
  const admitted = model.byzantineModes === 'all' || model.byzantineModes.includes(mode);
  return admitted && byzantine <= model.tolerated(n);
}
