// VerityNode.start: /health is 503 until the node is fully started and again once it stops; a
// start that fails (an address in use, another node in the home) leaves nothing behind — no
// port bound, no store open, no node.pid — and says which setting to change.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetError } from '../../src/net/errors.ts';
import { defaultConfig } from '../../src/node/config.ts';
import { ListenError, NodeRunningError } from '../../src/node/errors.ts';
import { type NetworkFactory, VerityNode } from '../../src/node/node.ts';
import type { TestnetManifest } from '../../src/node/testnet.ts';
import { silentLogger } from '../../src/runtime/ports.ts';
import { InProcessHub } from '../helpers/inprocess-network.ts';
import { removeTestnet, singleValidatorTestnet } from '../helpers/single-node.ts';

let testnet: TestnetManifest | undefined;
let home: string;
const LEVEL_KV = fileURLToPath(new URL('../../src/storage/level-kv.ts', import.meta.url));

beforeAll(async () => {
  testnet = await singleValidatorTestnet({ chainId: 'start-test', accounts: 1 });
  home = testnet.nodes[0]?.home as string;
}, 60_000);

// Each test stops the nodes (and the lock-holding process) it started.
afterAll(() => removeTestnet(testnet));

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

async function freePort(): Promise<number> {
  const srv = await listenOn(0);
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function config(rpcPort: number) {
  const cfg = defaultConfig('node0');
  cfg.rpc.listen = `127.0.0.1:${rpcPort}`;
  return cfg;
}

/** The in-process network, whose start() waits for `gate` or fails with `fail`. */
function network(opts: { gate?: Promise<void>; fail?: Error } = {}): NetworkFactory {
  const factory = new InProcessHub().factory();
  return async (args) => {
    const net = await factory(args);
    return {
      ...net,
      start: async () => {
        await opts.gate;
        if (opts.fail !== undefined) throw opts.fail;
      },
    };
  };
}

async function health(port: number): Promise<{ status: number; problems: string[] } | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/health`);
    return { status: r.status, problems: ((await r.json()) as { problems: string[] }).problems };
  } catch {
    return undefined; // not listening yet
  }
}

/** The first answer of /health once the RPC listens (within 5 s). */
async function firstHealth(port: number): Promise<{ status: number; problems: string[] } | undefined> {
  for (let i = 0; i < 200; i++) {
    const h = await health(port);
    if (h !== undefined) return h;
    await new Promise((r) => setTimeout(r, 25));
  }
  return undefined;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** Whether a store or a port that a failed start opened is free again: start a node for real. */
async function startsCleanly(port: number): Promise<void> {
  const node = await VerityNode.start({
    home,
    config: config(port),
    logger: silentLogger,
    network: network(),
  });
  try {
    expect(node.health()).toEqual({ ok: true, problems: [] });
  } finally {
    await node.stop();
  }
}

describe('VerityNode.start', () => {
  it('/health is 503 "starting" until the node is fully started, 200 then, 503 "stopping" on stop', async () => {
    const port = await freePort();
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const starting = VerityNode.start({
      home,
      config: config(port),
      logger: silentLogger,
      network: network({ gate }),
    });
    // The RPC listens before the network starts: it answers, but not green.
    expect(await firstHealth(port)).toEqual({ status: 503, problems: ['starting'] });
    open();
    const node = await starting;
    let stopped: Promise<void> | undefined;
    try {
      expect(await health(port)).toEqual({ status: 200, problems: [] });
      stopped = node.stop();
      expect(node.health().problems).toContain('stopping');
    } finally {
      // A failed assertion still stops the node: afterAll removes a home no store holds open.
      await (stopped ?? node.stop());
    }
    expect(existsSync(join(home, 'node.pid'))).toBe(false);
  });

  it('the p2p address in use: a ListenError naming p2p.listen, the RPC closed and the home released', async () => {
    const port = await freePort();
    // What src/net reports when libp2p cannot bind (its message wraps the socket error's text).
    const fail = new NetError(
      'START_FAILED',
      'p2p could not start: Some configured addresses failed to be listened on, you may need to … `transportManager.faultTolerance` to NO_FATAL:\n\n  /ip4/127.0.0.1/tcp/26656: Error: listen EADDRINUSE: address already in use 127.0.0.1:26656\n      at Server.setupListenHandle [as _listen2] (node:net:2328:16)\n',
    );
    const e = await rejection(
      VerityNode.start({ home, config: config(port), logger: silentLogger, network: network({ fail }) }),
    );
    expect(e).toBeInstanceOf(ListenError);
    expect((e as ListenError).code).toBe('LISTEN_IN_USE');
    expect((e as ListenError).meta).toEqual({ setting: 'p2p.listen', address: '/ip4/127.0.0.1/tcp/26656' });
    expect((e as ListenError).message).toBe(
      `p2p.listen /ip4/127.0.0.1/tcp/26656 is in use — change p2p.listen in ${join(home, 'config.toml')} (or --set p2p.listen=…) or stop what holds the port`,
    );
    expect(await health(port)).toBeUndefined(); // nothing answers on the RPC port any more
    expect(existsSync(join(home, 'node.pid'))).toBe(false);
    await startsCleanly(port); // the stores were closed
  });

  it('a p2p failure without an errno still names p2p.listen, on one line', async () => {
    const fail = new NetError(
      'START_FAILED',
      'p2p could not start: Some configured addresses failed … NO_FATAL:\n\n  /ip4/127.0.0.1/tcp/26656: no transport for this address\n',
    );
    const e = (await rejection(
      VerityNode.start({
        home,
        config: config(await freePort()),
        logger: silentLogger,
        network: network({ fail }),
      }),
    )) as ListenError;
    expect(e.code).toBe('LISTEN_FAILED');
    expect(e.message).toMatch(
      /^p2p\.listen \/ip4\/127\.0\.0\.1\/tcp\/26656 cannot be listened on \(no transport for this address\) — change p2p\.listen in /,
    );
    expect(e.message).not.toContain('\n');
  });

  it('the RPC address in use: a ListenError naming rpc.listen, and the home released', async () => {
    const holder = await listenOn(0);
    const port = (holder.address() as { port: number }).port;
    try {
      const e = (await rejection(
        VerityNode.start({ home, config: config(port), logger: silentLogger, network: network() }),
      )) as ListenError;
      expect(e).toBeInstanceOf(ListenError);
      expect(e.message).toBe(
        `rpc.listen 127.0.0.1:${port} is in use — change rpc.listen in ${join(home, 'config.toml')} (or --set rpc.listen=…) or stop what holds the port`,
      );
      expect(existsSync(join(home, 'node.pid'))).toBe(false);
    } finally {
      await new Promise((r) => holder.close(r));
    }
    await startsCleanly(port);
  });

  it('a second node in a running home is refused before it opens anything; the first runs on', async () => {
    const port = await freePort();
    const node = await VerityNode.start({
      home,
      config: config(port),
      logger: silentLogger,
      network: network(),
    });
    try {
      const e = await rejection(
        VerityNode.start({
          home,
          config: config(await freePort()),
          logger: silentLogger,
          network: network(),
        }),
      );
      expect(e).toBeInstanceOf(NodeRunningError);
      expect((e as Error).message).toBe(`a node is already running in ${home} (pid ${process.pid})`);
      expect(existsSync(join(home, 'node.pid'))).toBe(true);
      const h = node.chain.height;
      for (let i = 0; i < 100 && node.chain.height <= h; i++) await new Promise((r) => setTimeout(r, 50));
      expect(node.chain.height).toBeGreaterThan(h);
    } finally {
      await node.stop();
    }
  });

  it('LevelDB locked by a process that left no node.pid: the same refusal, naming the holder', async () => {
    // Another process: in this one, LevelDB's failed second open would drop the first one's lock.
    const script = `const { LevelKvStore } = await import(${JSON.stringify(LEVEL_KV)});
      await LevelKvStore.open(${JSON.stringify(join(home, 'data', 'chain'))});
      process.stdout.write('open\\n');
      setTimeout(() => {}, 60000);`;
    const holder = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise((r) => holder.stdout.once('data', r));
      const e = await rejection(
        VerityNode.start({
          home,
          config: config(await freePort()),
          logger: silentLogger,
          network: network(),
        }),
      );
      expect(e).toBeInstanceOf(NodeRunningError);
      const pid = existsSync('/proc/locks') ? String(holder.pid) : 'unknown';
      expect((e as Error).message).toBe(`a node is already running in ${home} (pid ${pid})`);
      expect(existsSync(join(home, 'node.pid'))).toBe(false);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }
  });

  it("LevelDB dropped part of the chain store's log on open: an error line says so and what to do; a clean start says nothing", async () => {
    const errors: string[] = [];
    const logger = { ...silentLogger, error: (m: string) => errors.push(m) };
    const startStop = async () => {
      const node = await VerityNode.start({
        home,
        config: config(await freePort()),
        logger,
        network: network(),
      });
      // A block committed by this start: its write is the newest record of the chain store's log.
      const from = node.chain.height;
      for (let i = 0; i < 400 && node.chain.height <= from; i++) await new Promise((r) => setTimeout(r, 25));
      expect(node.chain.height).toBeGreaterThan(from);
      await node.stop();
    };
    await startStop();
    expect(errors).toEqual([]);
    const dir = join(home, 'data', 'chain');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.log'))) {
      const b = readFileSync(join(dir, f));
      for (let i = Math.max(0, b.length - 64); i < b.length; i++) b[i] = (b[i] as number) ^ 0x5a;
      writeFileSync(join(dir, f), b);
    }
    await startStop();
    expect(errors).toEqual([
      expect.stringMatching(
        /^LevelDB dropped part of the chain store's log as it opened .*delete HOME\/data\/chain/,
      ),
    ]);
  });
});
