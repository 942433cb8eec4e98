/**
 * The transport compliance suite: one set of behavioural tests every `Transport` must pass — the
 * simulator's and the libp2p network alike (js-libp2p's interface-compliance-tests idea, applied
 * to the runtime's port).
 *
 * A harness supplies at least three connected transports and a way to let deliveries happen:
 * the simulator runs its event queue, libp2p waits on real sockets. Every test tags its payloads
 * so that nothing from another test can be mistaken for its own.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Channel, Transport } from '../../src/runtime/ports.ts';

export interface TransportHarness {
  /** At least three transports, all connected to each other once `ready()` resolves. */
  readonly transports: readonly Transport[];
  /** The largest payload each channel must carry. */
  readonly caps: Readonly<Record<Channel, number>>;
  /** Resolves once every transport lists every other as a peer. */
  ready(): Promise<void>;
  /** Lets deliveries happen until `done()` holds (throws after a deadline). */
  until(done: () => boolean, what: string): Promise<void>;
  /** Lets anything still in flight land (to check that nothing extra arrives). */
  settle(): Promise<void>;
  close(): Promise<void>;
}

interface Received {
  readonly to: number;
  readonly from: string;
  readonly channel: Channel;
  readonly bytes: Uint8Array;
}

const CHANNELS: readonly Channel[] = ['consensus', 'tx', 'sync'];

let tagCounter = 0;

/** A payload: 4-byte tag, 4-byte sequence number, then filler. */
function payload(tag: number, seq: number, size = 16, fill?: (n: number) => Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(8, size));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, tag);
  dv.setUint32(4, seq);
  if (fill !== undefined) out.set(fill(out.length - 8), 8);
  return out;
}

/** Fast deterministic filler (xorshift32): megabytes in milliseconds. */
function filler(seed: number): (n: number) => Uint8Array {
  return (n) => {
    const words = new Uint32Array(Math.ceil(n / 4));
    let x = seed | 1;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    return new Uint8Array(words.buffer, 0, n);
  };
}

const tagOf = (b: Uint8Array): number =>
  b.length >= 8 ? new DataView(b.buffer, b.byteOffset).getUint32(0) : -1;
const seqOf = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(4);

export function transportCompliance(name: string, make: () => Promise<TransportHarness>): void {
  describe(`transport compliance: ${name}`, () => {
    let h: TransportHarness;
    let inbox: Received[] = [];
    let t: readonly Transport[];

    beforeAll(async () => {
      h = await make();
      t = h.transports;
      t.forEach((tr, i) => {
        tr.onMessage((from, channel, bytes) => inbox.push({ to: i, from, channel, bytes }));
      });
      await h.ready();
    });

    afterAll(async () => {
      await h?.close();
    });

    beforeEach(() => {
      inbox = [];
    });

    const tagged = (tag: number): Received[] => inbox.filter((m) => tagOf(m.bytes) === tag);

    it('has distinct identities and lists every other transport as a connected peer, never itself', () => {
      expect(t.length).toBeGreaterThanOrEqual(3);
      expect(new Set(t.map((x) => x.self)).size).toBe(t.length);
      for (const tr of t) {
        const peers = tr.peers();
        expect(peers).not.toContain(tr.self);
        expect(new Set(peers)).toEqual(new Set(t.filter((x) => x !== tr).map((x) => x.self)));
      }
    });

    it('send reaches exactly the target, once, with the sender as `from`', async () => {
      for (const channel of CHANNELS) {
        const tag = ++tagCounter;
        const [a, b] = [t[0] as Transport, t[1] as Transport];
        a.send(b.self, channel, payload(tag, 0));
        await h.until(() => tagged(tag).length >= 1, `${channel} send`);
        await h.settle();
        const got = tagged(tag);
        expect(got).toHaveLength(1);
        expect(got[0]?.to).toBe(1);
        expect(got[0]?.from).toBe(a.self);
        expect(got[0]?.channel).toBe(channel);
      }
    });

    it('send to itself or to an unknown peer delivers nothing and does not throw', async () => {
      const tag = ++tagCounter;
      const a = t[0] as Transport;
      a.send(a.self, 'tx', payload(tag, 0));
      a.send('12D3KooWNotAPeerNotAPeerNotAPeerNotAPeerNotAPeerNot', 'tx', payload(tag, 1));
      await h.settle();
      expect(tagged(tag)).toHaveLength(0);
    });

    it('broadcast reaches every other transport exactly once and not the sender', async () => {
      for (const channel of CHANNELS) {
        const tag = ++tagCounter;
        const sender = t[1] as Transport;
        sender.broadcast(channel, payload(tag, 0));
        await h.until(() => tagged(tag).length >= t.length - 1, `${channel} broadcast`);
        await h.settle();
        const got = tagged(tag);
        expect(got.map((m) => m.to).sort()).toEqual(
          t
            .map((_, i) => i)
            .filter((i) => i !== 1)
            .sort(),
        );
        for (const m of got) {
          expect(m.from).toBe(sender.self);
          expect(m.channel).toBe(channel);
        }
      }
    });

    it('keeps the order of one sender’s frames on a channel, with channels interleaved', async () => {
      const tag = ++tagCounter;
      const [a, b] = [t[0] as Transport, t[2] as Transport];
      const n = 300;
      for (let i = 0; i < n; i++) {
        for (const channel of CHANNELS) a.send(b.self, channel, payload(tag, i, 8 + (i % 7) * 100));
      }
      await h.until(() => tagged(tag).length >= n * CHANNELS.length, 'ordered stream');
      for (const channel of CHANNELS) {
        const seqs = tagged(tag)
          .filter((m) => m.channel === channel)
          .map((m) => seqOf(m.bytes));
        expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i));
      }
    });

    it('keeps each sender’s order when several senders broadcast at once', async () => {
      const tag = ++tagCounter;
      const n = 100;
      for (let i = 0; i < n; i++) for (const tr of t) tr.broadcast('consensus', payload(tag, i));
      await h.until(() => tagged(tag).length >= n * t.length * (t.length - 1), 'concurrent broadcasts');
      for (let to = 0; to < t.length; to++) {
        for (const from of t) {
          if (from === t[to]) continue;
          const seqs = tagged(tag)
            .filter((m) => m.to === to && m.from === from.self)
            .map((m) => seqOf(m.bytes));
          expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i));
        }
      }
    });

    it('carries frames up to each channel’s cap intact', async () => {
      const [a, b] = [t[1] as Transport, t[2] as Transport];
      for (const channel of CHANNELS) {
        const tag = ++tagCounter;
        const big = payload(tag, 0, h.caps[channel], filler(tag));
        a.send(b.self, channel, big);
        await h.until(() => tagged(tag).length >= 1, `${channel} frame of ${big.length} bytes`);
        const got = tagged(tag)[0] as Received;
        expect(got.bytes.length).toBe(big.length);
        expect(Buffer.from(got.bytes).equals(Buffer.from(big))).toBe(true);
      }
    });

    it('carries empty-bodied and tiny frames', async () => {
      const tag = ++tagCounter;
      const [a, b] = [t[0] as Transport, t[1] as Transport];
      a.send(b.self, 'tx', payload(tag, 0, 8));
      await h.until(() => tagged(tag).length >= 1, 'tiny frame');
      expect(tagged(tag)[0]?.bytes.length).toBe(8);
    });

    it('accepts penalize for a peer (a single minor offence does not cut it off)', async () => {
      const [a, b] = [t[0] as Transport, t[1] as Transport];
      expect(() => a.penalize(b.self, 'compliance: minor test offence', 'minor')).not.toThrow();
      expect(() => a.penalize('not-a-peer', 'compliance: unknown peer', 'minor')).not.toThrow();
      const tag = ++tagCounter;
      b.send(a.self, 'tx', payload(tag, 0));
      await h.until(() => tagged(tag).length >= 1, 'delivery after a minor penalty');
      expect(a.peers()).toContain(b.self);
    });
  });
}
