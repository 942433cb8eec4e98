/**
 * The leader's view of each validator (etcd's tracker/): matchIndex and nextIndex of Figure 2, the
 * repair in flight, and who was heard from since the last check-quorum. Every validator is tracked
 * — voters, learners and those in no list are all replicated to — and quorums are the
 * configuration's (config.ts Membership), asked for at each decision: it changes with the log.
 */
import type { ValidatorSet } from '../../ledger/validators.ts';
import type { Membership } from './config.ts';

export interface Follower {
  /** Highest index known to be replicated on it in this term (0: none yet). */
  match: number;
  /** Next index to send it (initialized just past the leader's last entry, §5.3). */
  next: number;
  /**
   * prevIndex of the repair append in flight, while one is: rejects of other appends (entries
   * broadcast meanwhile) are then ignored, so a follower behind costs one repair per round trip.
   */
  repairAt: number | undefined;
}

export class Progress {
  readonly #self: number;
  readonly #followers = new Map<number, Follower>();
  /** Validators heard from since the last check (check-quorum). */
  readonly #active = new Set<number>();

  constructor(validators: ValidatorSet, self: number, lastIndex: number) {
    this.#self = self;
    for (const v of validators.validators)
      this.#followers.set(v.index, { match: 0, next: lastIndex + 1, repairAt: undefined });
  }

  of(validator: number): Follower | undefined {
    return this.#followers.get(validator);
  }

  /** Validators other than the leader. */
  others(): number[] {
    return [...this.#followers.keys()].filter((v) => v !== this.#self);
  }

  /** Entry `index` went to everyone: a follower that had been sent everything before it now has it in flight. */
  broadcast(index: number): void {
    for (const f of this.#followers.values()) if (f.next === index) f.next = index + 1;
  }

  /** A successful reply for `index`; returns whether matchIndex moved. */
  acknowledged(validator: number, index: number): boolean {
    const f = this.#followers.get(validator);
    if (f === undefined) return false;
    // The repair carried entries after repairAt: an ack beyond it answers the repair.
    if (f.repairAt !== undefined && index > f.repairAt) f.repairAt = undefined;
    f.next = Math.max(f.next, index + 1);
    if (index <= f.match) return false;
    f.match = index;
    return true;
  }

  heardFrom(validator: number): void {
    this.#active.add(validator);
  }

  /** Check-quorum: whether a quorum (the leader included) was heard from; starts a new period. */
  quorumActive(membership: Membership): boolean {
    this.#active.add(this.#self);
    const ok = membership.hasQuorum(this.#active);
    this.#active.clear();
    return ok;
  }

  /** The validators whose matchIndex is at least `index`. */
  matchedBy(index: number): number[] {
    return [...this.#followers.entries()].filter(([, f]) => f.match >= index).map(([v]) => v);
  }

  /** Forgets the repairs in flight (each heartbeat): a lost one is sent again on the next reject. */
  clearRepairs(): void {
    for (const f of this.#followers.values()) f.repairAt = undefined;
  }
}
