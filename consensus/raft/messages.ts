/**
 * Raft wire messages (canonical RLP) and what each validator signs. Every message carries the
 * sender's term (§5.1: a server that sees a higher term adopts it; a lower one is stale).
 *
 *   [1, term, prevIndex, prevHash, prevTerm, [block…], proof]  APPEND     AppendEntries (§5.3); no
 *        blocks = a heartbeat. prevHash is the entry before the blocks, whose term is prevTerm
 *        (0 = genesis or not known to the leader); proof = [] or [term, index, hash, [[v, sig]…]],
 *        the leader's latest commit proof (entry.ts). Signs "verity-raft-append-v1" ‖ [chain,
 *        term, prevIndex, prevHash, prevTerm, [hash(block)…], proof].
 *   [2, term, index, hash]                                      ACK        a successful reply: the
 *        follower's log holds `hash` at `index` in `term`. Signs ackBytes (entry.ts) — exactly a
 *        certificate acknowledgement. Slot (index, term, 1): never two different acks there.
 *   [3, term, index, hintIndex, hintTerm]                       REJECT     a failed consistency
 *        check of the append whose prevIndex was `index`, with etcd's conflict hint (the
 *        follower's last index ≤ index whose term ≤ the append's prevTerm, and that term).
 *   [4, term, lastIndex, lastTerm, pre]                         VOTE-REQ   RequestVote (§5.2), or
 *        a PreVote (thesis §9.6) for `term` = the sender's term + 1, which changes no term.
 *   [5, term, candidate, granted, pre]                          VOTE       a (pre-)vote reply.
 *        A granted real vote has the slot (TERM_SLOT_HEIGHT, term, 2): one vote per term, and the
 *        runtime's double-sign guard holds it as a second line behind the engine's own record.
 *   [6, term, proof]                                            COMMIT     the leader's notice
 *        that its commit proof advanced (broadcast; followers and observers commit with it).
 *   [7, term, seq]                                              READ-PROBE a leader's "am I still
 *        your leader?" round for ReadIndex (thesis §6.4), numbered; a heartbeat too.
 *   [8, term, seq]                                              READ-ECHO  a follower's answer
 *        to probe `seq` of the leader it follows in `term`.
 *   [9, term, id]                                               READ-REQ   a follower asks the
 *        leader for a read index, for its read `id`.
 *   [10, term, id, index]                                       READ-INDEX the leader's answer:
 *        read `id` may be served once the follower's chain reaches `index`.
 * Block sizes are bounded by the block decoder; a message carries at most MAX_APPEND_ENTRIES
 * blocks within MAX_RAFT_MESSAGE bytes.
 */
import { concatBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import { type Block, decodeBlock, encodeBlock, headerHash } from '../../ledger/block.ts';
import { decodeVotes, encodeVotes } from '../../ledger/certificate.ts';
import {
  asBool,
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
import { ackBytes, type CommitProof, decodeEngineData } from './entry.ts';

export const MAX_RAFT_MESSAGE = 9 * 1024 * 1024;
export const MAX_APPEND_ENTRIES = 64;
/**
 * The slot height of height-less messages (votes): the runtime keeps such slots by their round —
 * here the term — instead of pruning them with the chain's height (src/runtime/sign-fence.ts,
 * VIEW_SLOT_HEIGHT). Terms advance far slower than heights; a vote slot (term, 0, kind) would be
 * pruned as soon as the chain is two blocks past the term number, and the guard would hold nothing.
 */
export const TERM_SLOT_HEIGHT = Number.MAX_SAFE_INTEGER;
export const SLOT_STEP = { ack: 1, vote: 2 } as const;

export interface AppendEntry {
  readonly block: Block;
  readonly hash: Uint8Array;
  readonly term: number;
}

export type RaftMessage =
  | {
      readonly type: 'append';
      readonly term: number;
      readonly prevIndex: number;
      readonly prevHash: Uint8Array;
      readonly prevTerm: number;
      readonly entries: readonly AppendEntry[];
      readonly proof?: CommitProof;
    }
  | { readonly type: 'ack'; readonly term: number; readonly index: number; readonly hash: Uint8Array }
  | {
      readonly type: 'reject';
      readonly term: number;
      readonly index: number;
      readonly hintIndex: number;
      readonly hintTerm: number;
    }
  | {
      readonly type: 'vote-request';
      readonly term: number;
      readonly lastIndex: number;
      readonly lastTerm: number;
      readonly pre: boolean;
    }
  | {
      readonly type: 'vote';
      readonly term: number;
      readonly candidate: number;
      readonly granted: boolean;
      readonly pre: boolean;
    }
  | { readonly type: 'commit'; readonly term: number; readonly proof: CommitProof }
  | { readonly type: 'read-probe'; readonly term: number; readonly seq: number }
  | { readonly type: 'read-echo'; readonly term: number; readonly seq: number }
  | { readonly type: 'read-request'; readonly term: number; readonly id: number }
  | { readonly type: 'read-index'; readonly term: number; readonly id: number; readonly index: number };

const domain = (kind: string) => concatBytes(utf8(`verity-raft-${kind}-v1`), new Uint8Array([0]));
const APPEND_DOMAIN = domain('append');
const REJECT_DOMAIN = domain('reject');
const VOTE_REQUEST_DOMAIN = domain('vote-request');
const VOTE_DOMAIN = domain('vote');
const COMMIT_DOMAIN = domain('commit');
const READ_DOMAIN = domain('read');
const READ_TYPE = { 'read-probe': 7, 'read-echo': 8, 'read-request': 9, 'read-index': 10 } as const;

/** An entry as the engine appends it (hash and term read once). */
export function appendEntry(block: Block): AppendEntry {
  return { block, hash: headerHash(block.header), term: decodeEngineData(block.header.engineData).term };
}

function proofItem(p: CommitProof | undefined): RlpInput {
  return p === undefined ? [] : [p.term, p.index, p.hash, encodeVotes(p.acks)];
}

function decodeProof(item: RlpItem | undefined, what: string): CommitProof | undefined {
  const f = asList(item, what);
  if (f.length === 0) return undefined;
  if (f.length !== 4) throw new DecodeError('MALFORMED', `${what}: expected 0 or 4 fields`);
  const acks = decodeVotes(f[3], `${what}.acks`, { ordered: true });
  return {
    term: asSafeUint(f[0], `${what}.term`),
    index: asSafeUint(f[1], `${what}.index`),
    hash: asBytes(f[2], `${what}.hash`, { length: 32 }),
    acks,
  };
}

/**
 * The blocks of an append: consecutive heights after prevIndex, each naming the previous one as
 * its parent, with terms that never decrease along the log (prevTerm ≤ first ≤ … ≤ the sender's
 * term) — a log Raft can hold.
 */
function decodeEntries(
  items: RlpItem[],
  prev: { index: number; hash: Uint8Array; term: number },
  term: number,
): AppendEntry[] {
  if (items.length > MAX_APPEND_ENTRIES)
    throw new DecodeError('MALFORMED', `raft append: more than ${MAX_APPEND_ENTRIES} entries`);
  const out: AppendEntry[] = [];
  let parent = prev;
  for (const [i, item] of items.entries()) {
    const e = appendEntry(decodeBlock(asBytes(item, `raft append entry ${i}`)));
    const h = e.block.header;
    if (h.height !== parent.index + 1) throw new DecodeError('MALFORMED', `raft append: entry ${i} height`);
    if (toHex(h.parentHash) !== toHex(parent.hash))
      throw new DecodeError('MALFORMED', `raft append: entry ${i} does not extend the previous one`);
    if (e.term < parent.term || e.term > term)
      throw new DecodeError('MALFORMED', `raft append: entry ${i} has term ${e.term} out of order`);
    out.push(e);
    parent = { index: h.height, hash: e.hash, term: e.term };
  }
  return out;
}

export const raftCodec: MessageCodec<RaftMessage> = {
  maxBytes: MAX_RAFT_MESSAGE,
  encode(m) {
    switch (m.type) {
      case 'append':
        return rlpEncode([
          1,
          m.term,
          m.prevIndex,
          m.prevHash,
          m.prevTerm,
          m.entries.map((e) => encodeBlock(e.block)),
          proofItem(m.proof),
        ]);
      case 'ack':
        return rlpEncode([2, m.term, m.index, m.hash]);
      case 'reject':
        return rlpEncode([3, m.term, m.index, m.hintIndex, m.hintTerm]);
      case 'vote-request':
        return rlpEncode([4, m.term, m.lastIndex, m.lastTerm, m.pre ? 1 : 0]);
      case 'vote':
        return rlpEncode([5, m.term, m.candidate, m.granted ? 1 : 0, m.pre ? 1 : 0]);
      case 'commit':
        return rlpEncode([6, m.term, proofItem(m.proof)]);
      case 'read-probe':
      case 'read-echo':
        return rlpEncode([READ_TYPE[m.type], m.term, m.seq]);
      case 'read-request':
        return rlpEncode([9, m.term, m.id]);
      case 'read-index':
        return rlpEncode([10, m.term, m.id, m.index]);
    }
  },
  decode(bytes) {
    const f = asList(rlpDecodeStrict(bytes, MAX_RAFT_MESSAGE, 'raft message'), 'raft message');
    const type = asSafeUint(f[0], 'type');
    const term = asSafeUint(f[1], 'term');
    if (type === 1 && f.length === 7) {
      const prevIndex = asSafeUint(f[2], 'prevIndex');
      const prevHash = asBytes(f[3], 'prevHash', { length: 32 });
      const prevTerm = asSafeUint(f[4], 'prevTerm');
      if (prevTerm > term) throw new DecodeError('MALFORMED', 'raft append: prevTerm above the term');
      const entries = decodeEntries(
        asList(f[5], 'entries'),
        { index: prevIndex, hash: prevHash, term: prevTerm },
        term,
      );
      const proof = decodeProof(f[6], 'proof');
      return proof === undefined
        ? { type: 'append', term, prevIndex, prevHash, prevTerm, entries }
        : { type: 'append', term, prevIndex, prevHash, prevTerm, entries, proof };
    }
    if (type === 2 && f.length === 4)
      return {
        type: 'ack',
        term,
        index: asSafeUint(f[2], 'index'),
        hash: asBytes(f[3], 'hash', { length: 32 }),
      };
    if (type === 3 && f.length === 5)
      return {
        type: 'reject',
        term,
        index: asSafeUint(f[2], 'index'),
        hintIndex: asSafeUint(f[3], 'hintIndex'),
        hintTerm: asSafeUint(f[4], 'hintTerm'),
      };
    if (type === 4 && f.length === 5)
      return {
        type: 'vote-request',
        term,
        lastIndex: asSafeUint(f[2], 'lastIndex'),
        lastTerm: asSafeUint(f[3], 'lastTerm'),
        pre: asBool(f[4], 'pre'),
      };
    if (type === 5 && f.length === 5)
      return {
        type: 'vote',
        term,
        candidate: asSafeUint(f[2], 'candidate'),
        granted: asBool(f[3], 'granted'),
        pre: asBool(f[4], 'pre'),
      };
    if (type === 6 && f.length === 3) {
      const proof = decodeProof(f[2], 'proof');
      if (proof === undefined) throw new DecodeError('MALFORMED', 'raft commit: no proof');
      return { type: 'commit', term, proof };
    }
    if ((type === 7 || type === 8) && f.length === 3)
      return { type: type === 7 ? 'read-probe' : 'read-echo', term, seq: asSafeUint(f[2], 'seq') };
    if (type === 9 && f.length === 3) return { type: 'read-request', term, id: asSafeUint(f[2], 'id') };
    if (type === 10 && f.length === 4)
      return { type: 'read-index', term, id: asSafeUint(f[2], 'id'), index: asSafeUint(f[3], 'index') };
    throw new DecodeError('MALFORMED', `unknown raft message type ${type} with ${f.length} fields`);
  },
  signingBytes(m, chainId) {
    const chain = utf8(chainId);
    switch (m.type) {
      case 'append':
        return concatBytes(
          APPEND_DOMAIN,
          rlpEncode([
            chain,
            m.term,
            m.prevIndex,
            m.prevHash,
            m.prevTerm,
            m.entries.map((e) => e.hash),
            proofItem(m.proof),
          ]),
        );
      case 'ack':
        return ackBytes(chainId, m.term, m.index, m.hash);
      case 'reject':
        return concatBytes(REJECT_DOMAIN, rlpEncode([chain, m.term, m.index, m.hintIndex, m.hintTerm]));
      case 'vote-request':
        return concatBytes(
          VOTE_REQUEST_DOMAIN,
          rlpEncode([chain, m.term, m.lastIndex, m.lastTerm, m.pre ? 1 : 0]),
        );
      case 'vote':
        return concatBytes(
          VOTE_DOMAIN,
          rlpEncode([chain, m.term, m.candidate, m.granted ? 1 : 0, m.pre ? 1 : 0]),
        );
      case 'commit':
        return concatBytes(COMMIT_DOMAIN, rlpEncode([chain, m.term, proofItem(m.proof)]));
      case 'read-probe':
      case 'read-echo':
      case 'read-request':
        return concatBytes(
          READ_DOMAIN,
          rlpEncode([chain, READ_TYPE[m.type], m.term, 'seq' in m ? m.seq : m.id]),
        );
      case 'read-index':
        return concatBytes(READ_DOMAIN, rlpEncode([chain, 10, m.term, m.id, m.index]));
    }
  },
  slot(m): SignSlot | undefined {
    if (m.type === 'ack') return { height: m.index, round: m.term, step: SLOT_STEP.ack };
    if (m.type === 'vote' && m.granted && !m.pre)
      return { height: TERM_SLOT_HEIGHT, round: m.term, step: SLOT_STEP.vote };
    return undefined;
  },
  heightOf(m) {
    switch (m.type) {
      case 'append':
        return m.prevIndex + m.entries.length;
      case 'ack':
      case 'reject':
        return m.index;
      case 'vote-request':
        return m.lastIndex;
      default:
        return undefined;
    }
  },
  describe(m) {
    const h = (b: Uint8Array) => toHex(b).slice(0, 12);
    switch (m.type) {
      case 'append':
        return `append(t=${m.term}, prev=${m.prevIndex}/${m.prevTerm}, n=${m.entries.length}${m.proof === undefined ? '' : `, commit=${m.proof.index}`})`;
      case 'ack':
        return `ack(t=${m.term}, ${m.index}, ${h(m.hash)})`;
      case 'reject':
        return `reject(t=${m.term}, prev=${m.index}, hint=${m.hintIndex}/${m.hintTerm})`;
      case 'vote-request':
        return `${m.pre ? 'pre-vote' : 'vote'}-request(t=${m.term}, last=${m.lastIndex}/${m.lastTerm})`;
      case 'vote':
        return `${m.pre ? 'pre-vote' : 'vote'}(t=${m.term}, for=${m.candidate}, ${m.granted ? 'granted' : 'denied'})`;
      case 'commit':
        return `commit(t=${m.term}, ${m.proof.index}, ${h(m.proof.hash)})`;
      case 'read-probe':
      case 'read-echo':
        return `${m.type}(t=${m.term}, seq=${m.seq})`;
      case 'read-request':
        return `read-request(t=${m.term}, id=${m.id})`;
      case 'read-index':
        return `read-index(t=${m.term}, id=${m.id}, index=${m.index})`;
    }
  },
};
