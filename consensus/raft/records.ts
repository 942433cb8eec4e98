/**
 * What a Raft validator keeps in the WAL (consensus/record.ts codec), Figure 2's "persistent state
 * on all servers", written before any message that depends on it leaves:
 *   state          [1, currentTerm, votedFor + 1]          safety: one vote per term (§5.2);
 *   state/copy     the same, written in the same batch     one damaged record (a storage fault the
 *                                                          runtime detects and drops) cannot lose
 *                                                          the term and the vote
 *   entry/<index>  [1, block]                              safety: an acknowledged entry must
 *                  survive, or a majority that acknowledged it may no longer hold it
 * Entries at or below the committed head are forgotten: the chain store holds them.
 */
import { type Block, decodeBlock, encodeBlock } from '../../ledger/block.ts';
import { asBytes, asSafeUint, DecodeError } from '../../ledger/codec.ts';
import type { RecordSchema } from '../record.ts';
import { MAX_RAFT_MESSAGE } from './messages.ts';

export const STATE_KEY = 'state';
/** Both keys the state record is written under (see the header). */
export const STATE_KEYS = [STATE_KEY, 'state/copy'] as const;
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
