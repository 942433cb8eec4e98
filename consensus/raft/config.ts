/**
 * Raft cluster membership (Ongaro & Ousterhout 2014, §6; etcd-io/raft's quorum/ and confchange/):
 * which validators vote, which only replicate (learners), and the joint configuration C_old,new
 * through which the voters change.
 *
 * The validators of the epoch are the universe: every one of them may sign, follow and be
 * replicated to. A configuration picks the voters among them — and, while a change is under way,
 * the outgoing voters too. A validator in no list follows like an observer and counts for nothing.
 *
 * Quorums are by voting power: more than half of the power of the voters; in a joint
 * configuration, more than half of the incoming voters AND more than half of the outgoing ones
 * (§6: "agreement requires separate majorities from both"). A learner never counts.
 *
 * Where a configuration lives: in the entries. Every block's header engine data names the
 * configuration in force for it (entry.ts), so a log's configuration is its last entry's — "a
 * server always uses the latest configuration in its log, regardless of whether the entry is
 * committed" (§6) — it goes back when a conflicting suffix is truncated, and a certificate is
 * checked against the configuration in the acknowledged block's own header.
 */
import { invariant } from '../../crypto/errors.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';

/** Members per list: far above any cluster Raft is run with, and bounds the header's engine data. */
export const MAX_CONFIG_MEMBERS = 128;

export interface RaftConfig {
  /** The voters — the incoming ones while joint: validator indices, strictly ascending. */
  readonly voters: readonly number[];
  /** Joint consensus only: C_old's voters, strictly ascending and non-empty. */
  readonly outgoing?: readonly number[];
  /** Learners: replicated to, never voting or counted; strictly ascending, no incoming voter. */
  readonly learners: readonly number[];
}

/** The configuration of a chain that never changed it: every validator votes. */
export function defaultConfig(validators: ValidatorSet): RaftConfig {
  return { voters: validators.validators.map((v) => v.index), learners: [] };
}

export function isJoint(c: RaftConfig): boolean {
  return c.outgoing !== undefined;
}

export function sameConfig(a: RaftConfig, b: RaftConfig): boolean {
  return (
    sameList(a.voters, b.voters) &&
    sameList(a.outgoing ?? [], b.outgoing ?? []) &&
    sameList(a.learners, b.learners)
  );
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Whether `c` is the default one (every validator votes, no learners, not joint). */
export function isDefaultConfig(c: RaftConfig, validators: ValidatorSet): boolean {
  return sameConfig(c, defaultConfig(validators));
}

/** What is wrong with `c` over `validators` (structure only), or undefined. */
export function configViolation(c: RaftConfig, validators: ValidatorSet): string | undefined {
  const lists: Array<[string, readonly number[]]> = [
    ['voters', c.voters],
    ['learners', c.learners],
  ];
  if (c.outgoing !== undefined) lists.push(['outgoing voters', c.outgoing]);
  for (const [name, list] of lists) {
    if (list.length > MAX_CONFIG_MEMBERS) return `${name}: more than ${MAX_CONFIG_MEMBERS}`;
    for (let i = 0; i < list.length; i++) {
      const v = list[i] as number;
      if (!Number.isSafeInteger(v) || validators.at(v) === undefined) return `${name}: no validator ${v}`;
      if (i > 0 && v <= (list[i - 1] as number)) return `${name}: not strictly ascending`;
    }
  }
  if (c.voters.length === 0) return 'no voters';
  if (c.outgoing !== undefined && c.outgoing.length === 0)
    return 'a joint configuration without outgoing voters';
  if (c.learners.some((l) => c.voters.includes(l))) return 'a validator is both a voter and a learner';
  return undefined;
}

/**
 * Whether a log may go from `prev` to `next` in one entry (§6, etcd's confchange): unchanged;
 * entering joint consensus (C_old → C_old,new, the outgoing voters being C_old's); leaving it
 * (C_old,new → C_new, the incoming voters kept); or, outside joint consensus, learners alone
 * changing — a learner counts for nothing, so no overlap of quorums is at stake. Any other step
 * could let two disjoint majorities decide.
 */
export function transitionViolation(prev: RaftConfig, next: RaftConfig): string | undefined {
  if (sameConfig(prev, next)) return undefined;
  if (!isJoint(prev) && isJoint(next))
    return sameList(next.outgoing ?? [], prev.voters)
      ? undefined
      : "entering joint consensus with outgoing voters that are not the configuration's voters";
  if (isJoint(prev) && !isJoint(next))
    return sameList(next.voters, prev.voters) ? undefined : 'leaving joint consensus with other voters';
  if (!isJoint(prev) && !isJoint(next))
    return sameList(next.voters, prev.voters)
      ? undefined
      : 'voters changed without joint consensus (C_old → C_new directly)';
  return 'one joint configuration replaced by another';
}

/**
 * The configuration a leader moves to next, from its log's `current` one toward the `target`
 * voters and learners a committed request asks for: leave joint consensus first; then nothing
 * while `current` is what was asked; a learners-only change directly; otherwise enter C_old,new.
 */
export function nextConfig(
  current: RaftConfig,
  target: { readonly voters: readonly number[]; readonly learners: readonly number[] } | undefined,
): RaftConfig | undefined {
  if (isJoint(current)) return { voters: current.voters, learners: current.learners };
  if (target === undefined) return undefined;
  const voters = [...new Set(target.voters)].sort((a, b) => a - b);
  const learners = [...new Set(target.learners)].filter((l) => !voters.includes(l)).sort((a, b) => a - b);
  const wanted: RaftConfig = { voters, learners };
  if (sameConfig(current, wanted)) return undefined;
  if (sameList(current.voters, voters)) return wanted;
  return { voters, outgoing: current.voters, learners };
}

/** A configuration over the validators' powers: who votes, and what a quorum is. */
export class Membership {
  readonly config: RaftConfig;
  readonly #validators: ValidatorSet;
  readonly #majorities: ReadonlyArray<{ readonly voters: readonly number[]; readonly majority: number }>;

  constructor(config: RaftConfig, validators: ValidatorSet) {
    const bad = configViolation(config, validators);
    invariant(bad === undefined, () => `raft: an invalid configuration: ${bad}`);
    this.config = config;
    this.#validators = validators;
    const lists = config.outgoing === undefined ? [config.voters] : [config.voters, config.outgoing];
    this.#majorities = lists.map((voters) => ({
      voters,
      majority: Math.floor(validators.powerOf(voters) / 2) + 1,
    }));
  }

  /** Votes in some majority: an incoming or an outgoing voter. */
  isVoter(validator: number): boolean {
    return this.#majorities.some((m) => m.voters.includes(validator));
  }

  isLearner(validator: number): boolean {
    return this.config.learners.includes(validator) && !this.isVoter(validator);
  }

  /** Whether `validators` hold a majority of every voter list (both, when joint). */
  hasQuorum(validators: Iterable<number>): boolean {
    const set = new Set(validators);
    return this.#majorities.every((m) => this.#power(m.voters, set) >= m.majority);
  }

  /** Whether `validators` keep any quorum from forming: a blocking set in some voter list. */
  blocksQuorum(validators: Iterable<number>): boolean {
    const set = new Set(validators);
    return this.#majorities.some(
      (m) => this.#validators.powerOf(m.voters) - this.#power(m.voters, set) < m.majority,
    );
  }

  /** Plain description for logs and status: `voters 0,1,2 (joint with 0,1,3), learners 4`. */
  describe(): string {
    const c = this.config;
    const joint = c.outgoing === undefined ? '' : ` (joint with outgoing ${c.outgoing.join(',')})`;
    const learners = c.learners.length === 0 ? '' : `, learners ${c.learners.join(',')}`;
    return `voters ${c.voters.join(',')}${joint}${learners}`;
  }

  #power(voters: readonly number[], set: ReadonlySet<number>): number {
    return this.#validators.powerOf(voters.filter((v) => set.has(v)));
  }
}
