/** Identity, addresses, scoring, backoff and the outbox: the network's pure parts. */

import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { ed25519 } from '../../crypto/ed25519.ts';
import { peerIdFromEd25519 } from '../../ledger/validators.ts';
import { backoffDelay } from '../../src/net/backoff.ts';
import { NetError } from '../../src/net/errors.ts';
import { libp2pKeyFromSeed, peerIdFromSeed } from '../../src/net/identity.ts';
import { parsePeerAddress } from '../../src/net/libp2p-network.ts';
import { Outbox } from '../../src/net/outbox.ts';
import { PeerScores } from '../../src/net/scoring.ts';
import { seededBytes } from '../helpers/seeded.ts';

describe('identity', () => {
  it('the libp2p peer id of a validator seed equals peerIdFromEd25519 of its public key (genesis form)', async () => {
    const rnd = seededBytes('net-identity');
    for (let i = 0; i < 8; i++) {
      const seed = rnd(32);
      const { publicKey } = ed25519.keygen(seed);
      const key = await libp2pKeyFromSeed(seed);
      expect(peerIdFromPrivateKey(key).toString()).toBe(peerIdFromEd25519(publicKey));
      expect(await peerIdFromSeed(seed)).toBe(peerIdFromEd25519(publicKey));
      expect(Buffer.from(key.publicKey.raw).equals(Buffer.from(publicKey))).toBe(true);
    }
  });

  it('rejects seeds that are not 32 bytes', async () => {
    await expect(libp2pKeyFromSeed(new Uint8Array(31))).rejects.toBeInstanceOf(NetError);
    await expect(libp2pKeyFromSeed(new Uint8Array(64))).rejects.toThrow(/32-byte/);
  });
});

describe('parsePeerAddress', () => {
  const id = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq';
  it('reads <peerId>@<multiaddr> and <multiaddr>/p2p/<peerId>', () => {
    expect(parsePeerAddress(`${id}@/ip4/10.0.0.1/tcp/26656`)).toEqual({
      id,
      addrs: ['/ip4/10.0.0.1/tcp/26656'],
    });
    expect(parsePeerAddress(`/ip4/10.0.0.1/tcp/26656/p2p/${id}`)).toEqual({
      id,
      addrs: [`/ip4/10.0.0.1/tcp/26656/p2p/${id}`],
    });
  });
  it('rejects bad ids, bad multiaddrs, a missing id and mismatched ids', () => {
    const code = (s: string): string | undefined => {
      try {
        parsePeerAddress(s);
      } catch (e) {
        return (e as NetError).code;
      }
      return undefined;
    };
    expect(code('nope@/ip4/10.0.0.1/tcp/1')).toBe('INVALID_PEER_ADDRESS');
    expect(code(`${id}@/ip4/999.0.0.1/tcp/1`)).toBe('INVALID_PEER_ADDRESS');
    expect(code('/ip4/10.0.0.1/tcp/1')).toBe('INVALID_PEER_ADDRESS');
    expect(code(`12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5@/ip4/10.0.0.1/tcp/1/p2p/${id}`)).toBe(
      'INVALID_PEER_ADDRESS',
    );
  });
});

describe('PeerScores', () => {
  it('bans at the threshold, refuses for the cool-down, then starts the peer afresh', () => {
    let now = 0;
    const s = new PeerScores({}, () => now); // defaults: major 60, threshold 100, cool-down 30 s
    expect(s.penalize('p', 'major')).toEqual({ score: -60, banned: false });
    expect(s.isBanned('p')).toBe(false);
    now = 10_000; // recovered 10 points
    expect(s.penalize('p', 'major')).toEqual({ score: -110, banned: true });
    expect(s.isBanned('p')).toBe(true);
    expect(s.bannedUntil('p')).toBe(40_000);
    expect(s.penalize('p', 'minor').banned).toBe(false); // already banned: not re-banned
    expect(s.banned()).toEqual(['p']);
    now = 39_999;
    expect(s.isBanned('p')).toBe(true);
    now = 40_000;
    expect(s.isBanned('p')).toBe(false);
    expect(s.score('p')).toBe(0);
    expect(s.banned()).toEqual([]);
  });

  it('recovers with time, so rare minor offences never add up to a ban', () => {
    let now = 0;
    const s = new PeerScores({ recoveryPerSecond: 1 }, () => now);
    for (let i = 0; i < 100; i++) {
      expect(s.penalize('p', 'minor').banned).toBe(false);
      now += 10_000;
    }
    expect(s.score('p')).toBe(0);
    expect(s.score('other')).toBe(0);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially from the base to the cap, with jitter in [step/2, step]', () => {
    const opts = { baseMs: 250, maxMs: 10_000 };
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a, opts, () => 0))).toEqual([
      125, 250, 500, 1000, 2000, 4000, 5000, 5000,
    ]);
    expect([0, 1, 2, 6, 50].map((a) => backoffDelay(a, opts, () => 0.999999))).toEqual([
      250, 500, 1000, 10_000, 10_000,
    ]);
  });
});

describe('Outbox', () => {
  const frame = (n: number, tag = 0): Uint8Array => new Uint8Array(n).fill(tag);

  it('drops the oldest tx frames first when over budget, then sync, then consensus', () => {
    const o = new Outbox({ maxBytes: 100, maxFrames: 1000 });
    o.push('consensus', frame(30, 1));
    o.push('sync', frame(30, 2));
    o.push('tx', frame(20, 3));
    expect(o.push('tx', frame(25, 4))).toEqual([{ channel: 'tx', bytes: 20 }]); // 105 > 100: oldest tx goes
    expect(o.bytes).toBe(85);
    expect(o.shift('tx')?.[0]).toBe(4); // 60 left
    expect(o.push('consensus', frame(45, 5))).toEqual([{ channel: 'sync', bytes: 30 }]); // no tx left: sync goes
    expect(o.size('consensus')).toBe(2);
    expect(o.push('consensus', frame(40, 6))).toEqual([{ channel: 'consensus', bytes: 30 }]); // then the oldest consensus
    expect(o.bytes).toBe(85);
    expect(o.shift('consensus')?.[0]).toBe(5);
  });

  it('bounds the frame count as well as the bytes', () => {
    const o = new Outbox({ maxBytes: 1 << 20, maxFrames: 3 });
    for (let i = 0; i < 10; i++) o.push('tx', frame(1, i));
    expect(o.frames).toBe(3);
    expect([o.shift('tx')?.[0], o.shift('tx')?.[0], o.shift('tx')?.[0], o.shift('tx')]).toEqual([
      7,
      8,
      9,
      undefined,
    ]);
    expect(o.bytes).toBe(0);
  });

  it('clears a channel and accounts for it', () => {
    const o = new Outbox({ maxBytes: 1000, maxFrames: 1000 });
    o.push('tx', frame(10));
    o.push('tx', frame(10));
    o.push('sync', frame(5));
    expect(o.clear('tx')).toBe(2);
    expect(o.bytes).toBe(5);
    expect(o.clearAll()).toBe(1);
    expect(o.frames).toBe(0);
  });
});
