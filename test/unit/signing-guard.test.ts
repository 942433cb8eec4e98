/**
 * The double-sign guard against its sign fence (src/runtime/signing-guard.ts): a WAL that lost
 * what was signed makes the guard refuse those slots; a crash between the WAL batch and the fence
 * write (either may land alone) does not.
 */
import { describe, expect, it } from 'vitest';
import type { SignSlot } from '../../consensus/types.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { MemorySignFence } from '../../src/runtime/sign-fence.ts';
import { SigningGuard } from '../../src/runtime/signing-guard.ts';
import { CheckedWal } from '../../src/runtime/wal-records.ts';

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
    expect(g.verdict(SLOT, OTHER)).toEqual({ kind: 'refuse' });
    expect(g.loss).toEqual({ gap: true, damagedRecords: [] });
    expect(g.refusing()).toEqual({ upToHeight: 1, upToViewRound: 0 });
  });

  it('a crash after the fence write but before the WAL batch (nothing was sent): no loss, it signs', async () => {
    const kv = new MemoryKvStore();
    const fence = new MemorySignFence();
    await guardOn(kv, fence); // the first start opened the WAL (its mark), signed nothing yet
    const lost = await signedOnce(); // the same signing, of which only the fence landed:
    await fence.write((await lost.fence.load()).fence as never);
    const g = await guardOn(kv, fence);
    expect(g.loss).toBeUndefined();
    expect(g.verdict(SLOT, OTHER)).toEqual({ kind: 'sign' });
  });
});
