// src/net/drain.ts: waiting for a stream to drain must wait for a drain every time. Real Yamux
// muxers over an in-memory pair, the receiver paused so its window runs out: the first wait and
// the second both last until the receiver resumes. The library's own onDrain() beside it is the
// control: on the second wait it answers at once while the stream still needs draining (the
// bug that starved a validator's event loop); if a release fixes that, that line fails and
// drain.ts can go.
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Stream } from '@libp2p/interface';
import { multiaddrConnectionPair } from '@libp2p/utils';
import { describe, expect, it } from 'vitest';
import { waitForDrain } from '../../src/net/drain.ts';

const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));
const settledWithin = async (p: Promise<unknown>, ms: number) => {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await tick(ms);
  return settled;
};

async function pair(): Promise<{ sender: Stream; receiver: () => Stream }> {
  const [a, b] = multiaddrConnectionPair();
  const ma = yamux()().createStreamMuxer(a);
  const mb = yamux()().createStreamMuxer(b);
  let inbound: Stream | undefined;
  mb.addEventListener('stream', (evt) => {
    inbound = evt.detail as Stream;
    inbound.addEventListener('message', () => {});
  });
  const sender = await ma.createStream();
  sender.send(new Uint8Array(1)); // opens the stream on the other side
  for (let i = 0; i < 100 && inbound === undefined; i++) await tick();
  return { sender, receiver: () => inbound as Stream };
}

/**
 * Pauses the receiver and sends until the sender's window is used up: the stream then needs a
 * drain that only the receiver can give (the in-memory connection's own backpressure also asks for
 * drains, but those come by themselves within a few milliseconds).
 */
async function fill(sender: Stream, receiver: Stream): Promise<void> {
  receiver.pause();
  for (let i = 0; i < 200; i++) {
    if (sender.writableNeedsDrain) {
      for (let w = 0; w < 50 && sender.writableNeedsDrain; w++) await tick();
      if (sender.writableNeedsDrain) return;
    }
    sender.send(new Uint8Array(64 * 1024));
    await tick();
  }
  throw new Error('the sender never ran out of window');
}

describe('waitForDrain', () => {
  it('waits for a drain every time, where the library answers the second wait at once', async () => {
    const { sender, receiver } = await pair();
    const never = new AbortController().signal;
    for (const round of [1, 2]) {
      await fill(sender, receiver());
      const library = sender.onDrain();
      // The first wait works; the second is the first's promise, settled: the library bug.
      expect(await settledWithin(library, 50)).toBe(round === 2);
      expect(sender.writableNeedsDrain).toBe(true);
      const ours = waitForDrain(sender, never);
      expect(await settledWithin(ours, 100), `round ${round}: before the receiver reads`).toBe(false);
      receiver().resume();
      await ours;
      expect(sender.writableNeedsDrain).toBe(false);
    }
  }, 20_000);

  it('answers at once when no drain is needed, and rejects on abort or close', async () => {
    const { sender, receiver } = await pair();
    await waitForDrain(sender, new AbortController().signal);
    await fill(sender, receiver());
    const ac = new AbortController();
    const aborted = waitForDrain(sender, ac.signal);
    ac.abort(new Error('deadline'));
    await expect(aborted).rejects.toThrow('deadline');
    const closed = waitForDrain(sender, new AbortController().signal);
    sender.abort(new Error('reset'));
    await expect(closed).rejects.toThrow();
  }, 20_000);
});
