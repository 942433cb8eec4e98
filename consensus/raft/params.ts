/** Raft engine parameters (genesis `engine.params`): validated, bounded, defaults filled in. */
import type { EngineParams } from '../../ledger/genesis.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import { EngineParamsError, numberParams } from '../params.ts';

export interface RaftParams {
  /**
   * T: a follower that hears from no leader for a timeout drawn uniformly from [T, 2T) starts an
   * election (§5.2); a voter that heard from a leader less than T ago ignores (pre-)vote requests
   * (thesis §9.6); a leader that did not hear from a majority for T steps down (check-quorum).
   */
  readonly electionTimeoutMs: number;
  /** The leader's empty AppendEntries interval (§5.2): well below T. */
  readonly heartbeatMs: number;
  /**
   * Entries the leader keeps uncommitted beyond its commit point: it builds the next block only
   * while fewer are in flight, so no follower ever has more than this many entries on the way.
   */
  readonly maxInflight: number;
  /** PreVote (thesis §9.6): a round that does not bump the term before a real election. */
  readonly preVote: boolean;
  /** CheckQuorum: a leader that has not heard from a majority within T steps down. */
  readonly checkQuorum: boolean;
}

export const RAFT_DEFAULTS = {
  electionTimeoutMs: 1000,
  heartbeatMs: 100,
  maxInflight: 4,
};

const BOOLEANS = ['preVote', 'checkQuorum'] as const;

export function parseRaftParams(params: EngineParams, validators?: ValidatorSet): RaftParams {
  if ('unsafeCommitPreviousTerm' in params)
    throw new EngineParamsError(
      'ENGINE_PARAMS',
      'raft: unsafeCommitPreviousTerm commits by counting replicas of older-term entries (Raft Figure 8); it exists for tests only and is never accepted from genesis',
    );
  const n = numberParams(
    'raft',
    params,
    { ...RAFT_DEFAULTS },
    {
      electionTimeoutMs: [10, 600_000],
      heartbeatMs: [1, 600_000],
      maxInflight: [1, 256],
    },
    BOOLEANS,
  );
  for (const [k, v] of Object.entries(n))
    if (!Number.isInteger(v))
      throw new EngineParamsError('ENGINE_PARAMS', `raft: parameter "${k}" must be an integer`);
  if (n.heartbeatMs >= n.electionTimeoutMs)
    throw new EngineParamsError('ENGINE_PARAMS', 'raft: heartbeatMs must be below electionTimeoutMs');
  const flags: Record<(typeof BOOLEANS)[number], boolean> = { preVote: true, checkQuorum: true };
  for (const k of BOOLEANS) {
    const v = params[k];
    if (v === undefined) continue;
    if (typeof v !== 'boolean')
      throw new EngineParamsError('ENGINE_PARAMS', `raft: parameter "${k}" must be true or false`);
    flags[k] = v;
  }
  if (validators !== undefined && validators.size < 1)
    throw new EngineParamsError('ENGINE_PARAMS', 'raft: needs at least one validator');
  return { ...n, ...flags };
}
