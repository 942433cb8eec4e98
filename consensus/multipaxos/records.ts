/**
 * What a Multi-Paxos validator keeps in the WAL (consensus/record.ts codec), written before any
 * message that depends on it leaves (the runtime's persist-before-send rule):
 *   state, state/copy  [1, round, node, committed, reach, lost]
 *                    safety: the promised ballot — no promise or acceptance below it, ever —; the
 *                    highest height this node ever committed, which outlives a chain store that
 *                    lost its last (unsynced) write; the highest slot it ever accepted (`reach`),
 *                    by which a start notices an accepted record that is gone; and the highest slot
 *                    whose accepted record the WAL may have lost (`lost`, 0 if none). An acceptor
 *                    refuses to promise to a candidate that could ask it about a slot whose record
 *                    it forgot or lost (engine.ts, rule P). Written twice, always together (one WAL
 *                    batch): the runtime drops a damaged record (src/runtime/wal-records.ts), and a
 *                    promise that no record keeps could be broken — the sign fence guards
 *                    ACCEPTED, never a promise.
 *   accepted/<slot>  [1, round, node, block]       safety: what this acceptor accepted for the slot
 *                    and in which ballot — a later leader's Phase 1 must learn it, or a block a
 *                    Phase-2 quorum accepted could be replaced
 * Records below the committed head are forgotten (the chain store holds what they were for); the
 * head's own record stays until the next commit, so a node whose chain loses that write comes
 * back still holding the block it accepted there. Every slot in (committed, reach] therefore has
 * its record: a start that finds one missing, or accepted records with no state copy, recovers
 * conservatively (engine.ts #onStart).
 */
import { type Block, decodeBlock, encodeBlock } from '../../ledger/block.ts';
import { asBytes, asSafeUint, DecodeError } from '../../ledger/codec.ts';
import type { RecordSchema } from '../record.ts';
import { type Ballot, decodeBallot } from './ballot.ts';
import { MAX_MULTIPAXOS_MESSAGE } from './messages.ts';

export const STATE_KEY = 'state';
/** The second copy of the state record (written with the first, in the same batch). */
export const STATE_COPY_KEY = 'state/copy';
export const ACCEPTED_PREFIX = 'accepted/';

export const acceptedKey = (slot: number) => `${ACCEPTED_PREFIX}${slot}`;

export interface AcceptorState {
  readonly promised: Ballot;
  /** The highest height this node ever committed. */
  readonly committed: number;
  /** The highest slot this node ever accepted a block for (0: none). */
  readonly reach: number;
  /** The highest slot whose accepted record may have been lost from the WAL (0: none). */
  readonly lost: number;
}

export const STATE_RECORD: RecordSchema<AcceptorState> = {
  name: 'multipaxos state record',
  version: 1,
  maxBytes: 64,
  encode: (s) => [s.promised.round, s.promised.node, s.committed, s.reach, s.lost],
  decode: (f) => {
    if (f.length !== 5) throw new DecodeError('MALFORMED', `multipaxos state record: ${f.length} fields`);
    return {
      promised: decodeBallot(f[0], f[1], 'promised', { none: true }),
      committed: asSafeUint(f[2], 'committed'),
      reach: asSafeUint(f[3], 'reach'),
      lost: asSafeUint(f[4], 'lost'),
    };
  },
};

export interface AcceptedRecord {
  readonly ballot: Ballot;
  readonly block: Block;
}

export const ACCEPTED_RECORD: RecordSchema<AcceptedRecord> = {
  name: 'multipaxos accepted record',
  version: 1,
  maxBytes: MAX_MULTIPAXOS_MESSAGE,
  encode: (r) => [r.ballot.round, r.ballot.node, encodeBlock(r.block)],
  decode: (f) => {
    if (f.length !== 3) throw new DecodeError('MALFORMED', `multipaxos accepted record: ${f.length} fields`);
    return { ballot: decodeBallot(f[0], f[1], 'ballot'), block: decodeBlock(asBytes(f[2], 'block')) };
  },
};
