/**
 * Proof of Stake after Gasper (Buterin et al., "Combining GHOST and Casper", 2020), reduced:
 *
 *  - Time is slots counted from genesis (the injected wall clock), grouped in epochs. The proposer
 *    of a slot is drawn by stake from the chain's RANDAO seed (rules.ts); it builds on the head
 *    its fork choice gives and broadcasts the block at the start of the slot.
 *  - Every validator attests once per epoch, a third into its slot of the epoch: a head vote for
 *    the fork choice and an FFG vote from its latest justified checkpoint to the epoch's.
 *  - Fork choice: LMD-GHOST from the latest justified checkpoint — at every fork, the child whose
 *    subtree holds the most stake by each validator's latest head vote (ties: the lower hash).
 *  - Casper FFG (ffg.ts) over the node's view: a checkpoint justified by more than 2/3 of the stake
 *    linking to it from a justified one; finalized when the next epoch's is justified from it.
 *    Blocks carry the aggregates of the links behind their proposer's latest justification, so
 *    nodes that missed the votes catch up from blocks.
 *  - Finalized blocks are committed, in order, each with the finality proof of the checkpoint
 *    that finalized it (certificate.ts). Below the committed head nothing ever changes.
 *
 * What is simplified, and why: votes count from the node's view, not from the attestations a
 * chain includes (Gasper's views; Ethereum's state transition counts on-chain) — blocks carry only
 * the justification links, which is what a lagging node needs; a validator's attestation slot is
 * its index mod slots-per-epoch, not a shuffled committee (sets here are small); no proposer boost
 * and no "filter branches whose justification is stale" step (safety is FFG's either way; these
 * tune liveness under adversarial timing).
 *
 * Slashing protection is the runtime's guard (src/runtime/signing-guard.ts): one block per slot,
 * one attestation per target, none surrounding another — persisted before anything is sent.
 */
import { toHex } from '../../crypto/bytes.ts';
import { invariant, onlyTyped } from '../../crypto/errors.ts';
import { type Block, decodeBlock, encodeBlock, headerHash } from '../../ledger/block.ts';
import { asBytes, asList, rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';
import { signingDomain } from '../../ledger/signing-domain.ts';
import { BlockTree, type TreeNode } from '../block-tree.ts';
import { verifySignature } from '../hotstuff/qc.ts';
import type {
  ConsensusEngine,
  EngineContext,
  EngineInput,
  EngineOutput,
  EngineStatus,
  HeadInfo,
} from '../types.ts';
import { POS_CERT_KIND, type PosCertificate } from './certificate.ts';
import { aggregateSigners, FfgView, verifyFfg } from './ffg.ts';
import { type Attestation, blockMessage, type PosMessage } from './messages.ts';
import type { PosParams } from './params.ts';
import {
  type Checkpoint,
  checkpointId,
  childRandomness,
  decodeAggregateItem,
  decodePosData,
  encodeAggregateItem,
  encodePosData,
  epochOf,
  type FfgAggregate,
  ffgMessage,
  genesisMix,
  MAX_LINKS,
  type PosData,
  proposerOf,
  randaoMessage,
} from './rules.ts';

type Out = EngineOutput<PosMessage>;

interface PosNode {
  readonly slot: number;
  readonly mix: Uint8Array;
  readonly seed: Uint8Array;
  /** Undefined for a root this node committed through a head it never held as a block. */
  readonly block: Block | undefined;
  /** The proposer's envelope signature, to forward the block as it signed it. */
  readonly signature: Uint8Array | undefined;
  readonly proposer: number;
  status: 'pending' | 'executing' | 'valid' | 'invalid';
}

const BLOCK_KEY = 'block/';
/** The FFG view's finalized and latest justified checkpoints, with the links behind them. */
const FFG_KEY = 'ffg';
/** As Proof of Work: committed blocks kept below the head (the chain store's last write may be lost). */
const KEEP_COMMITTED = 2;
const MAX_ORPHANS = 512;
const MAX_PENDING_ATTESTATIONS = 4096;
const MAX_COMMITTED_KEPT = 1024;
/** Links a block carries at most (rules.ts): the finality proof and the justifications above it. */
const MAX_CARRIED = MAX_LINKS;
/** Peers a node forwards a new block or vote to (gossipsub's D). */
const GOSSIP_DEGREE = 6;
/** Attestations from slots this far ahead of this clock still count (clocks drift apart). */
const MAX_SLOTS_AHEAD = 3;
/** Blocks this node knows it lacks (named by votes and links), asked for every slot, at most. */
const MAX_WANTED = 256;

export class PosEngine implements ConsensusEngine<PosMessage> {
  readonly #ctx: EngineContext;
  readonly #p: PosParams;
  readonly #domain: string;
  readonly #now: () => number;
  readonly #genesisMs: number;
  #tree!: BlockTree<PosNode>;
  #ffg!: FfgView;
  /** The head the fork choice gave last. */
  #head!: TreeNode<PosNode>;
  /** Committed blocks (recent): id → slot and height — where checkpoints below the root are judged. */
  readonly #committed = new Map<string, { slot: number; height: number }>();
  /** Latest head vote per validator (LMD): the slot it was cast in and the block. */
  readonly #latest = new Map<number, { slot: number; head: string }>();
  /** Attestations whose head block this node lacks, by that block's id. */
  readonly #waiting = new Map<string, Array<{ from: number; att: Attestation }>>();
  #waitingCount = 0;
  readonly #orphans = new Map<
    string,
    { block: Block; signature: Uint8Array; from: number; parent: string }
  >();
  /** Blocks from a slot this node's clock has not reached. */
  readonly #early = new Map<string, { block: Block; signature: Uint8Array; from: number }>();
  /** Blocks named by a vote or a carried link that this node lacks, with whom to ask. */
  readonly #wanted = new Map<string, { hash: Uint8Array; from: number }>();
  #slot = 0;
  /** The last slot whose start this engine handled (proposal, attestation timer). */
  #handledSlot = -1;
  #builtSlot = -1;
  #attestedTarget = -1;
  #committing: string | undefined;
  readonly #persisted = new Map<string, number>();
  #reorgs = 0;
  #maxReorgDepth = 0;
  #halted = false;

  constructor(ctx: EngineContext, params: PosParams) {
    this.#ctx = ctx;
    this.#p = params;
    this.#domain = signingDomain(ctx.chainId, ctx.epoch ?? 0);
    invariant(
      ctx.nowMs !== undefined && ctx.genesisTimeMs !== undefined,
      'pos: the runtime gives the clock and genesis time',
    );
    this.#now = ctx.nowMs;
    this.#genesisMs = ctx.genesisTimeMs;
  }

  status(): EngineStatus {
    return {
      height: this.#head?.height ?? 0,
      round: this.#slot,
      step: this.#halted
        ? 'halted'
        : `epoch ${epochOf(this.#slot, this.#p.slotsPerEpoch)}, justified ${this.#ffg?.latestJustified.slot ?? 0}, finalized ${this.#ffg?.finalized.slot ?? 0}`,
      ...(this.#tree === undefined ? {} : { leader: this.#proposerAt(this.#head, this.#slot) }),
      viewChanges: this.#reorgs,
      maxReorgDepth: this.#maxReorgDepth,
    };
  }

  /** The head the fork choice gives (tests, status). */
  head(): { height: number; hash: Uint8Array } {
    return { height: this.#head.height, hash: this.#head.hash };
  }

  /** The latest justified and finalized checkpoints (tests, status). */
  checkpoints(): { justified: Checkpoint; finalized: Checkpoint } {
    return { justified: this.#ffg.latestJustified, finalized: this.#ffg.finalized };
  }

  step(input: EngineInput<PosMessage>): Out[] {
    if (this.#halted) return [];
    const out: Out[] = [];
    switch (input.kind) {
      case 'start':
        this.#start(input.head, input.recovered, out);
        break;
      case 'message':
        this.#onMessage(input.from, input.msg, input.signature, out);
        break;
      case 'timeout':
        if (input.timer === 'slot') this.#onSlot(out);
        else if (input.timer === 'attest' && input.token?.round === this.#slot) this.#attest(out);
        break;
      case 'block-built':
        if (input.round === this.#builtSlot && toHex(input.block.header.parentHash) === this.#head.id)
          out.push({ kind: 'broadcast', msg: blockMessage(input.block) });
        break;
      case 'executed':
        this.#onExecuted(input.hash, input.valid, input.code, input.reason, out);
        break;
      case 'committed':
        this.#onCommitted(input.head, input.certificate as PosCertificate | undefined, out);
        break;
      case 'mined':
      case 'txs-available':
      case 'read':
        break;
    }
    return out;
  }

  // -- time -----------------------------------------------------------------------------------

  #slotNow(): number {
    return Math.max(0, Math.floor((this.#now() - this.#genesisMs) / this.#p.slotMs));
  }

  #armSlot(out: Out[]): void {
    const next = (this.#slot + 1) * this.#p.slotMs + this.#genesisMs;
    out.push({ kind: 'set-timer', timer: 'slot', afterMs: Math.max(1, next - this.#now()) });
  }

  #onSlot(out: Out[]): void {
    const slot = this.#slotNow();
    if (slot > this.#slot) this.#slot = slot;
    // A timer armed on one clock reading can fire while the validators' median clock (which
    // moves as peers' readings arrive) is still in the slot handled last: only re-arm then.
    if (this.#slot <= this.#handledSlot) {
      this.#armSlot(out);
      return;
    }
    this.#handledSlot = this.#slot;
    for (const [id, e] of [...this.#early])
      if (decodePosData(e.block.header.engineData).slot <= this.#slot) {
        this.#early.delete(id);
        this.#onBlock(e.from, e.block, e.signature, out);
      }
    this.#retryPending(out);
    this.#askForMissing(out);
    // Every epoch, a validator announces what its blocks would carry: when no block can be built
    // (the chain waits for finality at a validator-set boundary) or a partition kept a node from
    // the votes, views converge from these.
    if (this.#ctx.self !== undefined && this.#slot % this.#p.slotsPerEpoch === 0) {
      const links = this.#carriedLinks();
      if (links.length > 0) out.push({ kind: 'broadcast', msg: { type: 'links', links } });
    }
    this.#chooseHead(out);
    this.#propose(out);
    if (
      this.#ctx.self !== undefined &&
      attestSlotOffset(this.#ctx.self, this.#p) === this.#slot % this.#p.slotsPerEpoch
    )
      out.push({
        kind: 'set-timer',
        timer: 'attest',
        afterMs: Math.max(1, Math.floor(this.#p.slotMs / 3)),
        token: { height: 0, round: this.#slot },
      });
    this.#armSlot(out);
  }

  // -- start and recovery -----------------------------------------------------------------------

  #start(head: HeadInfo, recovered: ReadonlyMap<string, Uint8Array>, out: Out[]): void {
    this.#slot = this.#slotNow();
    this.#reset(head);
    const ffg = recovered.get(FFG_KEY);
    if (ffg !== undefined) this.#restoreFfg(ffg);
    const blocks: Array<{ block: Block; signature: Uint8Array }> = [];
    for (const [key, bytes] of recovered) {
      if (!key.startsWith(BLOCK_KEY)) continue;
      let kept: { block: Block; signature: Uint8Array } | undefined;
      try {
        const f = asList(rlpDecodeStrict(bytes, 64 * 1024 * 1024, 'pos block record'), 'pos block record', 2);
        kept = {
          block: decodeBlock(asBytes(f[0], 'block')),
          signature: asBytes(f[1], 'signature', { length: 64 }),
        };
      } catch (e) {
        onlyTyped(e); // a damaged record: peers have the block
      }
      if (kept === undefined || kept.block.header.height <= head.height - KEEP_COMMITTED) {
        out.push({ kind: 'forget', key });
        continue;
      }
      this.#persisted.set(key.slice(BLOCK_KEY.length), kept.block.header.height);
      if (kept.block.header.height > head.height) blocks.push(kept);
    }
    blocks.sort((a, b) => a.block.header.height - b.block.header.height);
    for (const b of blocks) {
      const data = decodePosData(b.block.header.engineData);
      this.#onBlock(data.proposer, b.block, b.signature, out);
    }
    this.#chooseHead(out);
    this.#armSlot(out);
  }

  #reset(head: HeadInfo): void {
    const root = this.#rootOf(head);
    this.#tree = new BlockTree<PosNode>({ hash: head.hash, height: head.height, data: root });
    this.#head = this.#tree.root;
    this.#remember(toHex(head.hash), root.slot, head.height);
    // The start: genesis is the first checkpoint. A later head is final (committed) but not
    // necessarily the root of the checkpoint that finalized it — a crash may come between
    // commits — so it anchors the view at its own slot, below any real checkpoint above it,
    // which the WAL's record or the next block's links then bring.
    const s = this.#p.slotsPerEpoch;
    const start: Checkpoint = { slot: root.slot, root: head.hash };
    if (this.#ffg === undefined)
      this.#ffg = new FfgView(
        this.#ctx.validators,
        this.#domain,
        s,
        start,
        (c) => this.#isStart(c),
        this.#p.leakAfter,
      );
    else this.#ffg.anchor(start);
  }

  /**
   * The instance's start — genesis (the only block of slot 0), or the epoch's base block — is a
   * checkpoint every validator takes as justified and final: it is committed, and where the
   * epoch's first votes come from. (A restart's anchor is not: see #reset.)
   */
  #isStart(c: Checkpoint): boolean {
    const base = this.#ctx.base;
    return base === undefined ? c.slot === 0 : toHex(c.root) === toHex(base.hash);
  }

  #rootOf(head: HeadInfo): PosNode {
    if (head.height === 0) {
      const mix = genesisMix(head.hash);
      return {
        slot: 0,
        mix,
        seed: mix,
        block: undefined,
        signature: undefined,
        proposer: 0,
        status: 'valid',
      };
    }
    const d = decodePosData(head.engineData);
    return {
      slot: d.slot,
      mix: d.mix,
      seed: d.seed,
      block: undefined,
      signature: undefined,
      proposer: d.proposer,
      status: 'valid',
    };
  }

  #persistFfg(out: Out[]): void {
    const links = this.#carriedLinks();
    out.push({ kind: 'persist', key: FFG_KEY, record: rlpEncode(links.map(encodeAggregateItem)) });
  }

  #restoreFfg(bytes: Uint8Array): void {
    try {
      const aggs = asList(rlpDecodeStrict(bytes, 1024 * 1024, 'pos ffg record'), 'pos ffg record').map(
        (i, k) => decodeAggregateItem(i, `pos ffg record[${k}]`),
      );
      this.#learnLinks(aggs);
    } catch (e) {
      onlyTyped(e); // a damaged record: the links come again with blocks
    }
  }

  // -- messages ---------------------------------------------------------------------------------

  #onMessage(from: number, msg: PosMessage, signature: Uint8Array, out: Out[]): void {
    switch (msg.type) {
      case 'block':
        this.#onBlock(from, msg.block, signature, out);
        break;
      case 'get': {
        if (from === this.#ctx.self) break;
        const n = this.#tree.get(msg.hash);
        if (n?.data.block !== undefined && n.data.signature !== undefined)
          out.push({
            kind: 'relay',
            from: n.data.proposer,
            msg: blockMessage(n.data.block),
            signature: n.data.signature,
            to: from,
          });
        break;
      }
      case 'attest':
        this.#onAttestation(from, msg, signature, out);
        break;
      case 'links':
        if (from === this.#ctx.self) break;
        for (const a of msg.links) {
          this.#want(a.source.root, from);
          this.#want(a.target.root, from);
        }
        this.#learnLinks(msg.links, out);
        this.#chooseHead(out);
        break;
    }
  }

  /**
   * Forwards a message seen for the first time, as its signer signed it, to GOSSIP_DEGREE peers
   * drawn at random (all of them in a set that small): every node relaying once to a few reaches
   * everyone with high probability at O(n) messages per vote — relaying to all was O(n²), 97% of
   * the traffic at n = 32 (npm run bench:pos).
   */
  #gossip(from: number, msg: PosMessage, signature: Uint8Array, out: Out[]): void {
    const peers = this.#ctx.validators.validators
      .map((v) => v.index)
      .filter((i) => i !== from && i !== this.#ctx.self);
    if (peers.length <= GOSSIP_DEGREE) {
      out.push({ kind: 'relay', from, msg, signature });
      return;
    }
    for (let k = 0; k < GOSSIP_DEGREE; k++) {
      const pick = k + this.#ctx.rng.int(peers.length - k);
      [peers[k], peers[pick]] = [peers[pick] as number, peers[k] as number];
      out.push({ kind: 'relay', from, msg, signature, to: peers[k] as number });
    }
  }

  #junk(from: number, height: number, detail: string, out: Out[]): void {
    out.push({
      kind: 'evidence',
      evidence: { type: 'invalid-message', validator: from, height, round: 0, detail },
    });
  }

  #known(id: string): boolean {
    return this.#tree.has(id) || this.#committed.has(id) || this.#orphans.has(id) || this.#early.has(id);
  }

  #onBlock(from: number, block: Block, signature: Uint8Array, out: Out[]): void {
    const hash = headerHash(block.header);
    const id = toHex(hash);
    if (this.#known(id)) return;
    const h = block.header;
    let data: PosData;
    try {
      data = decodePosData(h.engineData);
    } catch (e) {
      onlyTyped(e);
      this.#junk(from, h.height, 'undecodable engine data', out);
      return;
    }
    if (h.chainId !== this.#ctx.chainId || from !== data.proposer) {
      this.#junk(
        from,
        h.height,
        from !== data.proposer ? 'a block not signed by its proposer' : 'another chain',
        out,
      );
      return;
    }
    if (data.slot > Math.max(this.#slot, this.#slotNow())) {
      // From a slot this clock has not reached: held (bounded) until it does.
      if (this.#early.size < MAX_ORPHANS) this.#early.set(id, { block, signature, from });
      return;
    }
    const queue = [{ block, hash, signature, from, data }];
    while (queue.length > 0) {
      const b = queue.shift() as (typeof queue)[number];
      const placed = this.#place(b.block, b.hash, b.data, b.signature, b.from, out);
      if (placed !== 'placed') continue;
      if (b.from !== this.#ctx.self) this.#gossip(b.from, blockMessage(b.block), b.signature, out);
      const bid = toHex(b.hash);
      for (const [oid, o] of this.#orphans)
        if (o.parent === bid) {
          this.#orphans.delete(oid);
          queue.push({
            block: o.block,
            hash: headerHash(o.block.header),
            signature: o.signature,
            from: o.from,
            data: decodePosData(o.block.header.engineData),
          });
        }
    }
  }

  /** Checks a block against its parent (the draw, the reveal, the randomness, the links) and places it. */
  #place(
    block: Block,
    hash: Uint8Array,
    data: PosData,
    signature: Uint8Array,
    from: number,
    out: Out[],
  ): 'placed' | 'orphan' | 'invalid' {
    const h = block.header;
    const parentId = toHex(h.parentHash);
    const parent = this.#tree.get(parentId);
    if (parent === undefined) {
      if (h.height <= this.#tree.root.height || this.#committed.has(parentId)) return 'invalid'; // below what is final
      this.#orphans.set(toHex(hash), { block, signature, from, parent: parentId });
      while (this.#orphans.size > MAX_ORPHANS)
        this.#orphans.delete(this.#orphans.keys().next().value as string);
      if (!this.#orphans.has(parentId))
        out.push({ kind: 'send', to: from, msg: { type: 'get', hash: h.parentHash } });
      return 'orphan';
    }
    const fault = this.#blockFault(data, parent.data);
    if (fault !== undefined) {
      this.#junk(from, h.height, fault, out);
      return 'invalid';
    }
    const node = this.#tree.add(hash, h.parentHash, {
      slot: data.slot,
      mix: data.mix,
      seed: data.seed,
      block,
      signature,
      proposer: data.proposer,
      status: 'pending',
    });
    invariant(node !== undefined, 'a block new to this node is added under its parent');
    this.#persistBlock(node, out);
    for (const a of data.links) {
      this.#want(a.source.root, from);
      this.#want(a.target.root, from);
    }
    this.#learnLinks(data.links, out);
    if (parent.data.status === 'valid') this.#execute(node, out);
    return 'placed';
  }

  #blockFault(data: PosData, parent: PosNode): string | undefined {
    if (data.slot <= parent.slot) return `slot ${data.slot} is not after its parent's (${parent.slot})`;
    const epoch = epochOf(data.slot, this.#p.slotsPerEpoch);
    const proposerKey = this.#ctx.validators.at(data.proposer)?.blsPublicKey;
    if (proposerKey === undefined) return `proposer ${data.proposer} is not a validator`;
    const want = childRandomness(parent, data.slot, data.reveal, this.#p.slotsPerEpoch);
    if (toHex(want.seed) !== toHex(data.seed)) return 'the epoch seed does not follow from its parent';
    if (toHex(want.mix) !== toHex(data.mix)) return 'the RANDAO mix does not follow from its parent';
    const drawn = proposerOf(data.seed, data.slot, this.#ctx.validators);
    if (drawn !== data.proposer)
      return `slot ${data.slot} is validator ${drawn}'s to propose, not ${data.proposer}'s`;
    if (!verifySignature(proposerKey, randaoMessage(this.#domain, epoch), data.reveal))
      return 'the RANDAO reveal does not verify';
    for (const a of data.links) {
      const signers = aggregateSigners(a, this.#ctx.validators);
      if (
        signers === undefined ||
        !verifyFfg(this.#ctx.validators, this.#domain, a.source, a.target, signers, a.signature)
      )
        return 'a carried FFG aggregate does not verify';
    }
    return undefined;
  }

  #persistBlock(node: TreeNode<PosNode>, out: Out[]): void {
    const { block, signature } = node.data;
    if (block === undefined || signature === undefined || this.#persisted.has(node.id)) return;
    this.#persisted.set(node.id, node.height);
    out.push({
      kind: 'persist',
      key: `${BLOCK_KEY}${node.id}`,
      record: rlpEncode([encodeBlock(block), signature]),
    });
  }

  #forgetSettled(out: Out[]): void {
    const root = this.#tree.root;
    for (const [id, height] of this.#persisted) {
      if (height > root.height - KEEP_COMMITTED && (height <= root.height || this.#tree.has(id))) continue;
      this.#persisted.delete(id);
      out.push({ kind: 'forget', key: `${BLOCK_KEY}${id}` });
    }
  }

  /**
   * Asks again, every slot, for what this node still lacks: the parent of each orphan chain and
   * each head an attestation voted for (a GET or its answer may have been lost). A few a slot.
   */
  #askForMissing(out: Out[]): void {
    let asked = 0;
    const ask = (hash: Uint8Array, from: number) => {
      const to = this.#askWhom(from, asked);
      if (to !== this.#ctx.self) out.push({ kind: 'send', to, msg: { type: 'get', hash } });
      asked++;
    };
    for (const o of this.#orphans.values()) {
      if (asked >= 4) return;
      if (this.#orphans.has(o.parent) || this.#tree.has(o.parent)) continue;
      ask(o.block.header.parentHash, o.from);
    }
    for (const [id, list] of this.#waiting) {
      if (asked >= 8) return;
      if (this.#known(id)) continue;
      const w = list[this.#slot % list.length] as { from: number; att: Attestation };
      ask(w.att.head, w.from);
    }
    for (const [id, w] of this.#wanted) {
      if (this.#known(id)) {
        this.#wanted.delete(id);
        continue;
      }
      if (asked >= 12) return;
      ask(w.hash, w.from);
    }
  }

  /**
   * Whom to ask again for a block: every other slot the peer that named it, in between another
   * validator in turn — the one that named it may have lost it (a restart that dropped its WAL
   * copy), and asking it alone left a node without a branch the others voted for.
   */
  #askWhom(named: number, k: number): number {
    const n = this.#ctx.validators.size;
    if (this.#slot % 2 === 0 || n <= 2) return named;
    let to = (named + 1 + (((this.#slot >> 1) + k) % (n - 1))) % n;
    if (to === this.#ctx.self) to = (to + 1) % n;
    return to === this.#ctx.self ? named : to;
  }

  /** Notes a block that a peer's vote or link names and this node lacks. */
  #want(hash: Uint8Array, from: number): void {
    const id = toHex(hash);
    if (from === this.#ctx.self || this.#known(id) || this.#wanted.size >= MAX_WANTED) return;
    this.#wanted.set(id, { hash, from });
  }

  #execute(node: TreeNode<PosNode>, out: Out[]): void {
    if (node.data.block === undefined || node.data.status !== 'pending') return;
    node.data.status = 'executing';
    out.push({ kind: 'execute', block: node.data.block, hash: node.hash });
  }

  #retryPending(out: Out[]): void {
    for (const n of this.#tree.leaves())
      for (let p: TreeNode<PosNode> | undefined = n; p !== undefined; p = this.#tree.parentOf(p))
        if (p.data.status === 'pending' && this.#tree.parentOf(p)?.data.status === 'valid')
          this.#execute(p, out);
  }

  #onExecuted(
    hash: Uint8Array,
    valid: boolean,
    code: string | undefined,
    reason: string | undefined,
    out: Out[],
  ): void {
    const node = this.#tree.get(hash);
    if (node === undefined || node.data.status !== 'executing') return;
    if (!valid) {
      // A dropped parent or a block from this clock's future may execute later; INVALID never does.
      node.data.status = code === 'UNKNOWN_PARENT' || code === 'FUTURE' ? 'pending' : 'invalid';
      if (node.data.status === 'invalid')
        out.push({
          kind: 'log',
          level: 'info',
          message: 'pos: a proposed block failed execution',
          fields: { height: node.height, slot: node.data.slot, code, reason },
        });
      return;
    }
    node.data.status = 'valid';
    for (const child of this.#tree.children(node)) this.#execute(child, out);
    const waiting = this.#waiting.get(node.id);
    if (waiting !== undefined) {
      this.#waiting.delete(node.id);
      this.#waitingCount -= waiting.length;
      for (const w of waiting) this.#countHeadVote(w.from, w.att);
    }
    this.#evaluate(out);
    this.#chooseHead(out);
  }

  // -- attestations -----------------------------------------------------------------------------

  #onAttestation(from: number, att: Attestation, signature: Uint8Array, out: Out[]): void {
    const s = this.#p.slotsPerEpoch;
    const key = this.#ctx.validators.at(from)?.blsPublicKey;
    if (key === undefined) return;
    if (att.target.slot !== epochOf(att.slot, s) * s) {
      this.#junk(from, 0, 'an attestation whose target is not its epoch', out);
      return;
    }
    // From further ahead than clocks drift apart: ignored, not junk (this clock may be the wrong one).
    if (att.slot > this.#slotNow() + MAX_SLOTS_AHEAD) return;
    if (!verifyFfg(this.#ctx.validators, this.#domain, att.source, att.target, [from], att.signature)) {
      this.#junk(from, 0, 'an FFG signature that does not verify', out);
      return;
    }
    // Relayed once, when first seen: votes reach nodes whose direct link dropped them.
    if (
      att.target.slot > this.#ffg.finalized.slot &&
      this.#ffg.addVote(from, att.source, att.target, att.signature) &&
      from !== this.#ctx.self
    )
      this.#gossip(from, { type: 'attest', ...att }, signature, out);
    this.#want(att.target.root, from);
    const headId = toHex(att.head);
    if (this.#tree.get(headId)?.data.status === 'valid' || this.#committed.has(headId))
      this.#countHeadVote(from, att);
    else if (this.#waitingCount < MAX_PENDING_ATTESTATIONS) {
      let list = this.#waiting.get(headId);
      if (list === undefined) {
        this.#waiting.set(headId, (list = []));
        if (!this.#known(headId) && from !== this.#ctx.self)
          out.push({ kind: 'send', to: from, msg: { type: 'get', hash: att.head } });
      }
      list.push({ from, att });
      this.#waitingCount++;
    }
    this.#evaluate(out);
    this.#chooseHead(out);
  }

  #countHeadVote(from: number, att: Attestation): void {
    const prev = this.#latest.get(from);
    if (prev === undefined || att.slot > prev.slot)
      this.#latest.set(from, { slot: att.slot, head: toHex(att.head) });
  }

  #attest(out: Out[]): void {
    const self = this.#ctx.self;
    const sign = this.#ctx.signer.blsSign;
    if (self === undefined || sign === undefined) return;
    const s = this.#p.slotsPerEpoch;
    const targetSlot = epochOf(this.#slot, s) * s;
    if (targetSlot <= this.#attestedTarget) return;
    this.#chooseHead(out);
    const head = this.#head;
    const root = this.#checkpointRoot(head, targetSlot);
    const source = this.#ffg.latestJustified;
    // (A source that is not an epoch start is the anchor of a restart: no vote counts it.)
    if (root === undefined || source.slot >= targetSlot || (source.slot % s !== 0 && !this.#isStart(source)))
      return;
    const target: Checkpoint = { slot: targetSlot, root };
    this.#attestedTarget = targetSlot;
    out.push({
      kind: 'broadcast',
      msg: {
        type: 'attest',
        slot: this.#slot,
        head: head.hash,
        source,
        target,
        signature: sign(ffgMessage(this.#domain, source, target)),
      },
    });
  }

  /** The root of the checkpoint at epoch-start `slot` on `node`'s chain: its last block at or before it. */
  #checkpointRoot(node: TreeNode<PosNode>, slot: number): Uint8Array | undefined {
    let n: TreeNode<PosNode> | undefined = node;
    while (n !== undefined && n.data.slot > slot) n = this.#tree.parentOf(n);
    return n?.hash;
  }

  // -- FFG --------------------------------------------------------------------------------------

  /** Links from blocks, certificates or the WAL: finality proofs adopted, the rest counted. */
  #learnLinks(links: readonly FfgAggregate[], out?: Out[]): void {
    const s = this.#p.slotsPerEpoch;
    for (const fin of links) {
      const justify = links.find(
        (j) => checkpointId(j.target) === checkpointId(fin.source) && fin.target.slot === fin.source.slot + s,
      );
      // On this node's chain: above its committed head, or at or below it (a node that committed
      // past the checkpoint — by sync, or before a restart — still needs the view it brings).
      const root: Checkpoint = { slot: this.#tree.root.data.slot, root: this.#tree.root.hash };
      if (
        justify !== undefined &&
        (this.#descends(root, fin.source) !== false || this.#descends(fin.source, root) === true)
      )
        this.#ffg.adoptFinality(justify, fin);
    }
    for (const a of links) this.#ffg.addAggregate(a);
    if (out !== undefined) this.#evaluate(out);
  }

  /** Whether checkpoint b's root descends from (or is) a's; undefined when this node cannot tell. */
  #descends(a: Checkpoint, b: Checkpoint): boolean | undefined {
    const aid = toHex(a.root);
    const bid = toHex(b.root);
    if (aid === bid) return true;
    const bn = this.#tree.get(bid);
    const ac = this.#committed.get(aid);
    if (bn !== undefined) {
      for (let n: TreeNode<PosNode> | undefined = bn; n !== undefined; n = this.#tree.parentOf(n))
        if (n.id === aid) return true;
      // Everything in the tree descends from the root, and the root from every committed block.
      if (ac !== undefined) return true;
      return this.#tree.has(aid) ? false : undefined;
    }
    const bc = this.#committed.get(bid);
    if (bc !== undefined && ac !== undefined) return ac.height <= bc.height;
    if (bc !== undefined && this.#tree.has(aid)) return false;
    return undefined;
  }

  #evaluate(out: Out[]): void {
    const before = this.#ffg.finalized.slot;
    const justifiedBefore = this.#ffg.latestJustified.slot;
    this.#ffg.evaluate((a, b) => this.#descends(a, b));
    if (this.#ffg.finalized.slot !== before || this.#ffg.latestJustified.slot !== justifiedBefore) {
      this.#persistFfg(out);
      out.push({
        kind: 'log',
        level: 'debug',
        message: 'pos: checkpoints moved',
        fields: { justified: this.#ffg.latestJustified.slot, finalized: this.#ffg.finalized.slot },
      });
    }
    this.#maybeCommit(out);
  }

  /** The links a block or the WAL carries: the latest finality proof, then the justifications above it. */
  #carriedLinks(): FfgAggregate[] {
    const f = this.#ffg.finalized;
    const ids = [this.#ffg.justifiedBy(f), this.#ffg.finalizedBy, ...this.#ffg.justificationChain()];
    const out: FfgAggregate[] = [];
    const seen = new Set<string>();
    for (const id of ids) {
      if (id === undefined || seen.has(id) || out.length >= MAX_CARRIED) continue;
      seen.add(id);
      const a = this.#ffg.aggregateOf(id);
      if (a !== undefined) out.push(a);
    }
    return out;
  }

  // -- fork choice and proposals ------------------------------------------------------------------

  #chooseHead(out: Out[]): void {
    const justified = this.#tree.get(this.#ffg.latestJustified.root);
    const start = justified?.data.status === 'valid' ? justified : this.#tree.root;
    const votes = [...this.#latest].map(([v, vote]) => ({
      head: vote.head,
      weight: this.#ctx.validators.at(v)?.power ?? 0,
    }));
    const n = this.#tree.ghost(start, votes, (c) => c.data.status === 'valid');
    const prev = this.#head;
    if (n.id === prev.id) return;
    if (this.#tree.has(prev.id)) {
      const depth = this.#tree.reorgDepth(prev, n);
      if (depth > 0) {
        this.#reorgs++;
        this.#maxReorgDepth = Math.max(this.#maxReorgDepth, depth);
        out.push({
          kind: 'log',
          level: 'debug',
          message: 'pos: head reorganized',
          fields: { depth, height: n.height },
        });
      }
    }
    this.#head = n;
  }

  #proposerAt(node: TreeNode<PosNode>, slot: number): number {
    const epoch = epochOf(slot, this.#p.slotsPerEpoch);
    const seed =
      epoch === epochOf(node.data.slot, this.#p.slotsPerEpoch) && node.data.slot > 0
        ? node.data.seed
        : childRandomness(node.data, slot, new Uint8Array(96), this.#p.slotsPerEpoch).seed;
    return proposerOf(seed, slot, this.#ctx.validators);
  }

  #propose(out: Out[]): void {
    const self = this.#ctx.self;
    const sign = this.#ctx.signer.blsSign;
    const slot = this.#slot;
    const head = this.#head;
    if (self === undefined || sign === undefined || this.#builtSlot >= slot || head.data.slot >= slot) return;
    if (this.#proposerAt(head, slot) !== self) return;
    this.#builtSlot = slot;
    const reveal = sign(randaoMessage(this.#domain, epochOf(slot, this.#p.slotsPerEpoch)));
    const { mix, seed } = childRandomness(head.data, slot, reveal, this.#p.slotsPerEpoch);
    out.push({
      kind: 'build-block',
      height: head.height + 1,
      round: slot,
      parent: head.hash,
      engineData: encodePosData({ slot, proposer: self, reveal, mix, seed, links: this.#carriedLinks() }),
    });
  }

  // -- commits ----------------------------------------------------------------------------------

  #maybeCommit(out: Out[]): void {
    if (this.#committing !== undefined) return;
    const f = this.#ffg.finalized;
    const target = this.#tree.get(f.root);
    const root = this.#tree.root;
    if (target === undefined || target.height <= root.height || target.data.status !== 'valid') return;
    const justify = this.#ffg.aggregateOf(this.#ffg.justifiedBy(f) ?? '');
    const finalize = this.#ffg.aggregateOf(this.#ffg.finalizedBy ?? '');
    if (justify === undefined || finalize === undefined) return;
    const path = this.#tree.pathBetween(root, target);
    const first = path[0] as TreeNode<PosNode>;
    const headers = path.map((n) => (n.data.block as Block).header);
    this.#committing = first.id;
    const certificate: PosCertificate = {
      kind: POS_CERT_KIND,
      height: first.height,
      blockHash: first.hash,
      headers,
      justify,
      finalize,
    };
    out.push({ kind: 'commit', hash: first.hash, certificate });
  }

  #remember(id: string, slot: number, height: number): void {
    this.#committed.delete(id);
    this.#committed.set(id, { slot, height });
    while (this.#committed.size > MAX_COMMITTED_KEPT)
      this.#committed.delete(this.#committed.keys().next().value as string);
  }

  #onCommitted(head: HeadInfo, certificate: PosCertificate | undefined, out: Out[]): void {
    this.#committing = undefined;
    const id = toHex(head.hash);
    const node = this.#tree.get(id);
    if (node === undefined) {
      // Block sync moved the head past what this node held: start the tree again from it.
      this.#reset(head);
      for (const [oid, o] of this.#orphans)
        if (o.block.header.height <= head.height) this.#orphans.delete(oid);
    } else {
      this.#remember(id, node.data.slot, node.height);
      this.#tree.reroot(head.hash);
    }
    if (certificate?.kind === POS_CERT_KIND) this.#learnLinks([certificate.justify, certificate.finalize]);
    // Votes still waiting for their block from slots at or below the new root decide nothing now.
    for (const [hid, list] of this.#waiting)
      if (list.every((w) => w.att.slot <= this.#tree.root.data.slot)) {
        this.#waiting.delete(hid);
        this.#waitingCount -= list.length;
      }
    this.#ffg.prune();
    this.#forgetSettled(out);
    if (!this.#tree.has(this.#head.id)) this.#head = this.#tree.root;
    this.#evaluate(out);
    this.#chooseHead(out);
  }
}

/**
 * The slot of the epoch (from its start) in which a validator attests: spread over the first half
 * of the epoch, so that the epoch's checkpoint is justified half an epoch before the next one's
 * attesters need it as their source — attesting through the whole epoch left no margin, and one
 * late vote split the next epoch's votes between two sources (the simulator's clock skew did it).
 */
export function attestSlotOffset(validator: number, p: PosParams): number {
  return validator % Math.max(1, Math.floor(p.slotsPerEpoch / 2));
}
