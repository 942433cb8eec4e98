/**
 * Tendermint wire messages (canonical RLP) and what each validator signs:
 *   [1, height, round, validRound + 1, block]   PROPOSAL  signs "verity-tm-proposal-v1" ‖ [chain, h, r, vr+1, hash(block)]
 *   [2, height, round, id]                      PREVOTE   signs "verity-tm-prevote-v1"  ‖ [chain, h, r, id]
 *   [3, height, round, id]                      PRECOMMIT signs the ledger's commit vote (chain, h, r, id)
 * `id` is a block hash, or empty for nil. A precommit's signature is therefore directly a vote in
 * the ed25519-quorum commit certificate.
 */
import { concatBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import { type Block, decodeBlock, encodeBlock, headerHash } from '../../ledger/block.ts';
import { commitVoteBytes } from '../../ledger/certificate.ts';
import { asBytes, asList, asSafeUint, DecodeError, rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';
import type { MessageCodec, SignSlot } from '../types.ts';

export const MAX_TENDERMINT_MESSAGE = 9 * 1024 * 1024;

export type TmMessage =
  | {
      readonly type: 'proposal';
      readonly height: number;
      readonly round: number;
      readonly validRound: number;
      readonly block: Block;
      readonly hash: Uint8Array;
    }
  | { readonly type: 'prevote'; readonly height: number; readonly round: number; readonly id: Uint8Array }
  | { readonly type: 'precommit'; readonly height: number; readonly round: number; readonly id: Uint8Array };

const PROPOSAL_DOMAIN = concatBytes(utf8('verity-tm-proposal-v1'), new Uint8Array([0]));
const PREVOTE_DOMAIN = concatBytes(utf8('verity-tm-prevote-v1'), new Uint8Array([0]));

export function proposal(
  height: number,
  round: number,
  validRound: number,
  block: Block,
  hash?: Uint8Array,
): TmMessage {
  return { type: 'proposal', height, round, validRound, block, hash: hash ?? headerHash(block.header) };
}

export const tendermintCodec: MessageCodec<TmMessage> = {
  maxBytes: MAX_TENDERMINT_MESSAGE,
  encode(m) {
    switch (m.type) {
      case 'proposal':
        return rlpEncode([1, m.height, m.round, m.validRound + 1, encodeBlock(m.block)]);
      case 'prevote':
        return rlpEncode([2, m.height, m.round, m.id]);
      case 'precommit':
        return rlpEncode([3, m.height, m.round, m.id]);
    }
  },
  decode(bytes) {
    const f = asList(
      rlpDecodeStrict(bytes, MAX_TENDERMINT_MESSAGE, 'tendermint message'),
      'tendermint message',
    );
    const type = asSafeUint(f[0], 'type');
    const height = asSafeUint(f[1], 'height');
    const round = asSafeUint(f[2], 'round');
    if (type === 1 && f.length === 5) {
      const block = decodeBlock(asBytes(f[4], 'block'));
      if (block.header.height !== height)
        throw new DecodeError('MALFORMED', 'proposal block height differs from the proposal');
      return {
        type: 'proposal',
        height,
        round,
        validRound: asSafeUint(f[3], 'validRound') - 1,
        block,
        hash: headerHash(block.header),
      };
    }
    if ((type === 2 || type === 3) && f.length === 4) {
      const id = asBytes(f[3], 'id');
      if (id.length !== 0 && id.length !== 32)
        throw new DecodeError('MALFORMED', 'vote id must be a 32-byte hash or empty');
      return { type: type === 2 ? 'prevote' : 'precommit', height, round, id };
    }
    throw new DecodeError('MALFORMED', `unknown tendermint message type ${type}`);
  },
  signingBytes(m, chainId) {
    switch (m.type) {
      case 'proposal':
        return concatBytes(
          PROPOSAL_DOMAIN,
          rlpEncode([utf8(chainId), m.height, m.round, m.validRound + 1, m.hash]),
        );
      case 'prevote':
        return concatBytes(PREVOTE_DOMAIN, rlpEncode([utf8(chainId), m.height, m.round, m.id]));
      case 'precommit':
        return commitVoteBytes(chainId, m.height, m.round, m.id);
    }
  },
  heightOf(m) {
    return m.height;
  },
  slot(m): SignSlot {
    return {
      height: m.height,
      round: m.round,
      step: m.type === 'proposal' ? 0 : m.type === 'prevote' ? 1 : 2,
    };
  },
  describe(m) {
    const id = m.type === 'proposal' ? toHex(m.hash) : m.id.length === 0 ? 'nil' : toHex(m.id);
    return `${m.type}(h=${m.height}, r=${m.round}${m.type === 'proposal' ? `, vr=${m.validRound}` : ''}, ${id.slice(0, 12)})`;
  },
};
