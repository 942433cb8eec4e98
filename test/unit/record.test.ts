/**
 * The engines' WAL record codec (consensus/record.ts), and what each engine does with a safety
 * record it cannot read: it refuses to start (the runtime halts with the reason) rather than
 * resume without its lock.
 */
import { describe, expect, it } from 'vitest';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import { pbft } from '../../consensus/pbft/index.ts';
import { decodeRecord, encodeRecord, type RecordSchema, readRecord } from '../../consensus/record.ts';
import { SeededRng } from '../../consensus/rng.ts';
import { tendermint } from '../../consensus/tendermint/index.ts';
import type { EngineModule, HeadInfo } from '../../consensus/types.ts';
import { utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import { asBytes, asSafeUint, DecodeError, rlpEncode } from '../../ledger/codec.ts';
import { EngineCluster } from '../helpers/engine-cluster.ts';

interface Lock {
  round: number;
  value: Uint8Array;
}

const LOCK: RecordSchema<Lock> = {
  name: 'test lock record',
  version: 2,
  alsoReads: [1],
  maxBytes: 256,
  encode: (l) => [l.round, l.value],
  decode: (f, version) => ({
    // Version 1 stored the round + 1.
    round: asSafeUint(f[0], 'round') - (version === 1 ? 1 : 0),
    value: asBytes(f[1], 'value'),
  }),
};

describe('engine WAL records', () => {
  it('round-trip as [version, ...fields], and read the older versions they name', () => {
    const lock = { round: 3, value: utf8('block') };
    const bytes = encodeRecord(LOCK, lock);
    expect(bytes).toEqual(rlpEncode([2, 3, utf8('block')]));
    expect(decodeRecord(LOCK, bytes)).toEqual(lock);
    expect(decodeRecord(LOCK, rlpEncode([1, 4, utf8('block')]))).toEqual(lock);
  });

  it('refuse unknown versions, oversized or malformed bytes with a DecodeError', () => {
    const bad = [
      rlpEncode([3, 3, utf8('block')]), // a version this code does not read (a downgrade)
      rlpEncode([]),
      rlpEncode(utf8('not a list')),
      rlpEncode([2, 3, new Uint8Array(300)]), // over the cap
      new Uint8Array([0xc3, 0x02]), // truncated
    ];
    for (const bytes of bad) expect(() => decodeRecord(LOCK, bytes)).toThrow(DecodeError);
    expect(readRecord(LOCK, rlpEncode([3, 3, utf8('x')]))).toEqual({
      error: 'test lock record: version 3 is not one this code reads',
    });
    expect(readRecord(LOCK, undefined)).toBeUndefined();
  });

  const validators = new EngineCluster({ engine: tendermint, n: 4 }).validators;
  const head: HeadInfo = {
    height: 0,
    hash: sha256(utf8('genesis')),
    time: { ms: 0, logical: 0 },
    history: [],
    engineData: new Uint8Array(0),
  };
  const create = (engine: EngineModule<unknown>) =>
    engine.create({
      chainId: 'records',
      validators,
      self: 0,
      params: {},
      rng: new SeededRng('records'),
      signer: { blsSign: () => new Uint8Array(96) },
    });
  for (const engine of [tendermint, hotstuff, pbft] as EngineModule<unknown>[]) {
    it(`${engine.name}: an unreadable safety record stops its start (the runtime halts), it does not resume unlocked`, () => {
      const e = create(engine);
      // A record from a future version of the engine (a node downgraded in place).
      const recovered = new Map([['state', rlpEncode([99, 1, 2, 3])]]);
      expect(() => e.step({ kind: 'start', head, recovered })).toThrow(
        /version 99 is not one this code reads/,
      );
      // And its own records read back (negative control: the throw is about the record).
      const fresh = create(engine);
      // Fire its timers until it has written its safety record (a timed-out view or round).
      let outs = fresh.step({ kind: 'start', head, recovered: new Map() });
      const saved = new Map<string, Uint8Array>();
      for (let i = 0; i < 10 && !saved.has('state'); i++) {
        const next: typeof outs = [];
        for (const o of outs) {
          if (o.kind === 'persist') saved.set(o.key, o.record);
          if (o.kind === 'set-timer')
            next.push(
              ...fresh.step({ kind: 'timeout', timer: o.timer, ...(o.token ? { token: o.token } : {}) }),
            );
        }
        outs = next;
      }
      const again = create(engine);
      expect([...saved.keys()]).toContain('state');
      expect(() => again.step({ kind: 'start', head, recovered: saved })).not.toThrow();
    });
  }
});
