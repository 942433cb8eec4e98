/**
 * Inbound admission under a raw TCP flood from the validators' own host (co-located validators on
 * 127.0.0.1, as in a nemesis run): the flood must not lock a restarted validator out, while the
 * per-host inbound rate limit still applies to everyone who is not a validator.
 */
import { connect, type Socket } from 'node:net';
import type { Libp2p } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { afterEach, describe, expect, it } from 'vitest';
import { hostOf, InboundGuard } from '../../src/net/inbound-guard.ts';
import { createLibp2pNetwork, type Libp2pNetwork } from '../../src/net/libp2p-network.ts';
import type { Logger } from '../../src/runtime/ports.ts';
import { mesh, rawNode, seed, sleep, testLogger, waitFor } from './helpers.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c().catch(() => {})));
});

function portOf(net: Libp2pNetwork): number {
  const addr = net.listenAddrs()[0] as string;
  return Number(
    multiaddr(addr)
      .getComponents()
      .find((c) => c.name === 'tcp')?.value,
  );
}

/**
 * A raw TCP flood from 127.0.0.1: `perPort` sockets held open against each port, half of them
 * silent, half sending a burst of garbage (neither ever starts a real handshake), each reopened as
 * soon as the node drops it.
 */
function flood(ports: readonly number[], perPort: number): { opened(): number; stop(): void } {
  let running = true;
  let opened = 0;
  const sockets = new Set<Socket>();
  const open = (port: number, garbage: boolean): void => {
    if (!running) return;
    const s = connect({ host: '127.0.0.1', port });
    opened++;
    sockets.add(s);
    s.on('error', () => {});
    if (garbage) s.on('connect', () => s.write(Buffer.alloc(64, 0xff)));
    s.on('close', (hadError) => {
      sockets.delete(s);
      // Refused (the port is closed while a node restarts): retry after a breath, not in a spin.
      if (hadError) setTimeout(() => open(port, garbage), 5);
      else setImmediate(() => open(port, garbage));
    });
  };
  for (const p of ports) for (let i = 0; i < perPort; i++) open(p, i % 2 === 1);
  return {
    opened: () => opened,
    stop: () => {
      running = false;
      for (const s of sockets) s.destroy();
    },
  };
}

describe('InboundGuard', () => {
  interface Conn {
    readonly name: string;
    answered: boolean;
  }
  const conn = (name: string, answered = false): Conn => ({ name, answered });
  const guard = (over: Partial<{ perHost: number; all: number; rate: number; now: () => number }> = {}) =>
    new InboundGuard<Conn>({
      maxPendingPerHost: over.perHost ?? 3,
      maxPending: over.all ?? 5,
      ratePerHost: over.rate ?? 2,
      progressed: (c) => (c as Conn).answered,
      ...(over.now === undefined ? {} : { now: over.now }),
    });

  it('admits every new connection, evicting from a full host its oldest unanswered one, else its oldest', () => {
    const g = guard();
    const [a, b, c] = [conn('a', true), conn('b'), conn('c')];
    expect([a, b, c].flatMap((x) => g.admit('h1', x))).toEqual([]);
    expect(g.admit('h1', conn('d')).map((x) => x.name)).toEqual(['b']); // a is handshaking: kept
    expect(g.admit('h1', conn('e')).map((x) => x.name)).toEqual(['c']);
    for (const x of ['d', 'e']) g.release({ name: x, answered: false }); // unknown objects: no-op
    expect(g.pending).toBe(3);
  });

  it('evicts the oldest handshaking connection when none is unanswered', () => {
    const g = guard();
    const conns = ['a', 'b', 'c'].map((n) => conn(n, true));
    for (const x of conns) g.admit('h1', x);
    expect(g.admit('h1', conn('d', true)).map((x) => x.name)).toEqual(['a']);
  });

  it('bounds all hosts together, and a released connection frees its slot', () => {
    const g = guard();
    const h1 = [conn('a'), conn('b', true), conn('c')];
    for (const x of h1) g.admit('h1', x);
    g.admit('h2', conn('x', true));
    g.admit('h2', conn('y', true));
    // Global bound (5) reached: the oldest unanswered of any host goes.
    expect(g.admit('h3', conn('z')).map((x) => x.name)).toEqual(['a']);
    g.release(h1[2] as Conn);
    expect(g.admit('h3', conn('w'))).toEqual([]);
    expect(g.pending).toBe(5);
  });

  it('rate-limits per host in one-second windows', () => {
    let t = 1000;
    const g = guard({ rate: 2, now: () => t });
    expect([g.takeRate('h1'), g.takeRate('h1'), g.takeRate('h1')]).toEqual([true, true, false]);
    expect(g.takeRate('h2')).toBe(true);
    t += 999;
    expect(g.takeRate('h1')).toBe(false);
    t += 1;
    expect(g.takeRate('h1')).toBe(true);
  });

  it('reads the host of a multiaddr', () => {
    expect(hostOf(multiaddr('/ip4/127.0.0.1/tcp/4001'))).toBe('127.0.0.1');
    expect(hostOf(multiaddr('/ip6/::1/tcp/4001'))).toBe('::1');
  });
});

describe('inbound admission under a flood from the same host', () => {
  it('a restarted validator rejoins within seconds while a raw TCP flood hits every node on its host', async () => {
    // Production-like limits (the mesh helper otherwise raises the threshold for churny tests).
    const m = await mesh([seed(71), seed(72), seed(73)], { inboundConnectionThreshold: 2 });
    cleanups.push(m.close);
    const [f, a, v] = m.nets as [Libp2pNetwork, Libp2pNetwork, Libp2pNetwork];
    await waitFor(() => m.nets.every((n) => n.peers().length === 2), 'full mesh');
    const vPort = portOf(v);
    const fl = flood([portOf(f), portOf(a), vPort], 64);
    cleanups.push(async () => fl.stop());
    await waitFor(() => fl.opened() >= 200, 'flood under way');
    await sleep(500);
    // Established links are not affected by the flood.
    expect(f.peers()).toContain(a.self);

    await v.stop();
    await waitFor(() => !f.peers().includes(v.self) && !a.peers().includes(v.self), 'v gone');
    const v2 = await createLibp2pNetwork({
      seed: seed(73),
      listen: [`/ip4/127.0.0.1/tcp/${vPort}`],
      validators: m.ids,
      peers: [f.listenAddrs()[0] as string, a.listenAddrs()[0] as string],
      inboundConnectionThreshold: 2,
      ...(testLogger('v2') === undefined ? {} : { logger: testLogger('v2') as Logger }),
    });
    cleanups.push(() => v2.stop());
    const t0 = Date.now();
    await v2.start();
    await waitFor(
      () =>
        v2.peers().includes(f.self) &&
        v2.peers().includes(a.self) &&
        f.peers().includes(v2.self) &&
        a.peers().includes(v2.self),
      'the restarted validator reconnected to both flooded validators',
      5000,
    );
    const took = Date.now() - t0;
    const evicted = f.stats().inboundEvicted + a.stats().inboundEvicted + v2.stats().inboundEvicted;
    console.info(
      `restarted validator rejoined in ${took} ms during a flood of ${fl.opened()} sockets (${evicted} unanswered ones evicted)`,
    );
    expect(evicted).toBeGreaterThan(0);
    fl.stop();
  }, 20_000);

  it('the per-host inbound rate limit still applies to non-validators, not to validators', async () => {
    const m = await mesh([seed(74), seed(75)], {
      inboundConnectionThreshold: 2,
      allowNonValidators: true,
    });
    cleanups.push(m.close);
    const [f, v] = m.nets as [Libp2pNetwork, Libp2pNetwork];
    await waitFor(() => m.nets.every((n) => n.peers().length === 1), 'mesh');
    const fAddr = multiaddr(f.listenAddrs()[0] as string);
    // Five full nodes on 127.0.0.1 keep reconnecting: together they exceed the host's budget of two
    // new inbound connections a second, all the time.
    const fulls = await Promise.all([81, 82, 83, 84, 85].map((i) => rawNode(seed(i), cleanups)));
    let churning = true;
    const churn = async (n: Libp2p): Promise<void> => {
      while (churning) {
        await n.dial(fAddr).catch(() => undefined);
        await sleep(20);
        await n.hangUp(fAddr).catch(() => undefined);
      }
    };
    const churners = fulls.map((n) => churn(n));
    cleanups.push(async () => {
      churning = false;
      await Promise.all(churners);
    });
    const refusedBefore = f.stats().refused;
    await waitFor(
      () => f.stats().refused - refusedBefore >= 5,
      'non-validators over the host budget refused',
    );
    // Meanwhile a validator from the same host restarts (on a fresh port, so only its own dial can
    // bring it back): it is let in at once.
    await v.stop();
    await waitFor(() => !f.peers().includes(v.self), 'v gone');
    const v2 = await createLibp2pNetwork({
      seed: seed(75),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      validators: m.ids,
      peers: [f.listenAddrs()[0] as string],
      inboundConnectionThreshold: 2,
      allowNonValidators: true,
    });
    cleanups.push(() => v2.stop());
    const refusedMid = f.stats().refused;
    await v2.start();
    await waitFor(
      () => f.peers().includes(v2.self) && v2.peers().includes(f.self),
      'validator admitted',
      5000,
    );
    // The non-validators are still being refused: the limit applies to them throughout.
    await waitFor(() => f.stats().refused > refusedMid, 'non-validators still refused');
    churning = false;
    await Promise.all(churners);
  }, 20_000);
});
