/**
 * The double-sign guard against its sign fence (src/runtime/signing-guard.ts): a WAL that lost
 * what was signed makes the guard refuse those slots, and so does a WAL one batch behind the fence
 * (a crash that landed the fence alone looks the same); a WAL ahead of the fence lost nothing.
 */
import { describe, expect, it } from 'vitest';
import type { SignSlot } from '../../consensus/types.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { advanceFence, decodeFence, encodeFence, MemorySignFence } from '../../src/runtime/sign-fence.ts';
import { markWalReset, SigningGuard } from '../../src/runtime/signing-guard.ts';
import { CheckedWal } from '../../src/runtime/wal-records.ts';
import { JournaledKvStore } from '../../src/sim/storage-faults.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const SLOT: SignSlot = { height: 1, round: 0, step: 1 };
const HASH = new Uint8Array(32).fill(1);
const OTHER = new Uint8Array(32).fill(2);

async function guardOn(kv: MemoryKvStore, fence: MemorySignFence): Promise<SigningGuard> {
  const wal = new CheckedWal(kv);
  await wal.open();
  const g = new SigningGuard({ wal, fence, logger: quiet });
  await g.load(0);
  return g;
}

/** A validator that signed one message (one signing batch), then stopped. */
async function signedOnce(): Promise<{ kv: MemoryKvStore; fence: MemorySignFence }> {
  const kv = new MemoryKvStore();
  const fence = new MemorySignFence();
  const g = await guardOn(kv, fence);
  expect(g.verdict(SLOT, HASH)).toEqual({ kind: 'sign' });
  g.record(SLOT, HASH, new Uint8Array([9]));
  await g.flush([], 0);
  return { kv, fence };
}

describe('the signing guard after a restart', () => {
  it('an intact WAL: the same message again is the same; another one re-sends the first', async () => {
    const { kv, fence } = await signedOnce();
    const g = await guardOn(kv, fence);
    expect(g.verdict(SLOT, HASH)).toEqual({ kind: 'same' });
    expect(g.verdict(SLOT, OTHER)).toEqual({ kind: 'resend', envelope: new Uint8Array([9]) });
    expect(g.loss).toBeUndefined();
  });

  it('a WAL deleted after one signing batch: the fence makes it refuse the slot (it used to sign again)', async () => {
    const { fence } = await signedOnce();
    const g = await guardOn(new MemoryKvStore(), fence);
    expect(g.verdict(SLOT, OTHER)).toEqual({ kind: 'refuse', reason: 'fence' });
    expect(g.loss).toEqual({ gap: true, damagedRecords: [] });
    expect(g.refusing()).toEqual({ upToHeight: 1, upToViewRound: 0 });
  });

  it('a WAL that silently lost its last signing batch after both writes landed (a torn tail LevelDB drops whole): refuses the slot', async () => {
    // The nemesis's torn-WAL fault: kill -9, the end of the WAL's LevelDB log flipped. LevelDB
    // drops a record that fails its own checksum, so no record of ours is seen damaged: the last
    // batch is simply gone, and the message it guarded was sent.
    const kv = new MemoryKvStore();
    const fence = new MemorySignFence();
    const g = await guardOn(kv, fence);
    g.record(SLOT, HASH, new Uint8Array([9]));
    const before = new Set(kv.entriesSync(new Uint8Array(0)).map(([k]) => Buffer.from(k).toString('hex')));
    await g.flush([], 0);
    const added = kv
      .entriesSync(new Uint8Array(0))
      .filter(([k]) => !before.has(Buffer.from(k).toString('hex')));
    expect(added.length).toBeGreaterThan(0);
    await kv.batch(added.map(([key]) => ({ type: 'del' as const, key })));
    const after = await guardOn(kv, fence);
    expect(after.verdict(SLOT, OTHER)).toEqual({ kind: 'refuse', reason: 'fence' });
    expect(after.loss).toEqual({ gap: true, damagedRecords: [] });
  });

  it('a crash after the fence write but before the WAL batch: the same state as a lost tail, so it refuses too', async () => {
    // Nothing of the batch was sent here, but nothing on disk tells this from the test above.
    const kv = new MemoryKvStore();
    const fence = new MemorySignFence();
    await guardOn(kv, fence); // the first start opened the WAL (its mark), signed nothing yet
    const lost = await signedOnce(); // the same signing, of which only the fence landed:
    await fence.write((await lost.fence.load()).fence as never);
    const g = await guardOn(kv, fence);
    expect(g.loss).toEqual({ gap: true, damagedRecords: [] });
    expect(g.verdict(SLOT, OTHER)).toEqual({ kind: 'refuse', reason: 'fence' });
  });

  it('a crash after the WAL batch but before the fence write: the WAL holds the batch, nothing lost', async () => {
    const { kv, fence } = await signedOnce();
    const first = (await fence.load()).fence;
    const g = await guardOn(kv, fence);
    const next: SignSlot = { height: 2, round: 0, step: 1 };
    g.record(next, HASH, new Uint8Array([10]));
    await g.flush([], 1);
    const stale = new MemorySignFence(); // the second fence write never landed
    await stale.write(first as never);
    const after = await guardOn(kv, stale);
    expect(after.loss).toBeUndefined();
    expect(after.verdict(next, OTHER)).toEqual({ kind: 'resend', envelope: new Uint8Array([10]) });
  });
});

describe('the signing guard after a recovered loss', () => {
  /** A validator whose WAL lost its only signing batch (a torn tail), restarted once: recovered. */
  async function recovered(): Promise<{ kv: JournaledKvStore; fence: MemorySignFence }> {
    const kv = new JournaledKvStore();
    const fence = new MemorySignFence();
    const g = await guardOn(kv, fence);
    g.record(SLOT, HASH, new Uint8Array([9]));
    await g.flush([], 0);
    expect(kv.dropTail()).toBe(1);
    const r = await guardOn(kv, fence);
    expect(r.loss?.gap).toBe(true);
    return { kv, fence };
  }

  it('a restart after it signed past the loss finds nothing lost (the markers restart from the fence without a gap)', async () => {
    const { kv, fence } = await recovered();
    const g = await guardOn(kv, fence);
    const next: SignSlot = { height: 2, round: 0, step: 1 };
    expect(g.verdict(next, HASH)).toEqual({ kind: 'sign' });
    g.record(next, HASH, new Uint8Array([10]));
    await g.flush([], 1);
    const after = await guardOn(kv, fence);
    expect(after.loss).toBeUndefined();
    expect(after.verdict(next, OTHER)).toEqual({ kind: 'resend', envelope: new Uint8Array([10]) });
  });

  it('the recovery itself lost in a later torn tail: the slot is still refused', async () => {
    // The recovery's batch (the bound, the markers restarted) is counted by the fence like a
    // signing batch, so losing it is a loss again, not a WAL that looks whole.
    const { kv, fence } = await recovered();
    expect(kv.dropTail()).toBe(1);
    const g = await guardOn(kv, fence);
    expect(g.loss?.gap).toBe(true);
    expect(g.verdict(SLOT, OTHER)).toEqual({ kind: 'refuse', reason: 'fence' });
  });
});

describe('the signing guard: Casper FFG votes (no double vote, no surround vote)', () => {
  // Slots and links in slot units, as Proof of Stake's codec gives them: epochs of 4 slots.
  const vote = (source: number, target: number) => ({
    slot: { height: target, round: 0, step: 2 } as SignSlot,
    link: { source, target },
    hash: new Uint8Array([source, target, ...new Uint8Array(30)]),
  });
  const sign = (g: SigningGuard, v: ReturnType<typeof vote>) => {
    const verdict = g.verdict(v.slot, v.hash, 0, v.link);
    if (verdict.kind === 'sign') g.record(v.slot, v.hash, new Uint8Array([v.link.target]), 0, v.link);
    return verdict;
  };

  it('refuses a vote surrounding one it signed, and one surrounded by it', async () => {
    const g = await guardOn(new MemoryKvStore(), new MemorySignFence());
    expect(sign(g, vote(4, 8))).toEqual({ kind: 'sign' });
    expect(sign(g, vote(0, 12))).toEqual({ kind: 'refuse', reason: 'ffg' }); // 0 < 4 < 8 < 12
    expect(sign(g, vote(8, 12))).toEqual({ kind: 'sign' });
    const h = await guardOn(new MemoryKvStore(), new MemorySignFence());
    expect(sign(h, vote(0, 12))).toEqual({ kind: 'sign' });
    expect(sign(h, vote(4, 8))).toEqual({ kind: 'refuse', reason: 'ffg' }); // surrounded by 0 → 12
    expect(sign(h, vote(4, 16))).toEqual({ kind: 'sign' });
  });

  it('one target, one vote: the same vote again is the same; another for the target re-sends the first', async () => {
    const g = await guardOn(new MemoryKvStore(), new MemorySignFence());
    sign(g, vote(0, 8));
    expect(g.verdict(vote(0, 8).slot, vote(0, 8).hash, 0, vote(0, 8).link)).toEqual({ kind: 'same' });
    expect(g.verdict(vote(4, 8).slot, vote(4, 8).hash, 0, vote(4, 8).link)).toEqual({
      kind: 'resend',
      envelope: new Uint8Array([8]),
    });
  });

  it('the watermark is durable: after a restart the surround is still refused', async () => {
    const kv = new MemoryKvStore();
    const fence = new MemorySignFence();
    const g = await guardOn(kv, fence);
    sign(g, vote(8, 12));
    await g.flush([], 0);
    const again = await guardOn(kv, fence);
    expect(again.ffgWatermark()).toEqual({ source: 8, target: 12 });
    expect(sign(again, vote(4, 16))).toEqual({ kind: 'refuse', reason: 'ffg' });
    expect(sign(again, vote(12, 16))).toEqual({ kind: 'sign' });
  });

  it('a WAL lost with its watermark: only votes whose source is at or above the fence are signed', async () => {
    const fence = new MemorySignFence();
    const g = await guardOn(new MemoryKvStore(), fence);
    sign(g, vote(8, 12));
    await g.flush([], 0);
    const amnesiac = await guardOn(new MemoryKvStore(), fence); // the WAL is gone; the fence says 12
    expect(sign(amnesiac, vote(4, 16))).toEqual({ kind: 'refuse', reason: 'fence' }); // would surround
    // From the same source as before (finality stuck there) it still votes: nothing it signed can
    // be surrounded by 8 → 16, and 8 → 16 surrounds nothing (the fence keeps the source, 8).
    expect(sign(amnesiac, vote(8, 16))).toEqual({ kind: 'sign' });
    expect(sign(amnesiac, vote(8, 12))).toEqual({ kind: 'refuse', reason: 'fence' }); // target fenced
  });

  it('the fence carries the highest source across its encoding; an older fence (no FFG) reads as none', () => {
    const f = { seq: 3, maxHeight: 12, maxViewRound: 0, chainHeight: 5, maxSource: 8 };
    expect(decodeFence(encodeFence(f))).toEqual(f);
    const { maxSource: _, ...old } = f;
    expect(decodeFence(encodeFence(old))).toEqual(old);
    expect(advanceFence(old, [], 5, 0, [4, 8])).toMatchObject({ maxSource: 8 });
    expect(advanceFence({ ...f, epoch: 1 }, [], 5, 2, [])).not.toHaveProperty('maxSource'); // a new epoch
  });
});

describe('the signing guard after `verity reset` (its WAL dropped on purpose)', () => {
  /** Two signing batches (a fence at seq 2: one batch behind would be a warning anyway). */
  async function signedTwice(): Promise<MemorySignFence> {
    const { kv, fence } = await signedOnce();
    const g = await guardOn(kv, fence);
    const next: SignSlot = { height: 2, round: 0, step: 1 };
    expect(g.verdict(next, HASH)).toEqual({ kind: 'sign' });
    g.record(next, HASH, new Uint8Array([9]));
    await g.flush([], 0);
    return fence;
  }

  async function startAfterReset(markSeq: (fenceSeq: number) => number) {
    const fence = await signedTwice();
    const seq = (await fence.load()).fence?.seq ?? 0;
    expect(seq).toBeGreaterThanOrEqual(2);
    // What reset does: drop the WAL, begin a new one holding the marker.
    const kv = new MemoryKvStore();
    const wal = new CheckedWal(kv);
    await wal.open();
    await markWalReset(wal, { ...(await fence.load()).fence!, seq: markSeq(seq) });
    const lines: { level: string; msg: string }[] = [];
    const log = (level: string) => (msg: string) => lines.push({ level, msg });
    const started = new CheckedWal(kv);
    await started.open();
    const g = new SigningGuard({
      wal: started,
      fence,
      logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    });
    await g.load(0);
    return { g, lines };
  }

  it('the first start warns that it follows a reset (no error line), and still refuses what it signed', async () => {
    const { g, lines } = await startAfterReset((seq) => seq);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(lines.some((l) => l.level === 'warn' && /after `verity reset`/.test(l.msg))).toBe(true);
    expect(g.verdict(SLOT, OTHER)).toEqual({ kind: 'refuse', reason: 'fence' });
    expect(g.verdict({ height: 2, round: 0, step: 1 }, OTHER)).toEqual({ kind: 'refuse', reason: 'fence' });
  });

  it('a marker from another fence (it moved since the reset) is a loss: error level', async () => {
    const { g, lines } = await startAfterReset((seq) => seq - 1);
    expect(lines.some((l) => l.level === 'error' && /lost signing records/.test(l.msg))).toBe(true);
    expect(g.verdict(SLOT, OTHER)).toEqual({ kind: 'refuse', reason: 'fence' });
  });
});
