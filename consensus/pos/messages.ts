/**
 * Proof-of-Stake wire messages (canonical RLP):
 *
 *   [1, block]                                BLOCK   a proposal (broadcast by its proposer, relayed
 *                                                     once by every node that accepted it; answers to
 *                                                     GET forward the proposer's own envelope)
 *   [2, hash]                                 GET     "send me block `hash`": a parent, or the head
 *                                                     an attestation voted for, that a node lacks
 *   [3, slot, head, source, target, sig]      ATTEST  a validator's vote: `head` for the fork choice
 *                                                     (LMD-GHOST), source → target for FFG, with its
 *                                                     BLS signature on the link alone (rules.ts
 *                                                     ffgMessage), so that votes on a link aggregate
 *   [4, [aggregate…]]                         LINKS   a validator's latest finality proof and the
 *                                                     justifications above it (what its blocks
 *                                                     carry), announced every epoch: views converge
 *                                                     when no block can be built to carry them
 *
 * Double-sign slots (the runtime's guard, and equivocation evidence): a BLOCK at its slot (two
 * proposals in one slot), an ATTEST at its target (two votes for one target epoch); an ATTEST's
 * FFG link also goes to the guard's surround rule (codec.ffgLink).
 */
import { concatBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import {
  type Block,
  DEFAULT_MAX_BLOCK_BYTES,
  decodeBlock,
  encodeBlock,
  headerHash,
} from '../../ledger/block.ts';
import { asBytes, asList, asSafeUint, DecodeError, rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';
import type { MessageCodec } from '../types.ts';
import {
  type Checkpoint,
  decodeAggregateItem,
  decodeCheckpoint,
  decodePosData,
  encodeAggregateItem,
  encodeCheckpoint,
  type FfgAggregate,
  MAX_LINKS,
} from './rules.ts';

export const MAX_POS_MESSAGE = DEFAULT_MAX_BLOCK_BYTES + 1024;
export const STEP_PROPOSE = 1;
export const STEP_ATTEST = 2;

export interface Attestation {
  readonly slot: number;
  readonly head: Uint8Array;
  readonly source: Checkpoint;
  readonly target: Checkpoint;
  readonly signature: Uint8Array;
}

export type PosMessage =
  | { readonly type: 'block'; readonly block: Block; readonly slot: number }
  | { readonly type: 'get'; readonly hash: Uint8Array }
  | ({ readonly type: 'attest' } & Attestation)
  | { readonly type: 'links'; readonly links: readonly FfgAggregate[] };

const DOMAIN = utf8('verity-pos-v1');

export function blockMessage(block: Block): PosMessage {
  return { type: 'block', block, slot: decodePosData(block.header.engineData).slot };
}

export const posCodec: MessageCodec<PosMessage> = {
  maxBytes: MAX_POS_MESSAGE,
  encode(m) {
    switch (m.type) {
      case 'block':
        return rlpEncode([1, encodeBlock(m.block)]);
      case 'get':
        return rlpEncode([2, m.hash]);
      case 'attest':
        return rlpEncode([
          3,
          m.slot,
          m.head,
          encodeCheckpoint(m.source),
          encodeCheckpoint(m.target),
          m.signature,
        ]);
      case 'links':
        return rlpEncode([4, m.links.map(encodeAggregateItem)]);
    }
  },
  decode(bytes) {
    const f = asList(rlpDecodeStrict(bytes, MAX_POS_MESSAGE, 'pos message'), 'pos message');
    const type = asSafeUint(f[0], 'type');
    if (type === 1 && f.length === 2) {
      const block = decodeBlock(asBytes(f[1], 'block', { max: DEFAULT_MAX_BLOCK_BYTES }));
      // The engine data decodes here, so that the slot (the message's double-sign slot) is known.
      return blockMessage(block);
    }
    if (type === 2 && f.length === 2) return { type: 'get', hash: asBytes(f[1], 'hash', { length: 32 }) };
    if (type === 3 && f.length === 6) {
      const source = decodeCheckpoint(f[3], 'source');
      const target = decodeCheckpoint(f[4], 'target');
      if (source.slot >= target.slot)
        throw new DecodeError('MALFORMED', 'attest: the source is not before the target');
      return {
        type: 'attest',
        slot: asSafeUint(f[1], 'slot'),
        head: asBytes(f[2], 'head', { length: 32 }),
        source,
        target,
        signature: asBytes(f[5], 'signature', { length: 96 }),
      };
    }
    if (type === 4 && f.length === 2) {
      const links = asList(f[1], 'links');
      if (links.length > MAX_LINKS) throw new DecodeError('MALFORMED', `links: more than ${MAX_LINKS}`);
      return { type: 'links', links: links.map((l, i) => decodeAggregateItem(l, `links[${i}]`)) };
    }
    throw new DecodeError('MALFORMED', `pos message: unknown type ${type} or wrong field count`);
  },
  signingBytes(m, chainId) {
    return concatBytes(DOMAIN, rlpEncode([utf8(chainId), posCodec.encode(m)]));
  },
  slot(m) {
    if (m.type === 'block') return { height: m.slot, round: 0, step: STEP_PROPOSE };
    if (m.type === 'attest') return { height: m.target.slot, round: 0, step: STEP_ATTEST };
    return undefined;
  },
  ffgLink: (m) => (m.type === 'attest' ? { source: m.source.slot, target: m.target.slot } : undefined),
  heightOf: (m) => (m.type === 'block' ? m.block.header.height : undefined),
  describe(m) {
    switch (m.type) {
      case 'block':
        return `BLOCK slot=${m.slot} h=${m.block.header.height} ${toHex(headerHash(m.block.header)).slice(0, 12)}`;
      case 'get':
        return `GET ${toHex(m.hash).slice(0, 12)}`;
      case 'attest':
        return `ATTEST slot=${m.slot} head=${toHex(m.head).slice(0, 12)} ${m.source.slot}>${m.target.slot}:${toHex(m.target.root).slice(0, 8)}`;
      case 'links':
        return `LINKS ${m.links.map((l) => `${l.source.slot}>${l.target.slot}`).join(' ')}`;
    }
  },
};
