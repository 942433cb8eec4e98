/**
 * Nakamoto consensus (Nakamoto 2008): every validator mines on the tip with the most cumulative
 * work; a block is committed once k blocks are mined on top of it on that chain. Above the last
 * committed block the chain is a tree (consensus/block-tree.ts) that may reorganize; at or below
 * it nothing ever changes, since the ledger never rewinds.
 *
 * A block travels as BLOCK (its miner broadcasts it; every node relays it once, after checking its
 * proof of work and its place in the tree). A block whose parent a node lacks waits in a bounded
 * orphan pool while the node asks the sender for the parent (GET); every node announces its best
 * tip (TIP) every `announceMs`, so a node that missed blocks asks for them. Blocks are executed
 * (the runtime checks state, body and time) in parent order, and only executed blocks count for
 * the fork choice.
 *
 * Safety rests on the hash power, and it is probabilistic: a heavier chain may fork below a block
 * this node committed. The node keeps the headers of its last committed blocks and of the forks
 * that hang off them, and checks the proof of work of any such fork; one heavier than the chain
 * that buried the committed block is a reverted commit — this node's k-deep bet lost — and it
 * halts loudly (a simulator violation) instead of serving a ledger the network has abandoned.
 *
 * Nothing here is a safety record — mining two blocks at one height is the protocol, not
 * equivocation, so no message has a double-sign slot — but every block this node places in its
 * tree is kept in the WAL until it is committed or cut off: the chain above the committed head
 * lives only in the miners' memories, and a network whose nodes all restarted since a block was
 * mined would otherwise have forgotten it (the simulator's crash faults showed the chain never
 * getting k deep). A restart re-executes them.
 */
import { toHex } from '../../crypto/bytes.ts';
import { invariant, onlyTyped } from '../../crypto/errors.ts';
import { type Block, decodeBlock, encodeBlock, headerHash } from '../../ledger/block.ts';
import { BlockTree, type TreeNode } from '../block-tree.ts';
import type {
  ConsensusEngine,
  EngineContext,
  EngineInput,
  EngineOutput,
  EngineStatus,
  HeadInfo,
} from '../types.ts';
import { POW_CERT_KIND, type PowCertificate } from './certificate.ts';
import type { PowMessage } from './messages.ts';
import type { PowParams } from './params.ts';
import {
  ancestorOf,
  chainWorkOf,
  childData,
  decodePowData,
  encodePowData,
  type PowAncestor,
  powHeaderFault,
  type RetargetRule,
  retargetRule,
} from './rules.ts';
import { decodeCompact } from './target.ts';

type Out = EngineOutput<PowMessage>;

interface PowNode {
  readonly anc: PowAncestor;
  /** Undefined for a root this node committed through a head it never held as a block. */
  readonly block: Block | undefined;
  status: 'pending' | 'executing' | 'valid' | 'invalid';
}

/** WAL key prefix of a block in the tree (the record is the encoded block). */
const BLOCK_KEY = 'block/';
/**
 * Committed blocks kept in the WAL below the head: the chain store's last write is not synced, so
 * a crash can lose the last commit — the block must still be here to commit again (and the same
 * one: with every honest node restarting, nobody else may have it).
 */
const KEEP_COMMITTED = 2;
/** Blocks waiting for their parent, at most. */
const MAX_ORPHANS = 512;
/** Headers of committed blocks (and of forks off them) kept to judge a fork below the head. */
const MAX_HISTORY = 1024;

export class PowEngine implements ConsensusEngine<PowMessage> {
  readonly #ctx: EngineContext;
  readonly #p: PowParams;
  readonly #rule: RetargetRule;
  #tree!: BlockTree<PowNode>;
  #best!: TreeNode<PowNode>;
  /**
   * Committed blocks and header-verified forks below the root, by id: where a fork below the
   * committed head attaches. Insertion-ordered, trimmed oldest first.
   */
  readonly #history = new Map<string, PowAncestor>();
  /** The cumulative work of the chain that buried the last committed block k deep. */
  #finalWork = 0n;
  readonly #orphans = new Map<string, { block: Block; hash: Uint8Array; parent: string; from: number }>();
  /** The parent being mined on (a build or a mining job is in flight for it). */
  #miningOn: string | undefined;
  /** The block sent to `commit`, until `committed` comes back. */
  #committing: string | undefined;
  /**
   * Blocks recovered from the WAL at start and not yet executed again: while any is, the best tip
   * moves through forks in whatever order they execute, which is not a reorganization.
   */
  readonly #recovering = new Set<string>();
  /** The blocks kept in the WAL: id → height. */
  readonly #persisted = new Map<string, number>();
  #reorgs = 0;
  #maxReorgDepth = 0;
  #halted = false;

  constructor(ctx: EngineContext, params: PowParams) {
    this.#ctx = ctx;
    this.#p = params;
    invariant(ctx.genesisTimeMs !== undefined, 'pow: the runtime gives the genesis time');
    this.#rule = retargetRule(params, ctx.genesisTimeMs);
  }

  status(): EngineStatus {
    return {
      height: this.#best?.height ?? 0,
      round: 0,
      step: this.#halted ? 'halted' : this.#miningOn === undefined ? 'following' : 'mining',
      viewChanges: this.#reorgs,
      maxReorgDepth: this.#maxReorgDepth,
    };
  }

  step(input: EngineInput<PowMessage>): Out[] {
    if (this.#halted) return [];
    const out: Out[] = [];
    switch (input.kind) {
      case 'start':
        this.#reset(input.head);
        this.#recover(input.head, input.recovered, out);
        out.push({ kind: 'set-timer', timer: 'announce', afterMs: this.#p.announceMs });
        this.#mine(out);
        break;
      case 'message':
        this.#onMessage(input.from, input.msg, input.signature, out);
        break;
      case 'timeout':
        if (input.timer === 'announce') {
          this.#retryPending(out);
          this.#announce(out);
          out.push({ kind: 'set-timer', timer: 'announce', afterMs: this.#p.announceMs });
        }
        break;
      case 'block-built': {
        if (toHex(input.block.header.parentHash) !== this.#miningOn) break; // superseded
        const target = decodeCompact(decodePowData(input.block.header.engineData).bits);
        out.push({ kind: 'mine', hash: input.hash, target });
        break;
      }
      case 'mined':
        this.#onMined(input.hash, input.block, out);
        break;
      case 'executed':
        this.#onExecuted(input.hash, input.valid, input.code, input.reason, out);
        break;
      case 'committed':
        this.#onCommitted(input.head, input.certificate as PowCertificate | undefined, out);
        break;
      case 'certified-fork': {
        // A peer committed a chain that forks below ours: its burying header says how heavy it is.
        const cert = input.certificate as PowCertificate;
        const top = cert.headers.at(-1);
        if (top !== undefined && !this.#halted) this.#onFork(headerHash(top), ancestorOf(top), out);
        break;
      }
      case 'txs-available':
      case 'read':
        break;
    }
    return out;
  }

  // -- the tree -------------------------------------------------------------------------------

  #reset(head: HeadInfo): void {
    const anc: PowAncestor = {
      height: head.height,
      timeMs: head.time.ms,
      chainWork: chainWorkOf(head.engineData, head.height),
    };
    this.#tree = new BlockTree<PowNode>({
      hash: head.hash,
      height: head.height,
      data: { anc, block: undefined, status: 'valid' },
    });
    this.#best = this.#tree.root;
    this.#remember(toHex(head.hash), anc);
    if (anc.chainWork > this.#finalWork) this.#finalWork = anc.chainWork;
  }

  /** Blocks of the tree kept before a restart: placed again (and so executed again) in height order. */
  #recover(head: HeadInfo, recovered: ReadonlyMap<string, Uint8Array>, out: Out[]): void {
    const blocks: Block[] = [];
    for (const [key, bytes] of recovered) {
      if (!key.startsWith(BLOCK_KEY)) continue;
      let block: Block | undefined;
      try {
        block = decodeBlock(bytes);
      } catch (e) {
        onlyTyped(e); // a damaged record: peers have the block
      }
      if (block === undefined || block.header.height <= head.height - KEEP_COMMITTED) {
        out.push({ kind: 'forget', key });
        continue;
      }
      this.#persisted.set(key.slice(BLOCK_KEY.length), block.header.height);
      if (block.header.height > head.height) blocks.push(block);
    }
    blocks.sort((a, b) => a.header.height - b.header.height);
    for (const b of blocks) this.#recovering.add(toHex(headerHash(b.header)));
    for (const block of blocks) this.#onBlock(this.#ctx.self ?? -1, block, undefined, out);
  }

  #persist(node: TreeNode<PowNode>, out: Out[]): void {
    if (node.data.block === undefined || this.#persisted.has(node.id)) return;
    this.#persisted.set(node.id, node.height);
    out.push({ kind: 'persist', key: `${BLOCK_KEY}${node.id}`, record: encodeBlock(node.data.block) });
  }

  /** Forgets the kept blocks settled for good: KEEP_COMMITTED below the root, or cut off below it. */
  #forgetSettled(out: Out[]): void {
    const root = this.#tree.root;
    for (const [id, height] of this.#persisted) {
      if (height > root.height - KEEP_COMMITTED && (height <= root.height || this.#tree.has(id))) continue;
      this.#persisted.delete(id);
      out.push({ kind: 'forget', key: `${BLOCK_KEY}${id}` });
    }
  }

  #remember(id: string, anc: PowAncestor): void {
    this.#history.delete(id);
    this.#history.set(id, anc);
    while (this.#history.size > MAX_HISTORY)
      this.#history.delete(this.#history.keys().next().value as string);
  }

  #known(id: string): boolean {
    return this.#tree.has(id) || this.#history.has(id) || this.#orphans.has(id);
  }

  #onMessage(from: number, msg: PowMessage, signature: Uint8Array, out: Out[]): void {
    switch (msg.type) {
      case 'block':
        this.#onBlock(from, msg.block, signature, out);
        break;
      case 'get': {
        if (from === this.#ctx.self) break;
        const block = this.#tree.get(msg.hash)?.data.block;
        if (block !== undefined) out.push({ kind: 'send', to: from, msg: { type: 'block', block } });
        break;
      }
      case 'tip': {
        if (from === this.#ctx.self || msg.chainWork <= this.#best.data.anc.chainWork) break;
        const id = toHex(msg.hash);
        if (this.#tree.has(id) || this.#history.has(id)) break;
        // Ask for the tip, or — when it is waiting for ancestors — for the missing one.
        out.push({
          kind: 'send',
          to: from,
          msg: { type: 'get', hash: this.#missingAncestor(id) ?? msg.hash },
        });
        break;
      }
    }
  }

  /** For an orphan: the hash of the first ancestor nobody has given us (walking orphan parents). */
  #missingAncestor(id: string): Uint8Array | undefined {
    let o = this.#orphans.get(id);
    if (o === undefined) return undefined;
    for (let guard = 0; guard <= MAX_ORPHANS; guard++) {
      const up = this.#orphans.get(o.parent);
      if (up === undefined) return o.block.header.parentHash;
      o = up;
    }
    return undefined;
  }

  #onBlock(from: number, block: Block, signature: Uint8Array | undefined, out: Out[]): void {
    const hash = headerHash(block.header);
    const id = toHex(hash);
    if (this.#known(id)) return;
    const h = block.header;
    // The proof of work first: it is the cheap check that makes junk expensive to send.
    const fault =
      h.chainId !== this.#ctx.chainId ? 'another chain' : powHeaderFault(h, hash, undefined, this.#rule);
    if (fault !== undefined) {
      this.#junk(from, h.height, fault, out);
      return;
    }
    const queue: Array<{ block: Block; hash: Uint8Array; from: number; signature?: Uint8Array | undefined }> =
      [{ block, hash, from, signature }];
    // Adding a block may complete a chain of orphans: place them in order.
    while (queue.length > 0) {
      const b = queue.shift() as (typeof queue)[number];
      const bid = toHex(b.hash);
      const placed = this.#place(b.block, b.hash, b.from, out);
      if (placed === 'orphan') continue;
      if (placed === 'placed' && b.signature !== undefined && b.from !== this.#ctx.self)
        out.push({
          kind: 'relay',
          from: b.from,
          msg: { type: 'block', block: b.block },
          signature: b.signature,
        });
      if (placed === 'invalid') continue;
      for (const [oid, o] of this.#orphans)
        if (o.parent === bid) {
          this.#orphans.delete(oid);
          queue.push({ block: o.block, hash: o.hash, from: o.from });
        }
    }
    this.#chooseBest(out);
  }

  /**
   * Puts a block whose own proof of work is valid where it belongs: into the tree (to execute),
   * into the history of forks below the committed head (to weigh), or into the orphan pool.
   */
  #place(block: Block, hash: Uint8Array, from: number, out: Out[]): 'placed' | 'orphan' | 'invalid' {
    const h = block.header;
    const parentId = toHex(h.parentHash);
    const parent = this.#tree.get(parentId);
    if (parent !== undefined) {
      const fault = powHeaderFault(h, hash, parent.data.anc, this.#rule);
      if (fault !== undefined) {
        this.#junk(from, h.height, fault, out);
        return 'invalid';
      }
      const node = this.#tree.add(hash, h.parentHash, { anc: ancestorOf(h), block, status: 'pending' });
      invariant(node !== undefined, 'a block new to this node is added under its parent');
      this.#persist(node, out);
      if (parent.data.status === 'valid') this.#execute(node, out);
      return 'placed';
    }
    const below = this.#history.get(parentId);
    if (below !== undefined) {
      const fault = powHeaderFault(h, hash, below, this.#rule);
      if (fault !== undefined) {
        this.#junk(from, h.height, fault, out);
        return 'invalid';
      }
      this.#onFork(hash, ancestorOf(h), out);
      return 'placed';
    }
    if (h.height <= this.#tree.root.height) return 'invalid'; // hangs below what this node keeps
    this.#orphans.set(toHex(hash), { block, hash, parent: parentId, from });
    while (this.#orphans.size > MAX_ORPHANS)
      this.#orphans.delete(this.#orphans.keys().next().value as string);
    if (!this.#orphans.has(parentId))
      out.push({ kind: 'send', to: from, msg: { type: 'get', hash: h.parentHash } });
    return 'orphan';
  }

  /** A header-valid block on a branch that forks below the committed head. */
  #onFork(hash: Uint8Array, anc: PowAncestor, out: Out[]): void {
    this.#remember(toHex(hash), anc);
    let mine = this.#finalWork;
    if (this.#best.data.anc.chainWork > mine) mine = this.#best.data.anc.chainWork;
    if (anc.chainWork <= mine) return;
    this.#halted = true;
    out.push({ kind: 'cancel-mine' });
    out.push({
      kind: 'halt',
      code: 'FINALITY_REVERTED',
      message: `a chain with more work (${anc.chainWork}) than the one that buried this node's committed block ${this.#tree.root.height} (${mine}) forks below it, at height ${anc.height}: the k-deep commit was overturned by the network's hash power, and a ledger does not rewind`,
    });
  }

  #junk(from: number, height: number, detail: string, out: Out[]): void {
    out.push({
      kind: 'evidence',
      evidence: { type: 'invalid-message', validator: from, height, round: 0, detail },
    });
  }

  /** Pending blocks whose parent is valid: executed again (a transient failure, or never asked). */
  #retryPending(out: Out[]): void {
    for (const n of this.#tree.leaves()) {
      for (let p: TreeNode<PowNode> | undefined = n; p !== undefined; p = this.#tree.parentOf(p)) {
        const parent = this.#tree.parentOf(p);
        if (p.data.status === 'pending' && parent?.data.status === 'valid') this.#execute(p, out);
      }
    }
  }

  #execute(node: TreeNode<PowNode>, out: Out[]): void {
    const block = node.data.block;
    if (block === undefined || node.data.status !== 'pending') return;
    node.data.status = 'executing';
    out.push({ kind: 'execute', block, hash: node.hash });
  }

  #onExecuted(
    hash: Uint8Array,
    valid: boolean,
    code: string | undefined,
    reason: string | undefined,
    out: Out[],
  ): void {
    const node = this.#tree.get(hash);
    this.#recovering.delete(toHex(hash));
    if (node === undefined || node.data.status !== 'executing') return;
    if (valid) {
      node.data.status = 'valid';
      for (const child of this.#tree.children(node)) this.#execute(child, out);
      this.#chooseBest(out);
      return;
    }
    if (code === 'UNKNOWN_PARENT' || code === 'FUTURE') {
      // The runtime dropped its parent, or the block is further ahead of this clock than the
      // runtime holds blocks for: try again at the next announcement tick.
      node.data.status = 'pending';
      return;
    }
    node.data.status = 'invalid';
    if (code === 'INVALID')
      out.push({
        kind: 'log',
        level: 'info',
        message: 'pow: a mined block failed execution',
        fields: { height: node.height, reason },
      });
  }

  // -- fork choice, mining, commits -------------------------------------------------------------

  #chooseBest(out: Out[]): void {
    const prev = this.#best;
    const best = this.#tree.best(
      (a, b) => a.data.anc.chainWork > b.data.anc.chainWork,
      (n) => n.data.status === 'valid',
    );
    if (best.id === prev.id) return;
    if (this.#tree.has(prev.id) && this.#recovering.size === 0) {
      const depth = this.#tree.reorgDepth(prev, best);
      if (depth > 0) {
        this.#reorgs++;
        this.#maxReorgDepth = Math.max(this.#maxReorgDepth, depth);
        out.push({
          kind: 'log',
          level: 'info',
          message: 'pow: reorganized to a chain with more work',
          fields: { depth, height: best.height },
        });
      }
    }
    this.#best = best;
    this.#mine(out);
    this.#maybeCommit(out);
    if (this.#ctx.self !== undefined) this.#announce(out);
  }

  #mine(out: Out[]): void {
    if (this.#ctx.self === undefined || this.#halted || this.#miningOn === this.#best.id) return;
    if (this.#miningOn !== undefined) out.push({ kind: 'cancel-mine' });
    this.#miningOn = this.#best.id;
    out.push({
      kind: 'build-block',
      height: this.#best.height + 1,
      round: 0,
      parent: this.#best.hash,
      engineData: encodePowData(childData(this.#best.data.anc, this.#rule)),
    });
  }

  #onMined(hash: Uint8Array, block: Block, out: Out[]): void {
    const parent = this.#tree.get(block.header.parentHash);
    if (toHex(block.header.parentHash) === this.#miningOn) this.#miningOn = undefined;
    out.push({ kind: 'broadcast', msg: { type: 'block', block } });
    // (The broadcast loops back as a message; placing it now lets the next job start at once.)
    if (parent !== undefined && !this.#tree.has(hash)) {
      const node = this.#tree.add(hash, block.header.parentHash, {
        anc: ancestorOf(block.header),
        block,
        status: 'valid',
      });
      if (node !== undefined) this.#persist(node, out);
      this.#chooseBest(out);
    }
    this.#mine(out);
  }

  #announce(out: Out[]): void {
    if (this.#ctx.self === undefined) return;
    const b = this.#best;
    out.push({
      kind: 'broadcast',
      msg: { type: 'tip', hash: b.hash, height: b.height, chainWork: b.data.anc.chainWork },
    });
  }

  #maybeCommit(out: Out[]): void {
    if (this.#committing !== undefined) return;
    const root = this.#tree.root;
    if (this.#best.height < root.height + 1 + this.#p.confirmations) return;
    const path = this.#tree.pathBetween(root, this.#best).slice(0, this.#p.confirmations + 1);
    const headers = path.map((n) => (n.data.block as Block).header);
    const c = path[0] as TreeNode<PowNode>;
    this.#committing = c.id;
    const certificate: PowCertificate = { kind: POW_CERT_KIND, height: c.height, blockHash: c.hash, headers };
    out.push({ kind: 'commit', hash: c.hash, certificate });
  }

  #onCommitted(head: HeadInfo, certificate: PowCertificate | undefined, out: Out[]): void {
    this.#committing = undefined;
    const id = toHex(head.hash);
    const burying = certificate?.headers.at(-1);
    if (certificate?.kind === POW_CERT_KIND && burying !== undefined) {
      const work = decodePowData(burying.engineData).chainWork;
      if (work > this.#finalWork) this.#finalWork = work;
    }
    const node = this.#tree.get(id);
    if (node === undefined) {
      // Block sync moved the head past what this node held: start the tree again from it.
      this.#reset(head);
      for (const [oid, o] of this.#orphans)
        if (o.block.header.height <= head.height) this.#orphans.delete(oid);
    } else {
      for (let n: TreeNode<PowNode> | undefined = node; n !== undefined; n = this.#tree.parentOf(n))
        this.#remember(n.id, n.data.anc);
      const dropped = this.#tree.reroot(head.hash).filter((d) => !this.#history.has(d.id));
      if (!this.#tree.has(this.#best.id)) this.#best = this.#tree.root;
      this.#chooseBest(out);
      // What the new root cuts off forks below it now: weighed like any fork that arrives later
      // (one heavier than the burying chain — the engine switched to it while the commit was on
      // its way — means the commit is reverted already).
      for (const d of dropped)
        if (d.data.status !== 'invalid' && !this.#halted) this.#onFork(d.hash, d.data.anc, out);
      if (this.#halted) return;
      this.#remember(id, node.data.anc);
    }
    this.#forgetSettled(out);
    for (const id of this.#recovering) if (!this.#tree.has(id)) this.#recovering.delete(id);
    if (!this.#tree.has(this.#best.id)) this.#best = this.#tree.root;
    if (this.#miningOn !== undefined && !this.#tree.has(this.#miningOn)) this.#miningOn = undefined;
    this.#chooseBest(out);
    this.#mine(out);
    this.#maybeCommit(out);
  }
}
