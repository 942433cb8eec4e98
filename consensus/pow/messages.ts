/**
 * Proof-of-Work wire messages (canonical RLP). Nothing here is a vote: a block proves itself by its
 * hash, so no message has a double-sign slot (mining two blocks at one height is how the protocol
 * works, not an offence). The envelope signature still names the sender, whom a node asks for
 * the parents it lacks and scores for junk.
 *
 *   [1, block]                  BLOCK  a mined block (broadcast by its miner, relayed once by every
 *                                      node that accepted its proof of work), or an answer to GET.
 *   [2, hash]                   GET    "send me block `hash`": a block whose parent a node lacks.
 *   [3, hash, height, chainWork] TIP   a node's best tip, announced every `announceMs`: a node with
 *                                      less work asks for it (and walks back through GET).
 */
import { concatBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import {
  type Block,
  DEFAULT_MAX_BLOCK_BYTES,
  decodeBlock,
  encodeBlock,
  headerHash,
} from '../../ledger/block.ts';
import {
  asBytes,
  asList,
  asSafeUint,
  asUint,
  DecodeError,
  rlpDecodeStrict,
  rlpEncode,
} from '../../ledger/codec.ts';
import type { MessageCodec } from '../types.ts';

export const MAX_POW_MESSAGE = DEFAULT_MAX_BLOCK_BYTES + 1024;

export type PowMessage =
  | { readonly type: 'block'; readonly block: Block }
  | { readonly type: 'get'; readonly hash: Uint8Array }
  | { readonly type: 'tip'; readonly hash: Uint8Array; readonly height: number; readonly chainWork: bigint };

const DOMAIN = utf8('verity-pow-v1');

export const powCodec: MessageCodec<PowMessage> = {
  maxBytes: MAX_POW_MESSAGE,
  encode(m) {
    switch (m.type) {
      case 'block':
        return rlpEncode([1, encodeBlock(m.block)]);
      case 'get':
        return rlpEncode([2, m.hash]);
      case 'tip':
        return rlpEncode([3, m.hash, m.height, m.chainWork]);
    }
  },
  decode(bytes) {
    const f = asList(rlpDecodeStrict(bytes, MAX_POW_MESSAGE, 'pow message'), 'pow message');
    const type = asSafeUint(f[0], 'type');
    if (type === 1 && f.length === 2)
      return { type: 'block', block: decodeBlock(asBytes(f[1], 'block', { max: DEFAULT_MAX_BLOCK_BYTES })) };
    if (type === 2 && f.length === 2) return { type: 'get', hash: asBytes(f[1], 'hash', { length: 32 }) };
    if (type === 3 && f.length === 4)
      return {
        type: 'tip',
        hash: asBytes(f[1], 'hash', { length: 32 }),
        height: asSafeUint(f[2], 'height'),
        chainWork: asUint(f[3], 'chainWork', 32),
      };
    throw new DecodeError('MALFORMED', `pow message: unknown type ${type} or wrong field count`);
  },
  signingBytes(m, chainId) {
    return concatBytes(DOMAIN, rlpEncode([utf8(chainId), powCodec.encode(m)]));
  },
  slot: () => undefined,
  describe(m) {
    switch (m.type) {
      case 'block':
        return `BLOCK h=${m.block.header.height} ${toHex(headerHash(m.block.header)).slice(0, 12)}`;
      case 'get':
        return `GET ${toHex(m.hash).slice(0, 12)}`;
      case 'tip':
        return `TIP h=${m.height} ${toHex(m.hash).slice(0, 12)} work=${m.chainWork}`;
    }
  },
};
