/**
 * HotStuff wire messages (canonical RLP) and block header engine data.
 *
 * Header engineData  RLP([1, view, chain, justifyQc]): the block's view, the commit rule of the
 * chain (2 or 3 — honest validators vote only for blocks declaring their own rule, so a certified
 * header states the rule a light client must apply) and the QC of its parent (every block
 * carries the certificate of the block it extends: parentHash == justify.blockHash).
 *
 * Messages (each in a signed envelope; the ed25519 signature covers `signingBytes`):
 *   [1, view, block, [tc]?]                               PROPOSAL   slot (view, 0, 0)
 *   [2, view, blockHash, blsSignature | share]             VOTE       slot (view, 0, 1)
 *   [3, view, highQc, blsSignature, [tc]?]                TIMEOUT    slot (view, 0, 2)
 *   [4, view, highQc, [tc]?, request, [block…]]           SYNC       unslotted: certificates and
 *        blocks that prove themselves (QCs/TCs verify; blocks are accepted only by hash)
 *   [5, [blockHash…]]                                      FETCH      unslotted: "send me these"
 * The proposal's tc (for view − 1) is present when its justify is not for view − 1; the
 * timeout's tc is the one that brought the sender into its view, if any.
 */
import { concatBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import {
  type Block,
  decodeBlock,
  encodeBlock,
  headerHash,
  MAX_ENGINE_DATA_BYTES,
} from '../../ledger/block.ts';
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
import {
  decodeQcItem,
  decodeTcItem,
  encodeQcItem,
  encodeTcItem,
  type QuorumCert,
  type TimeoutCert,
} from './qc.ts';

export const MAX_HOTSTUFF_MESSAGE = 9 * 1024 * 1024;
/** Blocks in one SYNC message, and hashes in one FETCH. */
export const MAX_SYNC_BLOCKS = 16;
export const MAX_FETCH_HASHES = 16;
const ENGINE_DATA_VERSION = 1;

export interface EngineData {
  readonly view: number;
  readonly chain: 2 | 3;
  readonly justify: QuorumCert;
}

export function encodeEngineData(d: EngineData): Uint8Array {
  return rlpEncode([ENGINE_DATA_VERSION, d.view, d.chain, encodeQcItem(d.justify)]);
}

export function decodeEngineData(bytes: Uint8Array): EngineData {
  const f = asList(rlpDecodeStrict(bytes, MAX_ENGINE_DATA_BYTES, 'engineData'), 'engineData', 4);
  if (asSafeUint(f[0], 'engineData.version') !== ENGINE_DATA_VERSION)
    throw new DecodeError('MALFORMED', 'engineData: unknown version');
  const view = asSafeUint(f[1], 'engineData.view');
  const chain = asSafeUint(f[2], 'engineData.chain');
  if (chain !== 2 && chain !== 3) throw new DecodeError('MALFORMED', 'engineData: chain must be 2 or 3');
  const justify = decodeQcItem(f[3], 'engineData.justify');
  if (view === 0 || justify.view >= view)
    throw new DecodeError('MALFORMED', 'engineData: the justify QC must be from an earlier view');
  return { view, chain, justify };
}

export type HsMessage =
  | {
      readonly type: 'proposal';
      readonly view: number;
      readonly block: Block;
      readonly hash: Uint8Array;
      readonly data: EngineData;
      readonly tc: TimeoutCert | undefined;
    }
  | {
      readonly type: 'vote';
      readonly view: number;
      readonly blockHash: Uint8Array;
      readonly signature: Uint8Array;
    }
  | {
      readonly type: 'timeout';
      readonly view: number;
      readonly highQc: QuorumCert;
      readonly signature: Uint8Array;
      readonly tc: TimeoutCert | undefined;
    }
  | {
      readonly type: 'sync';
      readonly view: number;
      readonly highQc: QuorumCert;
      readonly tc: TimeoutCert | undefined;
      readonly request: boolean;
      readonly blocks: readonly Block[];
    }
  | { readonly type: 'fetch'; readonly hashes: readonly Uint8Array[] };

export function proposalMessage(view: number, block: Block, tc?: TimeoutCert, hash?: Uint8Array): HsMessage {
  return {
    type: 'proposal',
    view,
    block,
    hash: hash ?? headerHash(block.header),
    data: decodeEngineData(block.header.engineData),
    tc,
  };
}

function optTc(tc: TimeoutCert | undefined): RlpInput {
  return tc === undefined ? [] : [encodeTcItem(tc)];
}

function readOptTc(item: RlpItem | undefined, what: string): TimeoutCert | undefined {
  const l = asList(item, what);
  if (l.length > 1) throw new DecodeError('MALFORMED', `${what}: at most one TC`);
  return l.length === 0 ? undefined : decodeTcItem(l[0], what);
}

function encodeItem(m: HsMessage): RlpInput {
  switch (m.type) {
    case 'proposal':
      return [1, m.view, encodeBlock(m.block), optTc(m.tc)];
    case 'vote':
      return [2, m.view, m.blockHash, m.signature];
    case 'timeout':
      return [3, m.view, encodeQcItem(m.highQc), m.signature, optTc(m.tc)];
    case 'sync':
      return [4, m.view, encodeQcItem(m.highQc), optTc(m.tc), m.request ? 1 : 0, m.blocks.map(encodeBlock)];
    case 'fetch':
      return [5, [...m.hashes]];
  }
}

const SIGN_DOMAIN = concatBytes(utf8('verity-hotstuff-msg-v1'), new Uint8Array([0]));

export const hotstuffCodec: MessageCodec<HsMessage> = {
  maxBytes: MAX_HOTSTUFF_MESSAGE,
  encode: (m) => rlpEncode(encodeItem(m)),
  decode(bytes) {
    const f = asList(rlpDecodeStrict(bytes, MAX_HOTSTUFF_MESSAGE, 'hotstuff message'), 'hotstuff message');
    const type = asSafeUint(f[0], 'type');
    switch (type) {
      case 1: {
        if (f.length !== 4) break;
        const view = asSafeUint(f[1], 'view');
        const block = decodeBlock(asBytes(f[2], 'block'));
        const data = decodeEngineData(block.header.engineData);
        if (data.view !== view) throw new DecodeError('MALFORMED', 'proposal view differs from its block’s');
        const tc = readOptTc(f[3], 'proposal.tc');
        if (tc !== undefined && tc.view >= view)
          throw new DecodeError('MALFORMED', 'proposal TC must be from an earlier view');
        return { type: 'proposal', view, block, hash: headerHash(block.header), data, tc };
      }
      case 2:
        if (f.length !== 4) break;
        return {
          type: 'vote',
          view: asSafeUint(f[1], 'view'),
          blockHash: asBytes(f[2], 'blockHash', { length: 32 }),
          signature: asBytes(f[3], 'signature', { length: 96 }),
        };
      case 3: {
        if (f.length !== 5) break;
        const view = asSafeUint(f[1], 'view');
        const highQc = decodeQcItem(f[2], 'timeout.highQc');
        if (highQc.view >= view)
          throw new DecodeError('MALFORMED', 'timeout highQc must be from an earlier view');
        return {
          type: 'timeout',
          view,
          highQc,
          signature: asBytes(f[3], 'signature', { length: 96 }),
          tc: readOptTc(f[4], 'timeout.tc'),
        };
      }
      case 4: {
        if (f.length !== 6) break;
        const items = asList(f[5], 'sync.blocks');
        if (items.length > MAX_SYNC_BLOCKS) throw new DecodeError('MALFORMED', 'sync: too many blocks');
        return {
          type: 'sync',
          view: asSafeUint(f[1], 'view'),
          highQc: decodeQcItem(f[2], 'sync.highQc'),
          tc: readOptTc(f[3], 'sync.tc'),
          request: asBool(f[4], 'sync.request'),
          blocks: items.map((b, i) => decodeBlock(asBytes(b, `sync.blocks[${i}]`))),
        };
      }
      case 5: {
        if (f.length !== 2) break;
        const hashes = asList(f[1], 'fetch.hashes');
        if (hashes.length === 0 || hashes.length > MAX_FETCH_HASHES)
          throw new DecodeError('MALFORMED', `fetch: 1..${MAX_FETCH_HASHES} hashes`);
        return {
          type: 'fetch',
          hashes: hashes.map((h, i) => asBytes(h, `fetch.hashes[${i}]`, { length: 32 })),
        };
      }
    }
    throw new DecodeError('MALFORMED', `unknown hotstuff message type ${type} with ${f.length} fields`);
  },
  signingBytes(m, chainId) {
    // Proposals sign the block hash (the header commits to the body), not the body itself.
    const body: RlpInput =
      m.type === 'proposal'
        ? [1, m.view, m.hash, m.tc === undefined ? new Uint8Array(0) : sha256(rlpEncode(encodeTcItem(m.tc)))]
        : m.type === 'sync'
          ? [
              4,
              sha256(
                rlpEncode([
                  m.view,
                  encodeQcItem(m.highQc),
                  optTc(m.tc),
                  m.request ? 1 : 0,
                  m.blocks.map((b) => headerHash(b.header)),
                ]),
              ),
            ]
          : encodeItem(m);
    return concatBytes(SIGN_DOMAIN, rlpEncode([utf8(chainId), body]));
  },
  heightOf(m) {
    return m.type === 'proposal' ? m.block.header.height : undefined;
  },
  slot(m): SignSlot | undefined {
    switch (m.type) {
      case 'proposal':
        return { height: m.view, round: 0, step: 0 };
      case 'vote':
        return { height: m.view, round: 0, step: 1 };
      case 'timeout':
        return { height: m.view, round: 0, step: 2 };
      default:
        return undefined;
    }
  },
  describe(m) {
    switch (m.type) {
      case 'proposal':
        return `proposal(v=${m.view}, h=${m.block.header.height}, ${toHex(m.hash).slice(0, 12)}, justify=${m.data.justify.view}${m.tc ? `, tc=${m.tc.view}` : ''})`;
      case 'vote':
        return `vote(v=${m.view}, ${toHex(m.blockHash).slice(0, 12)})`;
      case 'timeout':
        return `timeout(v=${m.view}, hqc=${m.highQc.view}${m.tc ? `, tc=${m.tc.view}` : ''})`;
      case 'sync':
        return `sync(v=${m.view}, hqc=${m.highQc.view}${m.tc ? `, tc=${m.tc.view}` : ''}${m.request ? ', request' : ''}, ${m.blocks.length} blocks)`;
      case 'fetch':
        return `fetch(${m.hashes.map((h) => toHex(h).slice(0, 12)).join(', ')})`;
    }
  },
};
