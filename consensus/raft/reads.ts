/**
 * The leader's bookkeeping for reads (thesis §6.4, etcd's read_only.go): ReadIndex rounds and the
 * lease that lets it skip them.
 *
 * ReadIndex: a read is registered with the commit index at its arrival, and a numbered probe goes
 * to every follower; once a quorum of the leader's configuration (config.ts; the leader counting
 * if it votes) has echoed that probe or a later one — in this term — the leader was still the
 * leader after the read arrived, and the read may be served at that index. Echoes of earlier probes prove nothing about
 * a read that arrived after they were sent, which is why probes are numbered.
 *
 * Lease: a probe confirmed by a quorum also gives the leader a lease from the moment it was SENT
 * (no follower received it earlier) for LEASE_FRACTION of the election timeout. A follower that
 * heard from the leader grants no vote for a whole election timeout (CheckQuorum), and neither does
 * a follower that just started (engine.ts), so no other leader can exist before the lease runs
 * out — if clocks run at rates within the drift margin. The lease is measured with the injected
 * monotonic clock, not in timer firings: a paused leader's timers fire late, its clock does not.
 */
import type { Membership } from './config.ts';

/** The part of an election timeout a confirmed probe leases: a 10% margin for clock-rate drift. */
export const LEASE_FRACTION = 0.9;

export interface PendingRead {
  readonly id: number;
  /** The follower that forwarded it, or undefined for this node's own. */
  readonly from: number | undefined;
  readonly index: number;
  /** The probe sent for it: echoes of this one or a later one confirm it. */
  readonly seq: number;
}

export class LeaderReads {
  readonly #self: number;
  #seq = 0;
  /** Highest probe each validator echoed in this term. */
  readonly #echoed = new Map<number, number>();
  /** Monotonic send time of each probe not yet confirmed (leases). */
  readonly #sentAt = new Map<number, number>();
  #pending: PendingRead[] = [];
  #confirmed = 0;
  #leaseUntil = Number.NEGATIVE_INFINITY;

  constructor(self: number) {
    this.#self = self;
  }

  /** A new probe: its number. `now` is the monotonic clock, when leases are in use. */
  probe(now: number | undefined): number {
    const seq = ++this.#seq;
    if (now !== undefined) this.#sentAt.set(seq, now);
    return seq;
  }

  register(read: PendingRead): void {
    this.#pending.push(read);
  }

  get pending(): readonly PendingRead[] {
    return this.#pending;
  }

  /**
   * `validator` echoed probe `seq`. Returns the reads now confirmed — by a quorum of the leader's
   * configuration (`membership`); with `leaseMs`, a newly confirmed probe extends the lease from
   * its send time.
   */
  echo(validator: number, seq: number, leaseMs: number | undefined, membership: Membership): PendingRead[] {
    if (seq > this.#seq) return []; // not a probe of this leader's term: ignore
    this.#echoed.set(validator, Math.max(this.#echoed.get(validator) ?? 0, seq));
    const confirmed = this.#highestConfirmed(membership);
    if (confirmed <= this.#confirmed) return [];
    this.#confirmed = confirmed;
    if (leaseMs !== undefined) {
      const sent = this.#sentAt.get(confirmed);
      if (sent !== undefined) this.#leaseUntil = Math.max(this.#leaseUntil, sent + leaseMs * LEASE_FRACTION);
    }
    for (const s of this.#sentAt.keys()) if (s <= confirmed) this.#sentAt.delete(s);
    const released = this.#pending.filter((r) => r.seq <= confirmed);
    this.#pending = this.#pending.filter((r) => r.seq > confirmed);
    return released;
  }

  /** Whether the lease covers monotonic time `now`. */
  leased(now: number): boolean {
    return now < this.#leaseUntil;
  }

  /** The highest probe echoed by a quorum of `membership` (this leader counting with its latest). */
  #highestConfirmed(membership: Membership): number {
    const echoed = new Map(this.#echoed);
    echoed.set(this.#self, this.#seq);
    const seqs = [...new Set(echoed.values())].sort((a, b) => b - a);
    for (const s of seqs) {
      if (s <= this.#confirmed) break;
      if (membership.hasQuorum([...echoed].filter(([, e]) => e >= s).map(([v]) => v))) return s;
    }
    return this.#confirmed;
  }
}
