/**
 * What a Raft validator keeps in the WAL (consensus/record.ts codec), Figure 2's "persistent state
 * on all servers", written before any message that depends on it leaves:
 *   state          [1, currentTerm, votedFor + 1]          safety: one vote per term (§5.2)
 *   entry/<index>  [1, block]                              safety: an acknowledged entry must
 *                  survive, or a majority that acknowledged it may no longer hold it
 *   head           [1, [[height, hash, term]…], ceiling]  helper: the term of the committed head
 *                  (and of the one below it), which HeadInfo does not carry, and the ceiling of
 *                  the terms this node stored (log.ts, LogBounds) for when it is not known
 * Entries at or below the committed head are forgotten: the chain store holds them.
 */
import { type Block, decodeBlock, encodeBlock } from '../../ledger/block.ts';
import { asBytes, asList, asSafeUint, DecodeError } from '../../ledger/codec.ts';
import type { RecordSchema } from '../record.ts';
import { MAX_RAFT_MESSAGE } from './messages.ts';

export const STATE_KEY = 'state';
export const HEAD_KEY = 'head';
export const ENTRY_PREFIX = 'entry/';

export const entryKey = (index: number) => `${ENTRY_PREFIX}${index}`;

export interface PersistentState {
  readonly term: number;
  readonly votedFor: number | undefined;
}

export const STATE_RECORD: RecordSchema<PersistentState> = {
  name: 'raft state record',
  version: 1,
  maxBytes: 64,
  encode: (s) => [s.term, s.votedFor === undefined ? 0 : s.votedFor + 1],
  decode: (f) => {
    if (f.length !== 2) throw new DecodeError('MALFORMED', `raft state record: ${f.length} fields`);
    const vote = asSafeUint(f[1], 'votedFor');
    return { term: asSafeUint(f[0], 'term'), votedFor: vote === 0 ? undefined : vote - 1 };
  },
};

export const ENTRY_RECORD: RecordSchema<Block> = {
  name: 'raft entry record',
  version: 1,
  maxBytes: MAX_RAFT_MESSAGE,
  encode: (block) => [encodeBlock(block)],
  decode: (f) => {
    if (f.length !== 1) throw new DecodeError('MALFORMED', `raft entry record: ${f.length} fields`);
    return decodeBlock(asBytes(f[0], 'block'));
  },
};

export interface HeadTerm {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly term: number;
}

/** Committed heads whose term is known (the current one and the one before), and log.ts's ceiling. */
export interface HeadRecord {
  readonly heads: readonly HeadTerm[];
  readonly ceiling: number;
}

export const HEAD_RECORD: RecordSchema<HeadRecord> = {
  name: 'raft head record',
  version: 1,
  maxBytes: 1024,
  encode: (r) => [r.heads.map((h) => [h.height, h.hash, h.term]), r.ceiling],
  decode: (f) => {
    if (f.length !== 2) throw new DecodeError('MALFORMED', `raft head record: ${f.length} fields`);
    const heads = asList(f[0], 'heads').map((item) => {
      const t = asList(item, 'head', 3);
      return {
        height: asSafeUint(t[0], 'height'),
        hash: asBytes(t[1], 'hash', { length: 32 }),
        term: asSafeUint(t[2], 'term'),
      };
    });
    if (heads.length > 2) throw new DecodeError('MALFORMED', 'raft head record: more than two heads');
    return { heads, ceiling: asSafeUint(f[1], 'ceiling') };
  },
};
