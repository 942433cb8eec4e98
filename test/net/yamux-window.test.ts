// src/net/yamux-window.ts: a Yamux stream that receives data sends window updates only when half
// its window is used. Real Yamux muxers over an in-memory connection: the same bytes arrive (more
// than the window, so credit must still flow), with far fewer frames sent back; the untuned run
// beside it is the control (if the library ever stops sending an update per frame, it fails and
// this module can go).
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Stream } from '@libp2p/interface';
import { multiaddrConnectionPair } from '@libp2p/utils';
import { describe, expect, it } from 'vitest';
import { lazyWindowUpdates } from '../../src/net/yamux-window.ts';

async function run(
  lazy: boolean,
): Promise<{ framesBack: number; received: number; sent: number; tuned: boolean[] }> {
  const [a, b] = multiaddrConnectionPair();
  const sender = yamux()().createStreamMuxer(a);
  const receiver = yamux()().createStreamMuxer(b);
  let framesBack = 0;
  const send = b.send.bind(b);
  b.send = (data) => {
    framesBack++;
    return send(data);
  };
  let received = 0;
  const tuned: boolean[] = [];
  receiver.addEventListener('stream', (evt) => {
    const s = evt.detail as Stream;
    if (lazy) tuned.push(lazyWindowUpdates(s));
    s.addEventListener('message', (e) => {
      received += e.data.byteLength;
    });
  });
  const s = await sender.createStream();
  const tick = () => new Promise((r) => setTimeout(r, 1));
  let sent = 0;
  // One data frame per message (a turn of the event loop apart), then more than the 256 KiB window.
  for (const [count, size] of [
    [100, 3000],
    [10, 100_000],
  ] as const) {
    for (let i = 0; i < count; i++) {
      s.send(new Uint8Array(size));
      sent += size;
      await tick();
    }
  }
  for (let i = 0; i < 400 && received < sent; i++) await tick();
  return { framesBack, received, sent, tuned };
}

describe('lazyWindowUpdates', () => {
  it('delivers every byte, beyond the window, with a fraction of the frames sent back', async () => {
    const eager = await run(false);
    const lazy = await run(true);
    expect(lazy.tuned).toEqual([true]);
    expect(eager.received).toBe(eager.sent);
    expect(lazy.received).toBe(lazy.sent);
    expect(lazy.sent).toBeGreaterThan(4 * 262_144);
    expect(eager.framesBack).toBeGreaterThanOrEqual(100); // the library: one update per data frame
    expect(lazy.framesBack).toBeLessThan(eager.framesBack / 5);
  }, 20_000);

  it('keeps the library behaviour before the stream is established and when half the window is used', () => {
    const calls: string[] = [];
    class YamuxStream {
      state = 3;
      recvWindow = 1000;
      recvWindowCapacity = 600;
      sendWindowUpdate(this: { recvWindowCapacity: number }) {
        calls.push(`update at ${this.recvWindowCapacity}`);
      }
    }
    const fake = new YamuxStream();
    expect(lazyWindowUpdates(fake as unknown as Stream)).toBe(true);
    expect(lazyWindowUpdates(fake as unknown as Stream)).toBe(true); // once only
    fake.sendWindowUpdate();
    fake.recvWindowCapacity = 500;
    fake.sendWindowUpdate();
    fake.recvWindowCapacity = 499;
    fake.sendWindowUpdate();
    fake.state = 2; // SYN received: the update carries the ACK
    fake.recvWindowCapacity = 1000;
    fake.sendWindowUpdate();
    expect(calls).toEqual(['update at 499', 'update at 1000']);
  });

  it('leaves a stream that is not a Yamux stream alone', () => {
    const other = { state: 3, recvWindow: 1000, recvWindowCapacity: 600, sendWindowUpdate: () => {} };
    expect(lazyWindowUpdates(other as unknown as Stream)).toBe(false); // the right shape, another class
    expect(lazyWindowUpdates({} as Stream)).toBe(false);
  });

  it('a receiver paused until the sender is out of window, then resumed, gets every byte', async () => {
    const [a, b] = multiaddrConnectionPair();
    const sender = yamux()().createStreamMuxer(a);
    const receiver = yamux()().createStreamMuxer(b);
    let inbound: Stream | undefined;
    let received = 0;
    receiver.addEventListener('stream', (evt) => {
      inbound = evt.detail as Stream;
      expect(lazyWindowUpdates(inbound)).toBe(true);
      inbound.addEventListener('message', (e) => {
        received += e.data.byteLength;
      });
    });
    const s = await sender.createStream();
    const tick = () => new Promise((r) => setTimeout(r, 1));
    s.send(new Uint8Array(100));
    for (let i = 0; i < 100 && received < 100; i++) await tick();
    // The library's StreamState.Established, which the tuned rule tests for.
    expect((inbound as unknown as { state: number }).state).toBe(3);
    inbound?.pause();
    let sent = 100;
    for (let i = 0; i < 12; i++) {
      s.send(new Uint8Array(64 * 1024));
      sent += 64 * 1024;
      await tick();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(received).toBeLessThan(sent); // held back: the window is used up
    inbound?.resume();
    for (let i = 0; i < 500 && received < sent; i++) await tick();
    expect(received).toBe(sent);
  }, 20_000);
});
