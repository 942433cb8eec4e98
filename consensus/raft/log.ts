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
import type { RaftConfig } from './config.ts';
import { decodeEngineData, termOfHead } from './entry.ts';
import { appendEntry } from './messages.ts';

/** Committed entries kept in memory for followers slightly behind. */
export const RETAIN_COMMITTED = 64;

export interface LogEntry {
  readonly index: number;
  readonly term: number;
  readonly hash: Uint8Array;
  readonly id: BlockId;
  readonly block: Block;
  /** The configuration in force for it (config.ts); undefined: the default one. */
  readonly config: RaftConfig | undefined;
}

export interface LogHead {
  readonly height: number;
  readonly hash: Uint8Array;
  /** The head entry's term (its header's engine data; genesis is 0). */
  readonly term: number;
  /** Frontier of the block-hash history 0 … height (for ancestry proofs). */
  readonly history: Frontier;
  /** The head entry's configuration; undefined: the default one. */
  readonly config: RaftConfig | undefined;
}

export function logEntry(block: Block): LogEntry {
  const e = appendEntry(block);
  return {
    index: block.header.height,
    term: e.term,
    hash: e.hash,
    id: blockId(e.hash),
    block,
    config: decodeEngineData(block.header.engineData).config,
  };
}

export class RaftLog {
  #head: LogHead;
  /** Uncommitted entries: index head.height + 1 + k. */
  #entries: LogEntry[] = [];
  /** Committed entries ending at the head, ascending (possibly empty). */
  #retained: LogEntry[] = [];

  constructor(head: HeadInfo) {
    this.#head = logHead(head);
  }

  get head(): LogHead {
    return this.#head;
  }

  get lastIndex(): number {
    return this.#head.height + this.#entries.length;
  }

  get lastHash(): Uint8Array {
    return this.#entries.at(-1)?.hash ?? this.#head.hash;
  }

  get lastTerm(): number {
    return this.#entries.at(-1)?.term ?? this.#head.term;
  }

  /** §6: the configuration a server uses — its last entry's, committed or not (undefined: default). */
  get lastConfig(): RaftConfig | undefined {
    const last = this.#entries.at(-1);
    return last === undefined ? this.#head.config : last.config;
  }

  /** The configuration in force for entry `index` (uncommitted, the head, or retained). */
  configAt(index: number): RaftConfig | undefined {
    return index === this.#head.height ? this.#head.config : this.entry(index)?.config;
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

  /** What a candidate states of its log (§5.4.1): its last entry. */
  claim(): { lastIndex: number; lastTerm: number } {
    return { lastIndex: this.lastIndex, lastTerm: this.lastTerm };
  }

  /**
   * §5.4.1: whether a log ending at (`lastTerm`, `lastIndex`) is at least as up-to-date as this
   * one — a later last term, or the same last term and at least as long.
   */
  isUpToDate(lastTerm: number, lastIndex: number): boolean {
    return lastTerm > this.lastTerm || (lastTerm === this.lastTerm && lastIndex >= this.lastIndex);
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

  /** Appends the next entry; it must extend the last one. */
  append(entry: LogEntry): void {
    invariant(
      entry.index === this.lastIndex + 1 && equalBytes(entry.block.header.parentHash, this.lastHash),
      () => `raft log: entry ${entry.index} does not extend the last entry ${this.lastIndex}`,
    );
    invariant(
      entry.term >= this.lastTerm,
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
  advanceHead(head: HeadInfo): { removed: LogEntry[]; abandoned: LogEntry[] } {
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
    this.#head = logHead(head);
    const removed = [...committed, ...abandoned];
    return { removed, abandoned };
  }
}

function logHead(head: HeadInfo): LogHead {
  const config = head.height === 0 ? undefined : decodeEngineData(head.engineData).config;
  return { height: head.height, hash: head.hash, term: termOfHead(head), history: head.history, config };
}
