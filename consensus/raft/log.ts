/**
 * The Raft log of one node (etcd's log.go): the committed head (the chain store's head — the
 * committed prefix), the uncommitted entries above it, and a short window of recently committed
 * entries kept in memory so a leader can still send them to a follower a little behind. Older
 * committed blocks live only in the chain store; a follower further behind catches up by the
 * runtime's block sync (Raft's snapshot).
 *
 * Entries are blocks (entry.ts): index = height, and each names its predecessor by hash, so the
 * log is always a hash chain from the head.
 */
import { equalBytes } from '../../crypto/bytes.ts';
import { invariant } from '../../crypto/errors.ts';
import type { Block } from '../../ledger/block.ts';
import type { Frontier } from '../../ledger/log/index.ts';
import { type BlockId, blockId } from '../block-id.ts';
import type { HeadInfo } from '../types.ts';
import { appendEntry } from './messages.ts';

/** Committed entries kept in memory for followers slightly behind. */
export const RETAIN_COMMITTED = 64;

export interface LogEntry {
  readonly index: number;
  readonly term: number;
  readonly hash: Uint8Array;
  readonly id: BlockId;
  readonly block: Block;
}

export interface LogHead {
  readonly height: number;
  readonly hash: Uint8Array;
  /** The head entry's term; undefined when not known (HeadInfo does not carry it; records.ts). */
  readonly term: number | undefined;
  /** Frontier of the block-hash history 0 … height (for ancestry proofs). */
  readonly history: Frontier;
}

/**
 * What the log can still say of itself when the committed head's term is not known (the chain
 * moved by block sync, which names no term): `floor`, an ancestor of the head whose term is known
 * — a lower bound to claim as a candidate; `ceiling`, the highest term of any entry this node has
 * held at or below the head — an upper bound of everything it stored, which is all its vote must
 * protect (a node that never held the head was not in the majority that committed it).
 */
export interface LogBounds {
  readonly floor: { readonly index: number; readonly term: number };
  readonly ceiling: number;
}

export function logEntry(block: Block): LogEntry {
  const e = appendEntry(block);
  return { index: block.header.height, term: e.term, hash: e.hash, id: blockId(e.hash), block };
}

export class RaftLog {
  #head: LogHead;
  /** Uncommitted entries: index head.height + 1 + k. */
  #entries: LogEntry[] = [];
  /** Committed entries ending at the head, ascending (possibly empty). */
  #retained: LogEntry[] = [];
  #bounds: LogBounds;

  constructor(head: HeadInfo, term: number | undefined, bounds: LogBounds) {
    this.#head = { height: head.height, hash: head.hash, term, history: head.history };
    this.#bounds =
      term === undefined
        ? bounds
        : { floor: { index: head.height, term }, ceiling: Math.max(bounds.ceiling, term) };
  }

  get head(): LogHead {
    return this.#head;
  }

  get bounds(): LogBounds {
    return this.#bounds;
  }

  get lastIndex(): number {
    return this.#head.height + this.#entries.length;
  }

  get lastHash(): Uint8Array {
    return this.#entries.at(-1)?.hash ?? this.#head.hash;
  }

  /** The last entry's term; undefined when the log ends at a head of unknown term. */
  get lastTerm(): number | undefined {
    return this.#entries.at(-1)?.term ?? this.#head.term;
  }

  get uncommitted(): readonly LogEntry[] {
    return this.#entries;
  }

  /** The lowest index whose block this log holds. */
  get lowestHeld(): number {
    return this.#retained[0]?.index ?? this.#head.height + 1;
  }

  /** The entry at `index`, uncommitted or in the retained window. */
  entry(index: number): LogEntry | undefined {
    if (index > this.#head.height) return this.#entries[index - this.#head.height - 1];
    const first = this.#retained[0];
    return first === undefined || index < first.index ? undefined : this.#retained[index - first.index];
  }

  termAt(index: number): number | undefined {
    if (index === this.#head.height) return this.#head.term;
    return this.entry(index)?.term;
  }

  hashAt(index: number): Uint8Array | undefined {
    if (index === this.#head.height) return this.#head.hash;
    return this.entry(index)?.hash ?? this.entry(index + 1)?.block.header.parentHash;
  }

  /**
   * Whether this log holds block `hash` at `index` (§5.3's consistency check, by hash). Below the
   * head everything is committed — a prefix every leader holds (Leader Completeness) — so it
   * matches unless this log remembers a different block there.
   */
  holds(index: number, hash: Uint8Array): boolean {
    if (index > this.lastIndex) return false;
    const known = this.hashAt(index);
    if (index >= this.#head.height) return known !== undefined && equalBytes(known, hash);
    return known === undefined || equalBytes(known, hash);
  }

  /**
   * What a candidate states of its log (§5.4.1): its last entry, or, if the head's term is not
   * known, the head with the floor's term — terms never decrease along a log, so the head's own
   * term is at least that: never more up-to-date than the truth (a safe claim).
   */
  claim(): { lastIndex: number; lastTerm: number } {
    const term = this.lastTerm;
    return { lastIndex: this.lastIndex, lastTerm: term ?? this.#bounds.floor.term };
  }

  /**
   * §5.4.1: whether a log ending at (`lastTerm`, `lastIndex`) is at least as up-to-date as this
   * one — a later last term, or the same last term and at least as long. If the head's term is not
   * known, this log compares as (ceiling, head): no less up-to-date than anything it stored.
   */
  isUpToDate(lastTerm: number, lastIndex: number): boolean {
    const mine = this.lastTerm ?? this.#bounds.ceiling;
    return lastTerm > mine || (lastTerm === mine && lastIndex >= this.lastIndex);
  }

  /**
   * etcd's findConflictByTerm: the largest j ≤ `index` (and ≤ the last index) whose term is at most
   * `term`, stopping where terms are no longer known (at the head: committed, held by every
   * leader). The follower's hint after a failed check, and the leader's next probe from it.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let j = Math.min(index, this.lastIndex);
    for (;;) {
      const t = this.termAt(j);
      if (t === undefined || t <= term || j <= 0) return { index: j, term: t ?? 0 };
      j--;
    }
  }

  /** Blocks from..to (inclusive) as held, stopping at the first one not held. */
  slice(from: number, to: number): LogEntry[] {
    const out: LogEntry[] = [];
    for (let i = from; i <= to; i++) {
      const e = this.entry(i);
      if (e === undefined) break;
      out.push(e);
    }
    return out;
  }

  setHeadTerm(term: number): void {
    this.#head = { ...this.#head, term };
    this.#bounds = {
      floor: { index: this.#head.height, term },
      ceiling: Math.max(this.#bounds.ceiling, term),
    };
  }

  /** Appends the next entry; it must extend the last one. */
  append(entry: LogEntry): void {
    invariant(
      entry.index === this.lastIndex + 1 && equalBytes(entry.block.header.parentHash, this.lastHash),
      () => `raft log: entry ${entry.index} does not extend the last entry ${this.lastIndex}`,
    );
    invariant(
      this.lastTerm === undefined || entry.term >= this.lastTerm,
      () => `raft log: entry ${entry.index} of term ${entry.term} after term ${this.lastTerm}`,
    );
    this.#entries.push(entry);
  }

  /** Removes the uncommitted entries from `index` on (a log conflict, §5.3) and returns them. */
  truncateFrom(index: number): LogEntry[] {
    invariant(
      index > this.#head.height,
      () => `raft log: truncating at ${index}, at or below the committed head ${this.#head.height}`,
    );
    return this.#entries.splice(index - this.#head.height - 1);
  }

  /**
   * The chain committed up to `head`: entries at or below it leave the log (kept in the retained
   * window when they are the committed chain), and entries above it stay only if they extend it.
   * Returns what left the uncommitted log, and which of those were above the new head (a branch
   * the committed chain did not take).
   */
  advanceHead(head: HeadInfo, term: number | undefined): { removed: LogEntry[]; abandoned: LogEntry[] } {
    const at = head.height > this.#head.height ? this.entry(head.height) : undefined;
    const onChain = at !== undefined && equalBytes(at.hash, head.hash);
    const k = Math.max(0, Math.min(this.#entries.length, head.height - this.#head.height));
    const committed = this.#entries.slice(0, k);
    let rest = this.#entries.slice(k);
    let abandoned: LogEntry[] = [];
    if (rest[0] !== undefined && !equalBytes(rest[0].block.header.parentHash, head.hash)) {
      abandoned = rest;
      rest = [];
    }
    this.#retained = onChain ? [...this.#retained, ...committed].slice(-RETAIN_COMMITTED) : [];
    this.#entries = rest;
    const before = this.#head;
    const known = term ?? (onChain ? at.term : undefined);
    this.#head = { height: head.height, hash: head.hash, term: known, history: head.history };
    const removed = [...committed, ...abandoned];
    const held = Math.max(this.#bounds.ceiling, before.term ?? 0, ...removed.map((e) => e.term));
    this.#bounds =
      known !== undefined
        ? { floor: { index: head.height, term: known }, ceiling: Math.max(held, known) }
        : {
            floor:
              before.term === undefined ? this.#bounds.floor : { index: before.height, term: before.term },
            ceiling: held,
          };
    return { removed, abandoned };
  }
}
