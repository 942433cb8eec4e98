/**
 * Multi-Paxos wire messages (canonical RLP) and what each validator signs. A ballot travels as two
 * integers, round and node (ballot.ts); every proposer message (prepare, accept) must come from
 * its ballot's node, which the engine checks against the authenticated sender.
 *
 *   [1, r, n, head, from]                             PREPARE   Phase 1a for ballot (r, n), once
 *        for every slot above the candidate's committed `head`; the promise carries the blocks of
 *        the accepted slots above `from` (≥ head) — a second prepare of the same ballot with a
 *        higher `from` fetches blocks a first promise had no room for.
 *   [2, r, n, head, [[slot, br, bn, hash, parent]…], [block…]]
 *                                                     PROMISE   Phase 1b: the acceptor promised
 *        (r, n); its committed head; for every slot above the prepare's head, what it accepted
 *        there (ballot, block hash, parent hash), in slot order; and the blocks of some of them
 *        (a byte budget, from the prepare's `from` on).
 *   [3, r, n, pr, pn, head]                           NACK      refusal of a prepare or accept of
 *        ballot (r, n): the acceptor promised (pr, pn), or committed up to `head`, above the
 *        candidate's head.
 *   [4, r, n, [block…], proof]                        ACCEPT    Phase 2a: consecutive blocks, each
 *        the parent of the next, proposed in (r, n); none = a heartbeat. proof = [] or [r, n, slot,
 *        hash, [[v, sig]…]], the leader's best commit proof (ballot.ts).
 *   [5, r, n, slot, hash]                             ACCEPTED  Phase 2b: the acceptor accepted
 *        `hash` for `slot` in (r, n). Signs acceptedBytes (ballot.ts) — exactly a certificate vote.
 *        Slot (slot, ordinal(r, n), 1): never two different acceptances for one slot and ballot.
 *   [6, r, n, head]                                   ALIVE     an acceptor's answer to a heartbeat
 *        of (r, n): it still holds that promise; its committed head. The leader's quorum check
 *        counts it (an idle leader gets no ACCEPTED).
 * Others sign "verity-multipaxos-<kind>-v1" ‖ 0 ‖ RLP([chain, …fields]), blocks by their hashes.
 * Decoding is strict and size-capped: a malformed message is a DecodeError, never anything else.
 */
import { concatBytes, equalBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import { VerityError } from '../../crypto/errors.ts';
import { type Block, decodeBlock, encodeBlock, headerHash } from '../../ledger/block.ts';
import { decodeVotes, encodeVotes } from '../../ledger/certificate.ts';
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
import {
  acceptedBytes,
  type Ballot,
  ballotOrdinal,
  type CommitProof,
  compareBallots,
  decodeBallot,
  decodeStamp,
  formatBallot,
  type Stamp,
} from './ballot.ts';

export const MAX_MULTIPAXOS_MESSAGE = 9 * 1024 * 1024;
/** Blocks one accept carries. */
export const MAX_ACCEPT_BLOCKS = 64;
/** Accepted slots one promise reports: an acceptor holding more refuses (engine.ts). */
export const MAX_PROMISE_REPORTS = 1024;
/** Blocks one promise carries. */
export const MAX_PROMISE_BLOCKS = 64;
export const SLOT_STEP = { accepted: 1 } as const;

/** A block as the engine handles it: hash and stamp read once. */
export interface Proposal {
  readonly block: Block;
  readonly hash: Uint8Array;
  readonly stamp: Stamp;
}

/** What an acceptor accepted for one slot, as a promise reports it. */
export interface Report {
  readonly slot: number;
  readonly ballot: Ballot;
  readonly hash: Uint8Array;
  readonly parent: Uint8Array;
}

export type MultiPaxosMessage =
  | { readonly type: 'prepare'; readonly ballot: Ballot; readonly head: number; readonly from: number }
  | {
      readonly type: 'promise';
      readonly ballot: Ballot;
      readonly head: number;
      readonly accepted: readonly Report[];
      readonly blocks: readonly Proposal[];
    }
  | { readonly type: 'nack'; readonly ballot: Ballot; readonly promised: Ballot; readonly head: number }
  | {
      readonly type: 'accept';
      readonly ballot: Ballot;
      readonly blocks: readonly Proposal[];
      readonly proof?: CommitProof;
    }
  | { readonly type: 'accepted'; readonly ballot: Ballot; readonly slot: number; readonly hash: Uint8Array }
  | { readonly type: 'alive'; readonly ballot: Ballot; readonly head: number };

const domain = (kind: string) => concatBytes(utf8(`verity-multipaxos-${kind}-v1`), new Uint8Array([0]));
const PREPARE_DOMAIN = domain('prepare');
const PROMISE_DOMAIN = domain('promise');
const NACK_DOMAIN = domain('nack');
const ACCEPT_DOMAIN = domain('accept');
const ALIVE_DOMAIN = domain('alive');

/** A block as a proposal; its stamp must decode (a DecodeError otherwise). */
export function proposal(block: Block): Proposal {
  return { block, hash: headerHash(block.header), stamp: decodeStamp(block.header.engineData) };
}

/** A block from the wire: any refusal of the block decoder becomes a DecodeError. */
function decodeProposal(item: RlpItem | undefined, what: string): Proposal {
  let block: Block;
  try {
    block = decodeBlock(asBytes(item, what));
  } catch (e) {
    if (e instanceof DecodeError || !(e instanceof VerityError)) throw e;
    throw new DecodeError('MALFORMED', `${what}: ${e.message}`);
  }
  return proposal(block);
}

function proofItem(p: CommitProof | undefined): RlpInput {
  return p === undefined ? [] : [p.ballot.round, p.ballot.node, p.slot, p.hash, encodeVotes(p.votes)];
}

function decodeProof(item: RlpItem | undefined, what: string): CommitProof | undefined {
  const f = asList(item, what);
  if (f.length === 0) return undefined;
  if (f.length !== 5) throw new DecodeError('MALFORMED', `${what}: expected 0 or 5 fields`);
  const votes = decodeVotes(f[4], `${what}.votes`, { ordered: true });
  const slot = asSafeUint(f[2], `${what}.slot`);
  if (slot === 0) throw new DecodeError('MALFORMED', `${what}: genesis is not proven`);
  return {
    ballot: decodeBallot(f[0], f[1], `${what}.ballot`),
    slot,
    hash: asBytes(f[3], `${what}.hash`, { length: 32 }),
    votes,
  };
}

/**
 * Blocks proposed together: consecutive heights above genesis, each naming the previous one as
 * its parent, none stamped with a ballot above the one proposing it.
 */
function decodeRun(items: RlpItem[], ballot: Ballot, what: string): Proposal[] {
  if (items.length > MAX_ACCEPT_BLOCKS)
    throw new DecodeError('MALFORMED', `${what}: more than ${MAX_ACCEPT_BLOCKS} blocks`);
  const out: Proposal[] = [];
  for (const [i, item] of items.entries()) {
    const p = decodeProposal(item, `${what} block ${i}`);
    const prev = out.at(-1);
    const h = p.block.header;
    if (h.height === 0) throw new DecodeError('MALFORMED', `${what}: block ${i} at height 0`);
    if (prev !== undefined && h.height !== prev.block.header.height + 1)
      throw new DecodeError('MALFORMED', `${what}: block ${i} height`);
    if (prev !== undefined && !equalBytes(h.parentHash, prev.hash))
      throw new DecodeError('MALFORMED', `${what}: block ${i} does not extend the previous one`);
    if (compareBallots(p.stamp.ballot, ballot) > 0)
      throw new DecodeError('MALFORMED', `${what}: block ${i} was created in a later ballot`);
    out.push(p);
  }
  return out;
}

/** A promise's reports (strictly increasing slots, ballots up to the promise's) and its blocks. */
function decodePromise(f: RlpItem[], ballot: Ballot, head: number): MultiPaxosMessage {
  const items = asList(f[4], 'promise.accepted');
  if (items.length > MAX_PROMISE_REPORTS)
    throw new DecodeError('MALFORMED', `promise: more than ${MAX_PROMISE_REPORTS} reports`);
  let last = head;
  const accepted = items.map((item, i) => {
    const r = asList(item, `promise.accepted[${i}]`, 5);
    const slot = asSafeUint(r[0], `promise.accepted[${i}].slot`);
    if (slot <= last) throw new DecodeError('MALFORMED', 'promise: reports not in slot order above the head');
    last = slot;
    const b = decodeBallot(r[1], r[2], `promise.accepted[${i}].ballot`);
    if (compareBallots(b, ballot) > 0)
      throw new DecodeError('MALFORMED', 'promise: a report of a ballot above the promise');
    return {
      slot,
      ballot: b,
      hash: asBytes(r[3], `promise.accepted[${i}].hash`, { length: 32 }),
      parent: asBytes(r[4], `promise.accepted[${i}].parent`, { length: 32 }),
    };
  });
  const blockItems = asList(f[5], 'promise.blocks');
  if (blockItems.length > MAX_PROMISE_BLOCKS)
    throw new DecodeError('MALFORMED', `promise: more than ${MAX_PROMISE_BLOCKS} blocks`);
  const bySlot = new Map(accepted.map((r) => [r.slot, r]));
  const blocks = blockItems.map((item, i) => {
    const p = decodeProposal(item, `promise block ${i}`);
    const r = bySlot.get(p.block.header.height);
    if (r === undefined || !equalBytes(r.hash, p.hash) || !equalBytes(r.parent, p.block.header.parentHash))
      throw new DecodeError('MALFORMED', `promise: block ${i} is not one it reports`);
    if (compareBallots(p.stamp.ballot, r.ballot) > 0)
      throw new DecodeError(
        'MALFORMED',
        `promise: block ${i} was created after the ballot it was accepted in`,
      );
    return p;
  });
  return { type: 'promise', ballot, head, accepted, blocks };
}

const ballotItems = (b: Ballot): RlpInput[] => [b.round, b.node];
const reportItem = (r: Report): RlpInput => [r.slot, r.ballot.round, r.ballot.node, r.hash, r.parent];

export const multipaxosCodec: MessageCodec<MultiPaxosMessage> = {
  maxBytes: MAX_MULTIPAXOS_MESSAGE,
  encode(m) {
    switch (m.type) {
      case 'prepare':
        return rlpEncode([1, ...ballotItems(m.ballot), m.head, m.from]);
      case 'promise':
        return rlpEncode([
          2,
          ...ballotItems(m.ballot),
          m.head,
          m.accepted.map(reportItem),
          m.blocks.map((p) => encodeBlock(p.block)),
        ]);
      case 'nack':
        return rlpEncode([3, ...ballotItems(m.ballot), ...ballotItems(m.promised), m.head]);
      case 'accept':
        return rlpEncode([
          4,
          ...ballotItems(m.ballot),
          m.blocks.map((p) => encodeBlock(p.block)),
          proofItem(m.proof),
        ]);
      case 'accepted':
        return rlpEncode([5, ...ballotItems(m.ballot), m.slot, m.hash]);
      case 'alive':
        return rlpEncode([6, ...ballotItems(m.ballot), m.head]);
    }
  },
  decode(bytes) {
    const f = asList(
      rlpDecodeStrict(bytes, MAX_MULTIPAXOS_MESSAGE, 'multipaxos message'),
      'multipaxos message',
    );
    const type = asSafeUint(f[0], 'type');
    const ballot = decodeBallot(f[1], f[2], 'ballot');
    if (type === 1 && f.length === 5) {
      const head = asSafeUint(f[3], 'prepare.head');
      const from = asSafeUint(f[4], 'prepare.from');
      if (from < head) throw new DecodeError('MALFORMED', 'prepare: blocks asked for from below the head');
      return { type: 'prepare', ballot, head, from };
    }
    if (type === 2 && f.length === 6) return decodePromise(f, ballot, asSafeUint(f[3], 'promise.head'));
    if (type === 3 && f.length === 6)
      return {
        type: 'nack',
        ballot,
        promised: decodeBallot(f[3], f[4], 'nack.promised', { none: true }),
        head: asSafeUint(f[5], 'nack.head'),
      };
    if (type === 4 && f.length === 5) {
      const blocks = decodeRun(asList(f[3], 'accept.blocks'), ballot, 'accept');
      const proof = decodeProof(f[4], 'accept.proof');
      return proof === undefined
        ? { type: 'accept', ballot, blocks }
        : { type: 'accept', ballot, blocks, proof };
    }
    if (type === 5 && f.length === 5) {
      const slot = asSafeUint(f[3], 'accepted.slot');
      if (slot === 0) throw new DecodeError('MALFORMED', 'accepted: genesis is not accepted');
      return { type: 'accepted', ballot, slot, hash: asBytes(f[4], 'accepted.hash', { length: 32 }) };
    }
    if (type === 6 && f.length === 4) return { type: 'alive', ballot, head: asSafeUint(f[3], 'alive.head') };
    throw new DecodeError('MALFORMED', `unknown multipaxos message type ${type} with ${f.length} fields`);
  },
  signingBytes(m, chainId) {
    const chain = utf8(chainId);
    switch (m.type) {
      case 'prepare':
        return concatBytes(PREPARE_DOMAIN, rlpEncode([chain, ...ballotItems(m.ballot), m.head, m.from]));
      case 'promise':
        return concatBytes(
          PROMISE_DOMAIN,
          rlpEncode([
            chain,
            ...ballotItems(m.ballot),
            m.head,
            m.accepted.map(reportItem),
            m.blocks.map((p) => p.hash),
          ]),
        );
      case 'nack':
        return concatBytes(
          NACK_DOMAIN,
          rlpEncode([chain, ...ballotItems(m.ballot), ...ballotItems(m.promised), m.head]),
        );
      case 'accept':
        return concatBytes(
          ACCEPT_DOMAIN,
          rlpEncode([chain, ...ballotItems(m.ballot), m.blocks.map((p) => p.hash), proofItem(m.proof)]),
        );
      case 'accepted':
        return acceptedBytes(chainId, m.ballot, m.slot, m.hash);
      case 'alive':
        return concatBytes(ALIVE_DOMAIN, rlpEncode([chain, ...ballotItems(m.ballot), m.head]));
    }
  },
  slot(m): SignSlot | undefined {
    if (m.type === 'accepted')
      return { height: m.slot, round: ballotOrdinal(m.ballot), step: SLOT_STEP.accepted };
    return undefined;
  },
  heightOf(m) {
    switch (m.type) {
      case 'prepare':
      case 'promise':
      case 'nack':
      case 'alive':
        return m.head;
      case 'accept':
        return m.blocks.at(-1)?.block.header.height;
      case 'accepted':
        return m.slot;
    }
  },
  describe(m) {
    const h = (b: Uint8Array) => toHex(b).slice(0, 12);
    const b = formatBallot(m.ballot);
    switch (m.type) {
      case 'prepare':
        return `prepare(b=${b}, head=${m.head}, from=${m.from})`;
      case 'promise':
        return `promise(b=${b}, head=${m.head}, reports=${m.accepted.length}, blocks=${m.blocks.length})`;
      case 'nack':
        return `nack(b=${b}, promised=${formatBallot(m.promised)}, head=${m.head})`;
      case 'accept': {
        const first = m.blocks[0]?.block.header.height;
        const range = first === undefined ? 'heartbeat' : `${first}..${first + m.blocks.length - 1}`;
        return `accept(b=${b}, ${range}${m.proof === undefined ? '' : `, commit=${m.proof.slot}`})`;
      }
      case 'accepted':
        return `accepted(b=${b}, ${m.slot}, ${h(m.hash)})`;
      case 'alive':
        return `alive(b=${b}, head=${m.head})`;
    }
  },
};
