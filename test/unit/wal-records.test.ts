import { describe, expect, it } from 'vitest';
import { utf8 } from '../../crypto/bytes.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { CheckedWal, frameRecord, unframeRecord } from '../../src/runtime/wal-records.ts';

const key = utf8('w/engine/state');
const payload = utf8('locked on round 3');

describe('WAL record frames', () => {
  it('round-trip, and fail on any flipped bit, any cut, or another key (a misdirected write)', () => {
    const stored = frameRecord(key, payload);
    expect(unframeRecord(key, stored)).toEqual(payload);
    for (let bit = 0; bit < stored.length * 8; bit++) {
      const flipped = stored.slice();
      flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(unframeRecord(key, flipped), `bit ${bit}`).toBeUndefined();
    }
    for (let n = 0; n < stored.length; n++) expect(unframeRecord(key, stored.subarray(0, n))).toBeUndefined();
    expect(unframeRecord(utf8('w/engine/state-prev'), stored)).toBeUndefined();
    // An empty payload is a valid record too (the batch markers).
    expect(unframeRecord(key, frameRecord(key, new Uint8Array(0)))).toEqual(new Uint8Array(0));
  });

  it('reads skip damaged records and name them; writes are framed', async () => {
    const kv = new MemoryKvStore();
    const wal = new CheckedWal(kv);
    await wal.open();
    await wal.batch([
      { type: 'put', key, value: payload },
      { type: 'put', key: utf8('w/guard/\x00\x01'), value: utf8('sig') },
    ]);
    expect(kv.getSync(key)).toEqual(frameRecord(key, payload));
    expect(await wal.get(key)).toEqual(payload);
    kv.batchSync([{ type: 'put', key: utf8('w/guard/\x00\x01'), value: frameRecord(key, utf8('sig')) }]);
    const seen: string[] = [];
    for await (const [k] of wal.iterate(utf8('w/'))) seen.push(Buffer.from(k).toString('latin1'));
    expect(seen).toEqual(['w/engine/state', 'w/meta/format']);
    expect(wal.damaged()).toEqual(['w/guard/0x0001']);
    await wal.dropDamaged();
    expect(kv.getSync(utf8('w/guard/\x00\x01'))).toBeUndefined();
  });

  it('frames a WAL written before frames, once, keeping every record', async () => {
    const kv = new MemoryKvStore();
    kv.batchSync([
      { type: 'put', key, value: payload },
      { type: 'put', key: utf8('w/seqs/\x00\x00\x00\x00\x00\x00\x00\x01'), value: new Uint8Array(0) },
      { type: 'put', key: utf8('other/untouched'), value: utf8('x') },
    ]);
    const wal = new CheckedWal(kv);
    expect(await wal.open()).toEqual({ migrated: 2 });
    expect(await wal.get(key)).toEqual(payload);
    expect(wal.damaged()).toEqual([]);
    expect(kv.getSync(utf8('other/untouched'))).toEqual(utf8('x'));
    // A second open (a restart) finds the mark and leaves the records alone.
    expect(await new CheckedWal(kv).open()).toEqual({ migrated: 0 });
    expect(await new CheckedWal(kv).get(key)).toEqual(payload);
  });

  it('a damaged format mark is reported and written back, never taken for a WAL from before frames', async () => {
    const kv = new MemoryKvStore();
    const first = new CheckedWal(kv);
    await first.open();
    await first.batch([{ type: 'put', key, value: payload }]);
    kv.batchSync([{ type: 'put', key: utf8('w/meta/format'), value: new Uint8Array([1, 2, 3]) }]);
    const wal = new CheckedWal(kv);
    expect(await wal.open()).toEqual({ migrated: 0 });
    expect(wal.damaged()).toEqual(['w/meta/format']);
    await wal.dropDamaged();
    // Still framed: the record reads back once, not framed twice on the next open.
    const again = new CheckedWal(kv);
    expect(await again.open()).toEqual({ migrated: 0 });
    expect(await again.get(key)).toEqual(payload);
    expect(again.damaged()).toEqual([]);
  });
});
