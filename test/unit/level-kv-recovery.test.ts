/**
 * LevelDB drops a log record that fails its CRC when it replays the log on open, and says so only
 * in its info log. LevelKvStore reads that back (`droppedOnOpen`), and the consensus WAL counts it
 * as lost records: a flipped tail that held no signing batch used to pass unnoticed beside an
 * intact sign fence (the wal-loss e2e test's flaky case).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SignSlot } from '../../consensus/types.ts';
import { utf8 } from '../../crypto/bytes.ts';
import { MemorySignFence } from '../../src/runtime/sign-fence.ts';
import { SigningGuard } from '../../src/runtime/signing-guard.ts';
import { CheckedWal } from '../../src/runtime/wal-records.ts';
import { LevelKvStore, recoveryDrops } from '../../src/storage/level-kv.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function freshPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'verity-level-recovery-'));
  dirs.push(dir);
  return join(dir, 'db');
}

/** Flips the last `n` bytes of every non-empty LevelDB log in `path` (what the e2e test does). */
function flipLogTail(path: string, n = 64): number {
  let flipped = 0;
  for (const f of readdirSync(path).filter((x) => x.endsWith('.log'))) {
    const b = readFileSync(join(path, f));
    if (b.length === 0) continue;
    for (let i = Math.max(0, b.length - n); i < b.length; i++) b[i] = (b[i] as number) ^ 0x5a;
    writeFileSync(join(path, f), b);
    flipped++;
  }
  return flipped;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const SLOT: SignSlot = { height: 1, round: 0, step: 1 };
const HASH = new Uint8Array(32).fill(1);
const OTHER = new Uint8Array(32).fill(2);

describe('recoveryDrops: what LevelDB says it dropped', () => {
  it('reads each "dropping N bytes" line of the info log, and nothing else', () => {
    const log = [
      '2026/12/05-17:27:09.788650 7fea4ffff6c0 Recovering log #3',
      '2026/12/05-17:27:09.788693 7fea4ffff6c0 (ignoring error) /tmp/x y/node3/data/wal/000003.log: dropping 142 bytes; Corruption: checksum mismatch',
      '2026/12/05-17:27:09.788695 7fea4ffff6c0 Level-0 table #5: started',
      '2026/12/05-17:27:09.788700 7fea4ffff6c0 /d/000007.log: dropping 32768 bytes; Corruption: bad record length',
      '2026/12/05-17:27:09.789939 7fea4ffff6c0 Delete type=0 #3',
      '2026/12/05-17:27:09.789950 7fea4ffff6c0 Ignoring error Corruption: WriteBatch has wrong count',
    ].join('\n');
    expect(recoveryDrops(log)).toEqual([
      { file: '000003.log', bytes: 142, reason: 'Corruption: checksum mismatch' },
      { file: '000007.log', bytes: 32768, reason: 'Corruption: bad record length' },
      { file: '', bytes: 0, reason: 'Corruption: WriteBatch has wrong count' },
    ]);
    expect(recoveryDrops('')).toEqual([]);
    expect(recoveryDrops(log.split('\n')[0] as string)).toEqual([]);
  });
});

describe('LevelKvStore.droppedOnOpen', () => {
  it('a clean reopen drops nothing; a flipped log tail is reported, and the write in it is gone', async () => {
    const path = await freshPath();
    let store = await LevelKvStore.open(path);
    expect(store.droppedOnOpen()).toEqual([]);
    for (let i = 0; i < 5; i++)
      await store.batch([{ type: 'put', key: utf8(`k${i}`), value: utf8(`v${i}`) }]);
    await store.close();
    store = await LevelKvStore.open(path); // control: the same log replayed intact
    expect(store.droppedOnOpen()).toEqual([]);
    // (Longer than the flipped span: a record whose own header is flipped at the end of the log
    // reads as a write torn by a crash, which LevelDB drops without a word, rightly.)
    await store.batch([{ type: 'put', key: utf8('last'), value: new Uint8Array(200).fill(7) }]);
    await store.close();
    expect(flipLogTail(path)).toBeGreaterThan(0);
    store = await LevelKvStore.open(path);
    try {
      const drops = store.droppedOnOpen();
      expect(drops.length).toBeGreaterThan(0);
      expect(drops[0]?.file).toMatch(/^\d+\.log$/);
      expect(drops[0]?.bytes).toBeGreaterThan(0);
      expect(drops[0]?.reason).toMatch(/^Corruption: /);
      // LevelDB went on without the record: the silent loss this reports.
      expect(await store.get(utf8('last'))).toBeUndefined();
      expect(await store.get(utf8('k0'))).toEqual(utf8('v0'));
    } finally {
      await store.close();
    }
    // LevelDB wrote the recovered log out to a table and has nothing more to say; the report is
    // kept until acknowledged (a start that failed in between must not lose it), then gone.
    store = await LevelKvStore.open(path);
    expect(store.droppedOnOpen()).toHaveLength(1);
    await store.acknowledgeDrops();
    expect(store.droppedOnOpen()).toEqual([]);
    await store.close();
    store = await LevelKvStore.open(path);
    expect(store.droppedOnOpen()).toEqual([]);
    await store.close();
  });
});

describe('the signing guard over LevelDB: a WAL tail that held no signing batch', () => {
  /** A validator that signed once, then wrote a batch with no signing in it (a guard prune, say). */
  async function signedThenBookkeeping(path: string): Promise<MemorySignFence> {
    const fence = new MemorySignFence();
    const kv = await LevelKvStore.open(path);
    const wal = new CheckedWal(kv);
    await wal.open();
    const g = new SigningGuard({ wal, fence, logger: quiet });
    await g.load(0);
    expect(g.verdict(SLOT, HASH)).toEqual({ kind: 'sign' });
    g.record(SLOT, HASH, new Uint8Array([9]));
    await g.flush([], 0);
    await g.flush([{ type: 'put', key: utf8('w/e/0/note'), value: new Uint8Array(80).fill(3) }], 0);
    await kv.close();
    return fence;
  }

  async function reopened(path: string, fence: MemorySignFence) {
    const kv = await LevelKvStore.open(path);
    const wal = new CheckedWal(kv);
    await wal.open();
    const g = new SigningGuard({ wal, fence, logger: quiet });
    await g.load(0);
    return { g, wal, kv };
  }

  it('intact: nothing lost (the control)', async () => {
    const path = await freshPath();
    const fence = await signedThenBookkeeping(path);
    const { g, kv } = await reopened(path, fence);
    expect(g.loss).toBeUndefined();
    expect(g.verdict(SLOT, OTHER)).toEqual({ kind: 'resend', envelope: new Uint8Array([9]) });
    await kv.close();
  });

  it('its tail flipped: the fence still matches the WAL, but the drop is a loss and the slot is refused', async () => {
    const path = await freshPath();
    const fence = await signedThenBookkeeping(path);
    flipLogTail(path);
    // A start that failed before its signing guard loaded (a port in use, say): the report stays.
    await (await LevelKvStore.open(path)).close();
    const { g, wal, kv } = await reopened(path, fence);
    try {
      expect(wal.damaged()).toEqual([
        expect.stringMatching(/^LevelDB log \d+\.log: \d+ bytes dropped \(Corruption: /),
      ]);
      expect(g.loss?.damagedRecords).toEqual(wal.damaged());
      expect(g.refusing()).toEqual({ upToHeight: 1, upToViewRound: 0 });
    } finally {
      await kv.close();
    }
    // The guard's recovery acknowledged it; the bound it wrote keeps refusing without it.
    const again = await reopened(path, fence);
    try {
      expect(again.wal.damaged()).toEqual([]);
      expect(again.g.refusing()).toEqual({ upToHeight: 1, upToViewRound: 0 });
    } finally {
      await again.kv.close();
    }
  });
});
