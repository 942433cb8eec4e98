/**
 * Algorand engine parameters (genesis `engine.params`), checked against the validator set: every
 * validator needs its own VRF key, and the committee sizes are capped at the total stake — with a
 * small total stake the committee is everyone (selection probability 1), and the classic bound of
 * a voting protocol with thresholds T applies instead of the paper's sampling argument.
 */
import type { EngineParams } from '../../ledger/genesis.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import { EngineParamsError, numberParams } from '../params.ts';
import { type CommitteeThreshold, votesToPass } from './committee.ts';
import { MAX_BINARY_STEPS } from './messages.ts';
import { MAX_COMMITTEE_SIZE } from './sortition.ts';

export interface AlgorandParams {
  /** λ_proposal + λ_stepvar: how long a period's proposals are collected before REDUCTION_ONE. */
  readonly proposalWaitMs: number;
  /** λ_block: REDUCTION_ONE waits λ_block + λ_step (others may still be validating a block). */
  readonly blockWaitMs: number;
  /** λ_step: every other step's CountVotes timeout. */
  readonly stepMs: number;
  /**
   * MAXSTEPS of BinaryBA*; after it the period ends without a result (see engine.ts). The paper's
   * 150 ends in its recovery protocol; here a new period is the recovery, and honest nodes split
   * across two periods wait for it, so it is short: four rounds of the coin.
   */
  readonly maxSteps: number;
  /** τ_proposer, τ_step, τ_final: expected selected stake per role (capped at the total stake). */
  readonly tauProposer: number;
  readonly tauStep: number;
  readonly tauFinal: number;
  /** T_step and T_final in thousandths (the paper: 0.685 and 0.74). */
  readonly thresholdStep: number;
  readonly thresholdFinal: number;
  /** R: sortition seeds are refreshed every R heights (seed.ts lookBackRound). */
  readonly seedRefresh: number;
  /**
   * Every tick: re-send own votes of this period and the previous one while stalled (the node did
   * not move since the last tick), and relay what justifies the tentative blocks below.
   */
  readonly rebroadcastMs: number;
}

export const ALGORAND_DEFAULTS: AlgorandParams = {
  proposalWaitMs: 500,
  blockWaitMs: 1000,
  stepMs: 1000,
  maxSteps: 12,
  tauProposer: 26,
  tauStep: 2000,
  tauFinal: 10_000,
  thresholdStep: 685,
  thresholdFinal: 740,
  seedRefresh: 10,
  rebroadcastMs: 1000,
};

const BOUNDS: Partial<Record<keyof AlgorandParams, readonly [number, number]>> = {
  maxSteps: [3, MAX_BINARY_STEPS],
  tauProposer: [1, Number(MAX_COMMITTEE_SIZE)],
  tauStep: [1, Number(MAX_COMMITTEE_SIZE)],
  tauFinal: [1, Number(MAX_COMMITTEE_SIZE)],
  // 1/2 < T < 1: two values can never both pass a step.
  thresholdStep: [501, 999],
  thresholdFinal: [501, 999],
  seedRefresh: [1, 1_000_000],
};

export function algorandParams(params: EngineParams): AlgorandParams {
  // `bound` is what parseAlgorandParams adds (the runtime hands parsed parameters to create).
  return numberParams('algorand', params, { ...ALGORAND_DEFAULTS }, BOUNDS, ['bound']);
}

/** A role's committee with τ capped at the total stake (probability ≤ 1). */
export interface Committee extends CommitteeThreshold {
  /** The weight (selected sub-users) a value needs: floor(T·τ) + 1. */
  readonly needed: number;
}

export function committee(thousandths: number, tau: number, totalStake: number): Committee {
  const t = { numerator: thousandths, denominator: 1000, expectedSize: Math.min(tau, totalStake) };
  return { ...t, needed: votesToPass(t) };
}

export interface Committees {
  readonly proposer: number;
  readonly step: Committee;
  readonly final: Committee;
  /** Whether every unit of stake sits on every committee (τ ≥ W for both voting roles). */
  readonly everyone: boolean;
}

export function committees(p: AlgorandParams, validators: ValidatorSet): Committees {
  const W = validators.totalPower;
  return {
    proposer: Math.min(p.tauProposer, W),
    step: committee(p.thresholdStep, p.tauStep, W),
    final: committee(p.thresholdFinal, p.tauFinal, W),
    everyone: p.tauStep >= W && p.tauFinal >= W,
  };
}

/**
 * The bound a genesis gets, in words. Full committee: the classic bound of thresholds T — safety
 * while the faulty power stays below 2T − 1 of the total (two passing sets of one step intersect in
 * more than that), liveness while honest power alone passes every threshold. Sampled: the paper's
 * probabilistic argument, which assumes more than 80% honest stake for its committee sizes.
 */
export function describeBound(p: AlgorandParams, validators: ValidatorSet): string {
  const c = committees(p, validators);
  const W = validators.totalPower;
  if (c.everyone) {
    const safe = Math.min(2 * c.step.needed - W, 2 * c.final.needed - W) - 1;
    const live = W - Math.max(c.step.needed, c.final.needed);
    return `full committee (τ ≥ total stake ${W}): safe while faulty power ≤ ${safe} of ${W}, live while it is ≤ ${live} and the network is synchronous`;
  }
  return `sampled committees (τ_step ${c.step.expectedSize}, τ_final ${c.final.expectedSize} of total stake ${W}): safe with overwhelming probability when honest stake exceeds 80% (Gilad et al. §7, for the paper's τ and T), final blocks only under strong synchrony`;
}

/** parseParams: the numbers, checked against the validator set, plus the bound in words. */
export function parseAlgorandParams(
  params: EngineParams,
  validators?: ValidatorSet,
): Record<string, string | number | boolean> {
  const p = algorandParams(params);
  if (validators === undefined) return { ...p };
  const missing = validators.validators.filter((v) => v.vrfPublicKey === undefined);
  if (missing.length > 0)
    throw new EngineParamsError(
      'ENGINE_PARAMS',
      `algorand: every validator needs a VRF key (genesis "vrfPublicKey"); missing for ${missing
        .map((v) => v.name)
        .join(', ')}`,
    );
  return { ...p, bound: describeBound(p, validators) };
}
