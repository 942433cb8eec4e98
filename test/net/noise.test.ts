// src/net/noise.ts: the Noise encrypter Verity gives libp2p. A real XX handshake over an in-memory
// connection pair: both sides must get the tuned length reader (this fails if a library release
// moves the decoder), and every message must arrive intact whatever its size. The tuned reader in
// @libp2p/utils' own decoder, fed one byte at a time, exercises "not enough bytes" at every offset.
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { MessageStream } from '@libp2p/interface';
import { defaultLogger } from '@libp2p/logger';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { LengthPrefixedDecoder, multiaddrConnectionPair } from '@libp2p/utils';
import { Uint8ArrayList } from 'uint8arraylist';
import { describe, expect, it } from 'vitest';
import { tuneDecoder, uint16Length, verityNoise } from '../../src/net/noise.ts';

async function encrypter() {
  const privateKey = await generateKeyPair('Ed25519');
  const peerId = peerIdFromPrivateKey(privateKey);
  const upgrader = { getStreamMuxers: () => new Map() };
  return {
    peerId,
    noise: verityNoise()({ privateKey, peerId, logger: defaultLogger(), upgrader } as never),
  };
}

async function securedPair() {
  const [a, b] = [await encrypter(), await encrypter()];
  const [outbound, inbound] = multiaddrConnectionPair();
  const opts = { skipStreamMuxerNegotiation: true } as const;
  const [out, inn] = await Promise.all([
    a.noise.secureOutbound(outbound, { ...opts, remotePeer: b.peerId }),
    b.noise.secureInbound(inbound, opts),
  ]);
  return { a, b, out: out.connection, inn: inn.connection, remote: inn.remotePeer };
}

function collect(stream: MessageStream): Uint8ArrayList {
  const got = new Uint8ArrayList();
  stream.addEventListener('message', (evt) => got.append(evt.data.subarray()));
  return got;
}

const until = async (done: () => boolean) => {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('verityNoise', () => {
  it('reads the length prefix as Noise does, throwing one reused RangeError when short', () => {
    expect(uint16Length(Uint8Array.of(0x01, 0x02))).toBe(0x0102);
    expect(uint16Length(Uint8Array.of(0xff, 0xff, 7))).toBe(0xffff);
    expect(uint16Length(new Uint8ArrayList(Uint8Array.of(0xab), Uint8Array.of(0xcd, 1)))).toBe(0xabcd);
    const short: unknown[] = [];
    for (const data of [new Uint8Array(0), Uint8Array.of(1), new Uint8ArrayList(Uint8Array.of(1))]) {
      try {
        uint16Length(data);
      } catch (e) {
        short.push(e);
      }
    }
    expect(short).toHaveLength(3);
    expect(short[0]).toBeInstanceOf(RangeError);
    expect(new Set(short).size).toBe(1);
  });

  it('splits frames fed one byte at a time, and several frames in one read', () => {
    const frames = [1, 2, 300, 0x0102].map((n) => new Uint8Array(randomBytes(n)));
    const wire = Buffer.concat(frames.flatMap((f) => [Uint8Array.of(f.length >> 8, f.length & 0xff), f]));
    for (const step of [1, 2, 3, wire.length]) {
      const decoder = new LengthPrefixedDecoder({ lengthDecoder: uint16Length, encodingLength: () => 2 });
      const out: Uint8Array[] = [];
      for (let i = 0; i < wire.length; i += step)
        for (const f of decoder.decode(wire.subarray(i, i + step))) out.push(f.subarray());
      expect(
        out.map((f) => Buffer.from(f).toString('hex')),
        `step ${step}`,
      ).toEqual(frames.map((f) => Buffer.from(f).toString('hex')));
    }
  });

  it('leaves a stream without a Noise decoder alone', () => {
    expect(tuneDecoder({} as MessageStream)).toBe(false);
    const varint = { decoder: { lengthDecoder: () => 0, encodingLength: () => 1 } };
    expect(tuneDecoder(varint as unknown as MessageStream)).toBe(false);
    expect(varint.decoder.lengthDecoder).not.toBe(uint16Length);
    // Two bytes, but little-endian, or not throwing a RangeError when short: not Noise's reader.
    const le = (d: Uint8Array) => (d.length < 2 ? Number.NaN : (d[1] as number) * 256 + (d[0] as number));
    const lenient = (d: Uint8Array) => (d.length < 2 ? 0 : (d[0] as number) * 256 + (d[1] as number));
    for (const lengthDecoder of [le, lenient]) {
      const stream = { decoder: { lengthDecoder, encodingLength: () => 2 } };
      expect(tuneDecoder(stream as unknown as MessageStream)).toBe(false);
      expect(stream.decoder.lengthDecoder).toBe(lengthDecoder);
    }
  });

  it('handshakes, tunes both decoders and carries every message intact', async () => {
    const { a, b, out, inn, remote } = await securedPair();
    expect(remote.equals(a.peerId)).toBe(true);
    expect(a.noise.tuned).toEqual({ yes: 1, no: 0 });
    expect(b.noise.tuned).toEqual({ yes: 1, no: 0 });

    const got = collect(inn);
    const sent: Uint8Array[] = [];
    // Around the 1,200-byte cipher switch, across Noise's 65,519-byte frame limit, and several
    // messages back to back (more than one frame per read).
    for (const size of [1, 2, 3, 1199, 1200, 1201, 20_000, 65_519, 65_520, 150_000]) {
      const m = new Uint8Array(randomBytes(size));
      sent.push(m);
      out.send(m);
    }
    const total = sent.reduce((n, m) => n + m.length, 0);
    await until(() => got.byteLength >= total);
    expect(got.byteLength).toBe(total);
    expect(Buffer.from(got.subarray()).equals(Buffer.concat(sent))).toBe(true);

    // And the other way.
    const back = collect(out);
    const reply = new Uint8Array(randomBytes(5000));
    inn.send(reply);
    await until(() => back.byteLength >= reply.length);
    expect(Buffer.from(back.subarray()).equals(reply)).toBe(true);
  });
});
