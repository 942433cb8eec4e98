/**
 * How far this node's clock is from its peers': each status message carries the sender's clock.
 * A sample (our clock − theirs, at receipt) over-reads by the message's delay — a message held up
 * by a paused peer, a retransmission or a slow link reads us seconds ahead — and never
 * under-reads, so per peer the smallest of its recent samples is the best estimate (as NTP keeps
 * its lowest-delay samples); the offset is the median of those over the peers heard from.
 */
import type { Clock } from '../../ledger/clock.ts';
import type { Logger } from './ports.ts';

const SAMPLES_PER_PEER = 8;

export class ClockOffset {
  readonly #samples = new Map<string, number[]>();

  observe(peer: string, peerMs: number, localMs: number): void {
    let recent = this.#samples.get(peer);
    if (recent === undefined) this.#samples.set(peer, (recent = []));
    recent.push(localMs - peerMs);
    if (recent.length > SAMPLES_PER_PEER) recent.shift();
  }

  forget(peer: string): void {
    this.#samples.delete(peer);
  }

  /**
   * Median over peers of their least-delayed recent offset, or undefined with none. `withSelf`:
   * this clock counts as one more reading (offset 0) — the median of every clock, this one's too.
   */
  estimate(withSelf = false): { offsetMs: number; peers: number } | undefined {
    const v = [...this.#samples.values()].map((recent) => Math.min(...recent));
    const peers = v.length;
    if (withSelf) v.push(0);
    v.sort((a, b) => a - b);
    if (v.length === 0) return undefined;
    const mid = Math.floor(v.length / 2);
    const offsetMs =
      v.length % 2 === 1 ? (v[mid] as number) : Math.round(((v[mid - 1] as number) + (v[mid] as number)) / 2);
    return { offsetMs, peers };
  }
}

/** The most a validator's block clock is corrected towards its peers' (see BlockClock.now). */
const MAX_CLOCK_ADJUST_MS = 10 * 60_000;
/** How long after it starts a validator may wait to judge its clock before it stamps a block. */
const JUDGE_WAIT_MS = 3000;

/**
 * The clock blocks are stamped and checked with. It is this node's clock — or, while that is off
 * from the other validators' by more than half the drift bound, the validators' median clock
 * (within ±10 minutes): a validator whose clock is 20 s behind then still votes for honest blocks
 * in time, and one 20 s ahead stamps blocks its peers accept. The median of the other validators
 * is bounded by honest clocks while fewer than half of the readings are Byzantine, so the node
 * judges its clock only once 2f+1 other validators have reported (f = ⌊(n−1)/3⌋): from the first
 * reading alone, a node 20 s ahead that hears first from one 20 s behind would read itself 40 s
 * off and steer by a single, possibly lying, clock. Only validators' readings count; while the
 * clock is off it warns once a minute.
 */
export class BlockClock {
  readonly #clock: Clock;
  readonly #driftMs: number;
  readonly #validators: ReadonlySet<string>;
  readonly #quorum: number;
  readonly #logger: Logger;
  readonly #beforeReading: () => void;
  readonly #offset = new ClockOffset();
  readonly #startedAt: number;
  #warnedAt = Number.NEGATIVE_INFINITY;

  /** `beforeReading` forgets departed peers first (block sync knows who is connected). */
  constructor(o: {
    clock: Clock;
    driftMs: number;
    validatorPeers: ReadonlySet<string>;
    logger: Logger;
    beforeReading: () => void;
  }) {
    this.#clock = o.clock;
    this.#driftMs = o.driftMs;
    this.#validators = o.validatorPeers;
    // n = the other validators and this one.
    this.#quorum = 2 * Math.floor(o.validatorPeers.size / 3) + 1;
    this.#logger = o.logger;
    this.#beforeReading = o.beforeReading;
    this.#startedAt = o.clock.now();
  }

  /**
   * How long to wait before stamping a block on a parent made at `parentMs` (0: stamp now). A
   * validator just started has no peer readings yet; if its clock then reads more than the drift
   * bound past its parent block's time, it may be the wrong one — and its block is one its peers
   * would hold, their clocks being no earlier than that parent (a process relaunched on a clock
   * 20 s ahead stamped its first block 20 s ahead, and every peer held it ~10 s) — so it waits, up
   * to JUDGE_WAIT_MS after its start, for 2f+1 validators' readings. Within the drift bound of the
   * parent (no peer would hold that block, and a parent a few slots old is common), with a clock
   * already judged, or alone, it stamps at once; after the wait it stamps with what it has.
   */
  stampWaitMs(parentMs: number): number {
    if (this.#validators.size === 0) return 0;
    const now = this.#clock.now();
    const left = this.#startedAt + JUDGE_WAIT_MS - now;
    if (left <= 0 || now - parentMs <= this.#driftMs) return 0;
    return this.offset() === undefined ? left : 0;
  }

  /** A peer's clock reading (from its status message). */
  observe(peer: string, peerMs: number): void {
    if (!this.#validators.has(peer)) return;
    const now = this.#clock.now();
    this.#offset.observe(peer, peerMs, now);
    const c = this.offset();
    if (c === undefined || !c.off || now - this.#warnedAt < 60_000) return;
    this.#warnedAt = now;
    this.#logger.warn(
      `this node's clock is ${(Math.abs(c.offsetMs) / 1000).toFixed(1)} s ${c.offsetMs > 0 ? 'ahead of' : 'behind'} its peers (median of ${c.peers}): fix its time sync (NTP)`,
      {
        offsetMs: c.offsetMs,
        peers: c.peers,
        effect:
          c.offsetMs > 0
            ? 'its blocks look future to its peers, which hold them until their clocks catch up'
            : "its peers' blocks look future here and are held until this clock catches up",
      },
    );
  }

  forget(peer: string): void {
    this.#offset.forget(peer);
  }

  /**
   * This clock against the validators' (positive: ahead), and whether it is off — undefined until
   * 2f+1 other validators have reported.
   */
  offset(): { offsetMs: number; peers: number; off: boolean } | undefined {
    this.#beforeReading();
    const e = this.#offset.estimate();
    if (e === undefined || e.peers < this.#quorum) return undefined;
    return { ...e, off: Math.abs(e.offsetMs) > this.#driftMs / 2 };
  }

  /**
   * The validators' median clock, this one's reading among them: what slot-timed engines (Proof
   * of Stake) count slots by, so that validators whose clocks disagree by more than a slot still
   * agree on the slot (Bitcoin's network-adjusted time; Ethereum leaves it to NTP). Every node
   * that hears every validator takes the median of the same readings; while fewer than half of
   * them are Byzantine, it lies between honest clocks.
   */
  networkNow(): number {
    const now = this.#clock.now();
    this.#beforeReading();
    const e = this.#offset.estimate(true);
    if (e === undefined) return now;
    return now - Math.max(-MAX_CLOCK_ADJUST_MS, Math.min(MAX_CLOCK_ADJUST_MS, e.offsetMs));
  }

  now(): number {
    const now = this.#clock.now();
    const c = this.offset();
    if (c === undefined || !c.off) return now;
    return now - Math.max(-MAX_CLOCK_ADJUST_MS, Math.min(MAX_CLOCK_ADJUST_MS, c.offsetMs));
  }
}
