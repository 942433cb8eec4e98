/**
 * Safety checkers. They observe every commit and every signature of every node and record a
 * violation the moment one appears:
 *  - agreement: no two honest nodes commit different blocks at one height;
 *  - identical state root, log size and log root at each height on every honest node (header
 *    fields, so this follows from agreement — kept as a cross-check);
 *  - the committed store matches the header (`storeDivergence`, run by the simulator after every
 *    honest commit): the node's log really holds `logSize` entries with root `logRoot`, and its
 *    state trie really opens at `stateRoot` — what a light client would be served;
 *  - log consistency (`logExtends`): each node's tree head at a new height extends (RFC 9162
 *    consistency proof) the one before, and a tree head of the same size has the same root;
 *  - validity: every committed transaction was submitted by the workload, and no transaction id
 *    takes effect (an ok receipt) twice in one node's chain — a replay that went through;
 *  - no honest double-sign: an honest validator never signs two different messages for one slot;
 *  - storage faults are noticed: a validator restarted on a damaged WAL refuses to sign what it
 *    may have signed before (its sign fence is up);
 *  - reads are not stale: a read confirmed as linearizable (or under a lease) is served at an index
 *    no lower than the highest height any honest node had committed when the read began.
 * `committedTxs` counts distinct committed transaction ids (a replayed copy that failed with
 * BAD_NONCE is in a block, but is not a second transaction) of the workload's budget; the
 * transactions that only drive an on-demand engine's liveness phase are counted in `demandTxs`.
 */

import type { SignSlot } from '../../consensus/types.ts';
import { equalBytes, toHex } from '../../crypto/bytes.ts';
import { verifyConsistency } from '../../ledger/log/index.ts';

export interface Violation {
  readonly kind:
    | 'agreement'
    | 'state-divergence'
    | 'log-inconsistent'
    | 'validity'
    | 'double-sign'
    /** An honest node's consensus halted on an exception: a bug the run must not hide. */
    | 'halt'
    /** A node started on a damaged WAL without noticing (storage-faults.ts). */
    | 'storage-unnoticed'
    /** A confirmed read served below what was already committed when it began. */
    | 'stale-read'
    /** Two honest nodes ran one epoch with different validator sets (ledger/staking). */
    | 'epoch-set';
  readonly time: number;
  readonly detail: string;
}

interface HeightRecord {
  readonly hash: string;
  readonly stateRoot: string;
  readonly logSize: number;
  readonly logRoot: string;
  readonly node: number;
}

export interface CommitObservation {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly stateRoot: Uint8Array;
  readonly logSize: number;
  readonly logRoot: Uint8Array;
  readonly txIds: readonly Uint8Array[];
  /** Whether each transaction took effect (its receipt is ok), aligned with `txIds`. */
  readonly txOk: readonly boolean[];
}

export class SafetyChecker {
  readonly violations: Violation[] = [];
  readonly #heights = new Map<number, HeightRecord>();
  readonly #signed = new Map<string, string>();
  readonly #epochSets = new Map<number, { node: number; setHash: string }>();
  readonly #submitted = new Set<string>();
  readonly #committed = new Set<string>();
  /** Transactions submitted after healing to give an engine that makes no empty blocks work. */
  readonly #demand = new Set<string>();
  /** Per node: transaction id → height where it took effect (ok receipt) in that node's chain. */
  readonly #tookEffect = new Map<number, Map<string, number>>();
  maxHeight = 0;

  submitted(id: Uint8Array, demand = false): void {
    this.#submitted.add(toHex(id));
    if (demand) this.#demand.add(toHex(id));
  }

  /** Distinct transaction ids of the workload's budget in committed blocks. */
  get committedTxs(): number {
    let n = 0;
    for (const id of this.#committed) if (!this.#demand.has(id)) n++;
    return n;
  }

  /** Distinct committed transaction ids submitted only to drive the liveness phase. */
  get demandTxs(): number {
    return this.#committed.size - this.committedTxs;
  }

  #violate(kind: Violation['kind'], time: number, detail: string): void {
    if (this.violations.length < 100) this.violations.push({ kind, time, detail });
  }

  /** An honest node's runtime halted (an exception escaped an event). */
  halted(time: number, node: number, code: string, message: string): void {
    this.#violate('halt', time, `node ${node} halted (${code}): ${message}`);
  }

  storageFaultUnnoticed(time: number, node: number, damage: { kind: string; key: string }): void {
    this.#violate(
      'storage-unnoticed',
      time,
      `node ${node} started on a WAL with a damaged record (${damage.kind} of ${JSON.stringify(damage.key)}) without noticing it`,
    );
  }

  staleRead(time: number, node: number, mode: string, committed: number, index: number): void {
    this.#violate(
      'stale-read',
      time,
      `node ${node}: a ${mode} read was served at index ${index}, but height ${committed} was committed before it began`,
    );
  }

  onCommit(time: number, node: number, c: CommitObservation): void {
    this.#checkReplays(time, node, c);
    const rec: HeightRecord = {
      hash: toHex(c.hash),
      stateRoot: toHex(c.stateRoot),
      logSize: c.logSize,
      logRoot: toHex(c.logRoot),
      node,
    };
    const prior = this.#heights.get(c.height);
    if (prior === undefined) {
      this.#heights.set(c.height, rec);
      this.maxHeight = Math.max(this.maxHeight, c.height);
      for (const id of c.txIds) {
        const hex = toHex(id);
        this.#committed.add(hex);
        if (!this.#submitted.has(hex))
          this.#violate('validity', time, `height ${c.height}: transaction ${hex} was never submitted`);
      }
    } else {
      if (prior.hash !== rec.hash) {
        this.#violate(
          'agreement',
          time,
          `height ${c.height}: node ${node} committed ${rec.hash.slice(0, 16)}, node ${prior.node} committed ${prior.hash.slice(0, 16)}`,
        );
      } else if (
        prior.stateRoot !== rec.stateRoot ||
        prior.logRoot !== rec.logRoot ||
        prior.logSize !== rec.logSize
      ) {
        this.#violate(
          'state-divergence',
          time,
          `height ${c.height}: node ${node} state/log roots differ from node ${prior.node}`,
        );
      }
    }
  }

  /**
   * A transaction id with an ok receipt twice in one node's chain. The same height seen again is
   * not a replay: a node that lost its last unsynced block commits that height once more.
   */
  #checkReplays(time: number, node: number, c: CommitObservation): void {
    let seen = this.#tookEffect.get(node);
    if (seen === undefined) {
      seen = new Map();
      this.#tookEffect.set(node, seen);
    }
    const inBlock = new Set<string>();
    for (const [i, id] of c.txIds.entries()) {
      if (c.txOk[i] !== true) continue;
      const hex = toHex(id);
      const earlier = seen.get(hex);
      if (inBlock.has(hex) || (earlier !== undefined && earlier < c.height)) {
        this.#violate(
          'validity',
          time,
          `node ${node}: transaction ${hex} took effect twice (heights ${earlier ?? c.height} and ${c.height})`,
        );
      }
      inBlock.add(hex);
      if (earlier === undefined || earlier >= c.height) seen.set(hex, c.height);
    }
  }

  logInconsistent(time: number, node: number, size1: number, size2: number): void {
    this.#violate(
      'log-inconsistent',
      time,
      size1 === size2
        ? `node ${node}: log root of size ${size2} changed without the log growing`
        : `node ${node}: log of size ${size2} does not extend its tree head of size ${size1}`,
    );
  }

  /** Node `node` runs epoch `epoch` with the set hashing to `setHash`: every node must agree. */
  epochSet(time: number, node: number, epoch: number, setHash: string): void {
    const prior = this.#epochSets.get(epoch);
    if (prior === undefined) this.#epochSets.set(epoch, { node, setHash });
    else if (prior.setHash !== setHash)
      this.#violate(
        'epoch-set',
        time,
        `epoch ${epoch}: node ${node} runs set ${setHash.slice(0, 16)}, node ${prior.node} ran ${prior.setHash.slice(0, 16)}`,
      );
  }

  /** The node's committed store disagrees with the header it just committed. */
  storeDiverged(time: number, node: number, height: number, detail: string): void {
    this.#violate('state-divergence', time, `node ${node} at height ${height}: ${detail}`);
  }

  /** An honest validator's signature. Twins (Byzantine) are not reported here. */
  onSigned(
    time: number,
    validator: number,
    slot: SignSlot | undefined,
    hash: Uint8Array,
    description: string,
    epoch = 0,
  ): void {
    if (slot === undefined) return;
    // Epochs sign in domains of their own (ledger/signing-domain.ts): a slot is one per epoch.
    const key = `${validator}/${slot.height}/${slot.round}/${slot.step}${epoch === 0 ? '' : ` in epoch ${epoch}`}`;
    const h = toHex(hash);
    const prior = this.#signed.get(key);
    if (prior === undefined) this.#signed.set(key, h);
    else if (prior !== h)
      this.#violate(
        'double-sign',
        time,
        `validator ${validator} signed two messages for ${key}: ${description}`,
      );
  }

  get safe(): boolean {
    return this.violations.length === 0;
  }
}

/** What `logExtends` reads of a node's log. */
export interface ConsistencySource {
  consistencyProof(size1: number, size2: number): Promise<Uint8Array[]>;
}

/**
 * Whether tree head (size2, root2) extends (size1, root1) in `log`: an RFC 9162 consistency proof
 * from the log verifies, the empty tree is extended by anything, and a head of the same size must
 * have the same root (a root change without growth is a rewritten history). Errors count as no.
 */
export async function logExtends(
  log: ConsistencySource,
  size1: number,
  root1: Uint8Array,
  size2: number,
  root2: Uint8Array,
): Promise<boolean> {
  if (size1 === 0) return true;
  if (size1 === size2) return equalBytes(root1, root2);
  if (size2 < size1) return false;
  try {
    return verifyConsistency(size1, size2, root1, root2, await log.consistencyProof(size1, size2));
  } catch {
    return false;
  }
}

/** What `storeDivergence` reads of a node's chain store (a `ChainStore` satisfies it). */
export interface CommittedStore {
  readonly height: number;
  readonly log: { readonly size: number; root(size?: number): Promise<Uint8Array> };
  stateAt(height?: number): Promise<{ root(): Uint8Array }>;
}

/**
 * Reads a node's committed store right after it committed `header` and says how it differs from
 * the header, or undefined if it does not: the log's size (read synchronously, before any await,
 * while the head is still this block), the log's root at that size and the state trie opened at
 * the block's height (its root node must be in the store and hash to `stateRoot`).
 */
export function storeDivergence(
  store: CommittedStore,
  header: { height: number; stateRoot: Uint8Array; logSize: number; logRoot: Uint8Array },
): Promise<string | undefined> {
  const sizeNow = store.height === header.height ? store.log.size : undefined;
  return (async () => {
    const problems: string[] = [];
    if (sizeNow !== undefined && sizeNow !== header.logSize)
      problems.push(`log holds ${sizeNow} entries, header says ${header.logSize}`);
    try {
      const root = await store.log.root(header.logSize);
      if (!equalBytes(root, header.logRoot))
        problems.push(
          `log root at size ${header.logSize} is ${toHex(root).slice(0, 16)}, header says ${toHex(header.logRoot).slice(0, 16)}`,
        );
    } catch (e) {
      problems.push(`log root at size ${header.logSize} unreadable: ${(e as Error).message}`);
    }
    try {
      const root = (await store.stateAt(header.height)).root();
      if (!equalBytes(root, header.stateRoot))
        problems.push(
          `state root is ${toHex(root).slice(0, 16)}, header says ${toHex(header.stateRoot).slice(0, 16)}`,
        );
    } catch (e) {
      problems.push(`state at the header's root unreadable: ${(e as Error).message}`);
    }
    return problems.length === 0 ? undefined : problems.join('; ');
  })();
}
