/**
 * PBFT wire messages (canonical RLP) and what each validator signs. `d` is a block hash (the
 * request digest of the paper: a block is a batch of requests), `p` the hash of its parent block.
 *
 *   [1, v, n, d, p, block | '']          PRE-PREPARE  signs "verity-pbft-preprepare-v1" ‖ [chain, v, n, d, p]
 *   [2, v, n, d, p]                      PREPARE      signs "verity-pbft-prepare-v1"    ‖ [chain, v, n, d, p]
 *   [3, v, n, d]                         COMMIT       signs the ledger's commit vote (chain, n, v, d)
 *   [4, n, d]                            CHECKPOINT   signs "verity-pbft-checkpoint-v1" ‖ [chain, n, d]
 *   [5, v, C, P]                         VIEW-CHANGE  signs "verity-pbft-viewchange-v1" ‖ [chain, v, C, P]
 *   [6, v, V, O]                         NEW-VIEW     signs "verity-pbft-newview-v1"    ‖ [chain, v, V, O]
 *
 *   C = [h, d, [[validator, sig]…]]               stable checkpoint + its proof (2f+1 CHECKPOINTs)
 *   P = [[v, n, d, p, ppSig, [[validator, sig]…]]…] prepared certificates: the primary's PRE-PREPARE
 *                                                  signature and the PREPARE signatures
 *   V = [[from, sig, v, C, P]…]                    the signed VIEW-CHANGEs the new primary collected
 *   O = [[n, d]…]                                  re-proposals derived from V (see engine.ts)
 *
 * Like the paper's <<PRE-PREPARE, v, n, d>σp, m>, the block rides next to the signed part: the
 * signature covers (v, n, d, p) only, so any replica that holds the block may attach it when it
 * relays the primary's PRE-PREPARE (the block authenticates itself through d = hash(header)).
 * The parent hash is signed in PRE-PREPARE and PREPARE so that a prepared certificate proves its
 * block's place in the chain — which the new primary needs to re-propose a contiguous chain.
 *
 * A COMMIT's signature is directly a vote of the ed25519-quorum commit certificate (round = view).
 * Every list is canonical (strictly increasing validators / sequence numbers) and size-capped.
 */
import { concatBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import { type Block, decodeBlock, encodeBlock, headerHash } from '../../ledger/block.ts';
import { commitVoteBytes } from '../../ledger/certificate.ts';
import {
  asBytes,
  asList,
  asSafeUint,
  DecodeError,
  type RlpInput,
  type RlpItem,
  rlpDecodeStrict,
  rlpEncode,
} from '../../ledger/codec.ts';
import type { MessageCodec, SignSlot } from '../types.ts';

export const MAX_PBFT_MESSAGE = 9 * 1024 * 1024;
/** Views are a u32 in the double-sign guard's slot key. */
export const MAX_VIEW = 0xffff_ffff;
/** Cap on every list inside a message (votes, certificates, view changes, re-proposals). */
export const MAX_LIST = 1024;
/**
 * VIEW-CHANGE and NEW-VIEW are signed once per view, whatever the sequence numbers: their slot is
 * (this sentinel height, view). The runtime never prunes it (it prunes heights below the head).
 */
export const VIEW_SLOT_HEIGHT = Number.MAX_SAFE_INTEGER;

export const STEP = {
  prePrepare: 0,
  prepare: 1,
  commit: 2,
  checkpoint: 3,
  viewChange: 4,
  newView: 5,
} as const;

export interface Vote {
  readonly validator: number;
  readonly signature: Uint8Array;
}

/** A checkpoint and its proof. Sequence 0 (genesis) needs no proof and has an empty digest. */
export interface CheckpointProof {
  readonly seq: number;
  readonly digest: Uint8Array;
  readonly votes: readonly Vote[];
}

/** PRE-PREPARE(view, seq, digest, parent) by primary(view) + PREPAREs from other validators. */
export interface PreparedCert {
  readonly view: number;
  readonly seq: number;
  readonly digest: Uint8Array;
  readonly parent: Uint8Array;
  readonly prePrepare: Uint8Array;
  readonly prepares: readonly Vote[];
}

export interface PrePrepare {
  readonly type: 'pre-prepare';
  readonly view: number;
  readonly seq: number;
  readonly digest: Uint8Array;
  readonly parent: Uint8Array;
  readonly block: Block | undefined;
}

export interface ViewChange {
  readonly type: 'view-change';
  /** The view being moved to (v + 1 in the paper). */
  readonly view: number;
  readonly checkpoint: CheckpointProof;
  /** Highest-view prepared certificate per sequence number above the checkpoint, by sequence. */
  readonly prepared: readonly PreparedCert[];
}

export interface SignedViewChange {
  readonly from: number;
  readonly signature: Uint8Array;
  readonly vc: ViewChange;
}

export interface Reproposal {
  readonly seq: number;
  readonly digest: Uint8Array;
}

export interface NewView {
  readonly type: 'new-view';
  readonly view: number;
  /** By ascending sender. */
  readonly viewChanges: readonly SignedViewChange[];
  /** Contiguous, by ascending sequence number. */
  readonly reproposals: readonly Reproposal[];
}

export type PbftMessage =
  | PrePrepare
  | {
      readonly type: 'prepare';
      readonly view: number;
      readonly seq: number;
      readonly digest: Uint8Array;
      readonly parent: Uint8Array;
    }
  | { readonly type: 'commit'; readonly view: number; readonly seq: number; readonly digest: Uint8Array }
  | { readonly type: 'checkpoint'; readonly seq: number; readonly digest: Uint8Array }
  | ViewChange
  | NewView;

const PRE_PREPARE_DOMAIN = concatBytes(utf8('verity-pbft-preprepare-v1'), new Uint8Array([0]));
const PREPARE_DOMAIN = concatBytes(utf8('verity-pbft-prepare-v1'), new Uint8Array([0]));
const CHECKPOINT_DOMAIN = concatBytes(utf8('verity-pbft-checkpoint-v1'), new Uint8Array([0]));
const VIEW_CHANGE_DOMAIN = concatBytes(utf8('verity-pbft-viewchange-v1'), new Uint8Array([0]));
const NEW_VIEW_DOMAIN = concatBytes(utf8('verity-pbft-newview-v1'), new Uint8Array([0]));

// -- signing bytes (also used to verify signatures embedded in certificates) --------------------

export function prePrepareBytes(
  chainId: string,
  view: number,
  seq: number,
  digest: Uint8Array,
  parent: Uint8Array,
): Uint8Array {
  return concatBytes(PRE_PREPARE_DOMAIN, rlpEncode([utf8(chainId), view, seq, digest, parent]));
}

export function prepareBytes(
  chainId: string,
  view: number,
  seq: number,
  digest: Uint8Array,
  parent: Uint8Array,
): Uint8Array {
  return concatBytes(PREPARE_DOMAIN, rlpEncode([utf8(chainId), view, seq, digest, parent]));
}

export function checkpointBytes(chainId: string, seq: number, digest: Uint8Array): Uint8Array {
  return concatBytes(CHECKPOINT_DOMAIN, rlpEncode([utf8(chainId), seq, digest]));
}

export function viewChangeBytes(chainId: string, vc: ViewChange): Uint8Array {
  return concatBytes(
    VIEW_CHANGE_DOMAIN,
    rlpEncode([utf8(chainId), vc.view, checkpointFields(vc.checkpoint), vc.prepared.map(certFields)]),
  );
}

export function newViewBytes(chainId: string, nv: NewView): Uint8Array {
  return concatBytes(NEW_VIEW_DOMAIN, rlpEncode([utf8(chainId), ...newViewFields(nv)]));
}

// -- field encoders ------------------------------------------------------------------------

function votesFields(votes: readonly Vote[]): RlpInput {
  return votes.map((v) => [v.validator, v.signature]);
}

function checkpointFields(c: CheckpointProof): RlpInput {
  return [c.seq, c.digest, votesFields(c.votes)];
}

function certFields(c: PreparedCert): RlpInput {
  return [c.view, c.seq, c.digest, c.parent, c.prePrepare, votesFields(c.prepares)];
}

function newViewFields(nv: NewView): RlpInput[] {
  return [
    nv.view,
    nv.viewChanges.map((s) => [
      s.from,
      s.signature,
      s.vc.view,
      checkpointFields(s.vc.checkpoint),
      s.vc.prepared.map(certFields),
    ]),
    nv.reproposals.map((r) => [r.seq, r.digest]),
  ];
}

// -- strict field decoders -------------------------------------------------------------------

function asView(item: RlpItem | undefined, what: string): number {
  const v = asSafeUint(item, what);
  if (v > MAX_VIEW) throw new DecodeError('MALFORMED', `${what}: view ${v} exceeds ${MAX_VIEW}`);
  return v;
}

function asHash(item: RlpItem | undefined, what: string): Uint8Array {
  return asBytes(item, what, { length: 32 });
}

function asCapped(item: RlpItem | undefined, what: string): RlpItem[] {
  const list = asList(item, what);
  if (list.length > MAX_LIST) throw new DecodeError('MALFORMED', `${what}: more than ${MAX_LIST} entries`);
  return list;
}

function decodeVotes(item: RlpItem | undefined, what: string): Vote[] {
  let last = -1;
  return asCapped(item, what).map((v, i) => {
    const pair = asList(v, `${what}[${i}]`, 2);
    const validator = asSafeUint(pair[0], `${what}[${i}].validator`);
    if (validator <= last)
      throw new DecodeError('MALFORMED', `${what}: validators must be strictly increasing`);
    last = validator;
    return { validator, signature: asBytes(pair[1], `${what}[${i}].signature`, { length: 64 }) };
  });
}

function decodeCheckpointProof(item: RlpItem | undefined): CheckpointProof {
  const f = asList(item, 'checkpoint', 3);
  const seq = asSafeUint(f[0], 'checkpoint.seq');
  const digest = asBytes(f[1], 'checkpoint.digest');
  const votes = decodeVotes(f[2], 'checkpoint.votes');
  if (seq === 0 ? digest.length !== 0 || votes.length !== 0 : digest.length !== 32)
    throw new DecodeError(
      'MALFORMED',
      'checkpoint: genesis has no digest nor votes; others a 32-byte digest',
    );
  return { seq, digest, votes };
}

function decodeCerts(item: RlpItem | undefined): PreparedCert[] {
  let last = -1;
  return asCapped(item, 'prepared').map((c, i) => {
    const f = asList(c, `prepared[${i}]`, 6);
    const seq = asSafeUint(f[1], `prepared[${i}].seq`);
    if (seq <= last)
      throw new DecodeError('MALFORMED', 'prepared: sequence numbers must be strictly increasing');
    last = seq;
    return {
      view: asView(f[0], `prepared[${i}].view`),
      seq,
      digest: asHash(f[2], `prepared[${i}].digest`),
      parent: asHash(f[3], `prepared[${i}].parent`),
      prePrepare: asBytes(f[4], `prepared[${i}].prePrepare`, { length: 64 }),
      prepares: decodeVotes(f[5], `prepared[${i}].prepares`),
    };
  });
}

function decodeViewChangeBody(view: number, cp: RlpItem | undefined, certs: RlpItem | undefined): ViewChange {
  if (view === 0) throw new DecodeError('MALFORMED', 'view-change to view 0');
  return { type: 'view-change', view, checkpoint: decodeCheckpointProof(cp), prepared: decodeCerts(certs) };
}

function decodeNewView(f: RlpItem[]): NewView {
  const view = asView(f[1], 'view');
  if (view === 0) throw new DecodeError('MALFORMED', 'new-view for view 0');
  let last = -1;
  const viewChanges = asCapped(f[2], 'new-view.V').map((e, i): SignedViewChange => {
    const g = asList(e, `new-view.V[${i}]`, 5);
    const from = asSafeUint(g[0], `new-view.V[${i}].from`);
    if (from <= last) throw new DecodeError('MALFORMED', 'new-view.V: senders must be strictly increasing');
    last = from;
    return {
      from,
      signature: asBytes(g[1], `new-view.V[${i}].signature`, { length: 64 }),
      vc: decodeViewChangeBody(asView(g[2], `new-view.V[${i}].view`), g[3], g[4]),
    };
  });
  let lastSeq = -1;
  const reproposals = asCapped(f[3], 'new-view.O').map((e, i) => {
    const g = asList(e, `new-view.O[${i}]`, 2);
    const seq = asSafeUint(g[0], `new-view.O[${i}].seq`);
    if (seq <= lastSeq) throw new DecodeError('MALFORMED', 'new-view.O: sequence numbers must increase');
    lastSeq = seq;
    return { seq, digest: asHash(g[1], `new-view.O[${i}].digest`) };
  });
  return { type: 'new-view', view, viewChanges, reproposals };
}

export function prePrepare(view: number, seq: number, block: Block, hash?: Uint8Array): PrePrepare {
  return {
    type: 'pre-prepare',
    view,
    seq,
    digest: hash ?? headerHash(block.header),
    parent: block.header.parentHash,
    block,
  };
}

export const pbftCodec: MessageCodec<PbftMessage> = {
  maxBytes: MAX_PBFT_MESSAGE,
  encode(m) {
    switch (m.type) {
      case 'pre-prepare':
        return rlpEncode([
          1,
          m.view,
          m.seq,
          m.digest,
          m.parent,
          m.block === undefined ? new Uint8Array(0) : encodeBlock(m.block),
        ]);
      case 'prepare':
        return rlpEncode([2, m.view, m.seq, m.digest, m.parent]);
      case 'commit':
        return rlpEncode([3, m.view, m.seq, m.digest]);
      case 'checkpoint':
        return rlpEncode([4, m.seq, m.digest]);
      case 'view-change':
        return rlpEncode([5, m.view, checkpointFields(m.checkpoint), m.prepared.map(certFields)]);
      case 'new-view':
        return rlpEncode([6, ...newViewFields(m)]);
    }
  },
  decode(bytes) {
    const f = asList(rlpDecodeStrict(bytes, MAX_PBFT_MESSAGE, 'pbft message'), 'pbft message');
    const type = asSafeUint(f[0], 'type');
    switch (type) {
      case 1: {
        if (f.length !== 6) break;
        const view = asView(f[1], 'view');
        const seq = asSafeUint(f[2], 'seq');
        const digest = asHash(f[3], 'digest');
        const parent = asHash(f[4], 'parent');
        const blockBytes = asBytes(f[5], 'block');
        let block: Block | undefined;
        if (blockBytes.length > 0) {
          block = decodeBlock(blockBytes);
          if (block.header.height !== seq)
            throw new DecodeError('MALFORMED', 'pre-prepare block height differs from its sequence number');
          if (toHex(headerHash(block.header)) !== toHex(digest))
            throw new DecodeError('MALFORMED', 'pre-prepare block does not hash to its digest');
          if (toHex(block.header.parentHash) !== toHex(parent))
            throw new DecodeError('MALFORMED', 'pre-prepare block parent differs from its parent field');
        }
        if (seq === 0) throw new DecodeError('MALFORMED', 'pre-prepare for sequence 0');
        return { type: 'pre-prepare', view, seq, digest, parent, block };
      }
      case 2:
        if (f.length !== 5) break;
        return {
          type: 'prepare',
          view: asView(f[1], 'view'),
          seq: asSafeUint(f[2], 'seq'),
          digest: asHash(f[3], 'digest'),
          parent: asHash(f[4], 'parent'),
        };
      case 3:
        if (f.length !== 4) break;
        return {
          type: 'commit',
          view: asView(f[1], 'view'),
          seq: asSafeUint(f[2], 'seq'),
          digest: asHash(f[3], 'digest'),
        };
      case 4:
        if (f.length !== 3) break;
        return { type: 'checkpoint', seq: asSafeUint(f[1], 'seq'), digest: asHash(f[2], 'digest') };
      case 5:
        if (f.length !== 4) break;
        return decodeViewChangeBody(asView(f[1], 'view'), f[2], f[3]);
      case 6:
        if (f.length !== 4) break;
        return decodeNewView(f);
    }
    throw new DecodeError('MALFORMED', `unknown pbft message type ${type} with ${f.length} fields`);
  },
  signingBytes(m, chainId) {
    switch (m.type) {
      case 'pre-prepare':
        return prePrepareBytes(chainId, m.view, m.seq, m.digest, m.parent);
      case 'prepare':
        return prepareBytes(chainId, m.view, m.seq, m.digest, m.parent);
      case 'commit':
        return commitVoteBytes(chainId, m.seq, m.view, m.digest);
      case 'checkpoint':
        return checkpointBytes(chainId, m.seq, m.digest);
      case 'view-change':
        return viewChangeBytes(chainId, m);
      case 'new-view':
        return newViewBytes(chainId, m);
    }
  },
  heightOf(m) {
    return m.type === 'view-change' || m.type === 'new-view' ? undefined : m.seq;
  },
  slot(m): SignSlot {
    switch (m.type) {
      case 'pre-prepare':
        return { height: m.seq, round: m.view, step: STEP.prePrepare };
      case 'prepare':
        return { height: m.seq, round: m.view, step: STEP.prepare };
      case 'commit':
        return { height: m.seq, round: m.view, step: STEP.commit };
      case 'checkpoint':
        return { height: m.seq, round: 0, step: STEP.checkpoint };
      case 'view-change':
        return { height: VIEW_SLOT_HEIGHT, round: m.view, step: STEP.viewChange };
      case 'new-view':
        return { height: VIEW_SLOT_HEIGHT, round: m.view, step: STEP.newView };
    }
  },
  describe(m) {
    const short = (b: Uint8Array) => (b.length === 0 ? 'genesis' : toHex(b).slice(0, 12));
    switch (m.type) {
      case 'pre-prepare':
        return `pre-prepare(v=${m.view}, n=${m.seq}, ${short(m.digest)}${m.block === undefined ? ', no body' : ''})`;
      case 'prepare':
      case 'commit':
        return `${m.type}(v=${m.view}, n=${m.seq}, ${short(m.digest)})`;
      case 'checkpoint':
        return `checkpoint(n=${m.seq}, ${short(m.digest)})`;
      case 'view-change':
        return `view-change(v=${m.view}, h=${m.checkpoint.seq}, P=[${m.prepared.map((c) => `${c.seq}@${c.view}`).join(' ')}])`;
      case 'new-view':
        return `new-view(v=${m.view}, V=[${m.viewChanges.map((s) => s.from).join(' ')}], O=[${m.reproposals.map((r) => r.seq).join(' ')}])`;
    }
  },
};
