/**
 * Multi-Paxos engine parameters (genesis `engine.params`): validated, bounded, defaults filled in.
 *
 * The quorums are Flexible Paxos's (Howard, Malkhi & Spiegelman 2016): Phase 1 (prepare/promise)
 * needs validators holding `phase1Quorum` of the voting power, Phase 2 (accept/accepted) holding
 * `phase2Quorum`. Safety needs only that every Phase-1 quorum meets every Phase-2 quorum, which by
 * power is Q1 + Q2 > total; majorities of both (the default) are the classic case. A small Q2 makes
 * every block cheaper and keeps committing with fewer validators up; the price is a larger Q1 for
 * a leader change.
 */
import type { EngineParams } from '../../ledger/genesis.ts';
import { MAX_TOTAL_POWER, type ValidatorSet } from '../../ledger/validators.ts';
import { EngineParamsError, numberParams } from '../params.ts';
import { MAX_NODES } from './ballot.ts';

export interface MultiPaxosParams {
  /**
   * T: a follower that hears from no leader for a timeout drawn from [T, 2T) starts Phase 1; a
   * proposer preempted by a higher ballot backs off as long before it tries again; an acceptor
   * that heard from its leader less than T ago ignores other proposers (the leader's lease); a
   * leader that did not hear from a Phase-2 quorum for T steps down.
   */
  readonly electionTimeoutMs: number;
  /** The leader's heartbeat (an empty accept carrying its commit proof): well below T. */
  readonly heartbeatMs: number;
  /** Blocks the leader keeps proposed beyond its commit point. */
  readonly maxInflight: number;
  /** Phase-1 quorum by voting power; 0 in genesis means a majority. */
  readonly phase1Quorum: number;
  /** Phase-2 quorum by voting power; 0 in genesis means a majority. */
  readonly phase2Quorum: number;
}

export interface Quorums {
  readonly phase1: number;
  readonly phase2: number;
}

export const MULTIPAXOS_DEFAULTS = {
  electionTimeoutMs: 1000,
  heartbeatMs: 100,
  maxInflight: 4,
  phase1Quorum: 0,
  phase2Quorum: 0,
};

/** Why quorums of `q1` and `q2` power cannot run among `total`, or undefined if they can. */
export function quorumViolation(q1: number, q2: number, total: number): string | undefined {
  if (q1 < 1 || q2 < 1) return `quorums must hold some power (phase 1: ${q1}, phase 2: ${q2})`;
  if (q1 > total || q2 > total)
    return `a quorum above the total power ${total} can never form (phase 1: ${q1}, phase 2: ${q2})`;
  if (q1 + q2 <= total)
    return `phase 1 (${q1}) + phase 2 (${q2}) must exceed the total power ${total}, or a new leader's phase 1 can miss a chosen block`;
  return undefined;
}

/** The quorums for `validators`: genesis values, or majorities for 0; refused if unsafe. */
export function resolveQuorums(p: MultiPaxosParams, validators: ValidatorSet): Quorums {
  const q = {
    phase1: p.phase1Quorum === 0 ? validators.majorityPower : p.phase1Quorum,
    phase2: p.phase2Quorum === 0 ? validators.majorityPower : p.phase2Quorum,
  };
  const violation = quorumViolation(q.phase1, q.phase2, validators.totalPower);
  if (violation !== undefined) throw new EngineParamsError('ENGINE_PARAMS', `multipaxos: ${violation}`);
  return q;
}

/**
 * Validates `params`; with the validator set also the quorums (filled in: majorities where genesis
 * says nothing) and the set's size (a ballot names at most 2^20 validators).
 */
export function parseMultiPaxosParams(params: EngineParams, validators?: ValidatorSet): MultiPaxosParams {
  const n = numberParams(
    'multipaxos',
    params,
    { ...MULTIPAXOS_DEFAULTS },
    {
      electionTimeoutMs: [10, 600_000],
      heartbeatMs: [1, 600_000],
      maxInflight: [1, 256],
      phase1Quorum: [0, MAX_TOTAL_POWER],
      phase2Quorum: [0, MAX_TOTAL_POWER],
    },
  );
  for (const [k, v] of Object.entries(n))
    if (!Number.isInteger(v))
      throw new EngineParamsError('ENGINE_PARAMS', `multipaxos: parameter "${k}" must be an integer`);
  if (n.heartbeatMs >= n.electionTimeoutMs)
    throw new EngineParamsError('ENGINE_PARAMS', 'multipaxos: heartbeatMs must be below electionTimeoutMs');
  if (validators === undefined) return n;
  if (validators.size < 1 || validators.size > MAX_NODES)
    throw new EngineParamsError('ENGINE_PARAMS', `multipaxos: needs 1..${MAX_NODES} validators`);
  const q = resolveQuorums(n, validators);
  return { ...n, phase1Quorum: q.phase1, phase2Quorum: q.phase2 };
}
