/**
 * What the Algorand engine keeps in the WAL. Safety across a restart rests on one rule (engine.ts):
 * a validator that left a height — because BinaryBA* returned there, which is when it may have
 * voted FINAL — never votes at that height again. So the position (height, period, step) is
 * persisted before any vote of the step that moved it leaves, with the tentative chain it stands
 * on; the tentative blocks themselves are kept under `block/<height>`. The position also holds the
 * period's own votes and BinaryBA*'s registers, so a restarted node resumes the very step it was
 * in, re-sending the same votes (the double-sign guard would refuse any other) instead of
 * starting the period again or skipping it — either leaves its peers one vote short.
 */
import { asBytes, asList, asSafeUint, DecodeError } from '../../ledger/codec.ts';
import type { RecordSchema } from '../record.ts';

export const POSITION_KEY = 'position';
export const BLOCK_KEY_PREFIX = 'block/';

export interface TentativeEntry {
  readonly height: number;
  readonly period: number;
  readonly hash: Uint8Array;
  /** Whether this node voted FINAL for it (it never stands on another block at that height). */
  readonly finalVoted: boolean;
}

/** Where in a period: 0 proposal wait, 1 REDUCTION_ONE, 2 REDUCTION_TWO, 3 BinaryBA*, 4 waiting for a block. */
export const PHASES = ['propose', 'reduction-1', 'reduction-2', 'binary', 'waiting'] as const;
export type Phase = (typeof PHASES)[number];

export interface Position {
  readonly height: number;
  readonly period: number;
  /** The tentative blocks below `height`, above the committed head when written. */
  readonly tentative: readonly TentativeEntry[];
  readonly phase: Phase;
  /** BinaryBA*'s step b, its input block_hash and its value r (empty bytes: the empty outcome). */
  readonly b: number;
  readonly blockHash: Uint8Array;
  readonly r: Uint8Array;
  /** Whether this node proposed in the period (a rebuilt block would be another one). */
  readonly proposed: boolean;
  /** Own votes of the period: step and value. */
  readonly votes: ReadonlyArray<{ readonly step: number; readonly value: Uint8Array }>;
}

const value = (item: Parameters<typeof asBytes>[0], what: string): Uint8Array => {
  const v = asBytes(item, what);
  if (v.length !== 0 && v.length !== 32)
    throw new DecodeError('MALFORMED', `${what}: a 32-byte hash or empty`);
  return v;
};

export const POSITION_RECORD: RecordSchema<Position> = {
  name: 'algorand position record',
  version: 1,
  maxBytes: 1 << 20,
  encode: (p) => [
    p.height,
    p.period,
    p.tentative.map((t) => [t.height, t.period, t.hash, t.finalVoted ? 1 : 0]),
    PHASES.indexOf(p.phase),
    p.b,
    p.blockHash,
    p.r,
    p.proposed ? 1 : 0,
    p.votes.map((v) => [v.step, v.value]),
  ],
  decode: (f) => {
    if (f.length !== 9) throw new DecodeError('MALFORMED', `algorand position record: ${f.length} fields`);
    const phase = PHASES[asSafeUint(f[3], 'phase')];
    if (phase === undefined) throw new DecodeError('MALFORMED', 'algorand position record: unknown phase');
    return {
      height: asSafeUint(f[0], 'height'),
      period: asSafeUint(f[1], 'period'),
      tentative: asList(f[2], 'tentative').map((item) => {
        const t = asList(item, 'tentative entry', 4);
        return {
          height: asSafeUint(t[0], 'height'),
          period: asSafeUint(t[1], 'period'),
          hash: asBytes(t[2], 'hash', { length: 32 }),
          finalVoted: asSafeUint(t[3], 'finalVoted') === 1,
        };
      }),
      phase,
      b: asSafeUint(f[4], 'b'),
      blockHash: value(f[5], 'blockHash'),
      r: value(f[6], 'r'),
      proposed: asSafeUint(f[7], 'proposed') === 1,
      votes: asList(f[8], 'votes').map((item) => {
        const v = asList(item, 'own vote', 2);
        return { step: asSafeUint(v[0], 'step'), value: value(v[1], 'vote value') };
      }),
    };
  },
};

/**
 * A tentative block with the signed proposal that carried it (`block/<height>`): after a restart
 * the node stands on the block again and can still relay the proposal to a node that needs it
 * (one that adopted the block from its votes but never received it).
 */
export interface TentativeBlockRecord {
  readonly from: number;
  readonly period: number;
  readonly signature: Uint8Array;
  readonly proof: Uint8Array;
  readonly block: Uint8Array;
}

export const TENTATIVE_BLOCK_RECORD: RecordSchema<TentativeBlockRecord> = {
  name: 'algorand tentative block record',
  version: 1,
  maxBytes: 10 * 1024 * 1024,
  encode: (r) => [r.from, r.period, r.signature, r.proof, r.block],
  decode: (f) => {
    if (f.length !== 5)
      throw new DecodeError('MALFORMED', `algorand tentative block record: ${f.length} fields`);
    return {
      from: asSafeUint(f[0], 'from'),
      period: asSafeUint(f[1], 'period'),
      signature: asBytes(f[2], 'signature', { length: 64 }),
      proof: asBytes(f[3], 'proof', { length: 80 }),
      block: asBytes(f[4], 'block'),
    };
  },
};
