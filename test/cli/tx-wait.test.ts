import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_PENDING, rpcBaseUrl } from '../../cli/commands/client.ts';
import { toHex } from '../../crypto/bytes.ts';
import { addressFromPublicKey, formatAddress } from '../../ledger/address.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import type { VerityNode } from '../../src/node/node.ts';
import type { TestnetManifest } from '../../src/node/testnet.ts';
import { RpcClient } from '../../src/rpc/client.ts';
import { parseJsonOutput, runVerity } from '../helpers/cli.ts';
import { removeTestnet, singleValidatorTestnet, startSingleNode } from '../helpers/single-node.ts';

const CHAIN_ID = 'tx-wait-test';
/** Short, so that the old behaviour (waiting for the node's timeout) fails this file quickly. */
const COMMIT_TIMEOUT_MS = 15_000;
const RECIPIENT = formatAddress(addressFromPublicKey(new Uint8Array(32).fill(7)));

interface TestNode {
  readonly node: VerityNode;
  readonly rpc: RpcClient;
  readonly manifest: TestnetManifest;
}

/** A fresh single-validator chain with two funded accounts, its RPC on a free port. */
async function startNode(): Promise<TestNode> {
  const manifest = await singleValidatorTestnet({ chainId: CHAIN_ID, accounts: 2 });
  try {
    const node = await startSingleNode(manifest, (cfg) => {
      cfg.rpc.commitTimeoutMs = COMMIT_TIMEOUT_MS;
    });
    return { node, rpc: new RpcClient(node.rpcUrl), manifest };
  } catch (e) {
    await removeTestnet(manifest);
    throw e;
  }
}

/** Stops the node, then removes its testnet directory. */
async function stopNode(n: TestNode): Promise<void> {
  await n.node.stop();
  await removeTestnet(n.manifest);
}

/** Runs `f` against a node of its own (see the top of the file), then stops it. */
async function withOwnNode<T>(f: (n: TestNode) => Promise<T>): Promise<T> {
  const n = await startNode();
  try {
    return await f(n);
  } finally {
    await stopNode(n);
  }
}

let shared: TestNode;

beforeAll(async () => {
  shared = await startNode();
}, 60_000);

afterAll(async () => {
  if (shared !== undefined) await stopNode(shared);
});

type Account = { keyFile: string; address: string };
const account = (n: TestNode, i: number) => n.manifest.accounts[i] as Account;

/** `verity tx send` of 1 unit from `from`, with extra flags. */
function send(from: Account, ...args: string[]) {
  return runVerity(['tx', 'send', '--key', from.keyFile, '--to', RECIPIENT, '--amount', '1', ...args]);
}

/** Signs a transfer from `from` with `nonce` and waits for its commit, straight through the RPC. */
async function commitDirect(n: TestNode, from: Account, nonce: number): Promise<void> {
  const key = await loadKey(from.keyFile);
  const op = { type: 'transfer', to: addressFromPublicKey(new Uint8Array(32).fill(8)), amount: 1n } as const;
  const etx = signTransaction({ chainId: CHAIN_ID, sender: key.publicKey, nonce, op }, key.secretKey);
  expect((await n.rpc.submitTx(toHex(etx.bytes), 'commit')).receipt).toEqual({ ok: true });
}

/** How many transactions wait in the node's mempool. */
async function mempoolSize(n: TestNode): Promise<number> {
  return ((await n.rpc.status()).mempool as { size: number }).size;
}

describe('--rpc values', () => {
  it('accepts http(s) URLs, HOST:PORT and :PORT (this machine)', () => {
    expect(rpcBaseUrl('http://127.0.0.1:26601')).toBe('http://127.0.0.1:26601');
    expect(rpcBaseUrl('https://node.example/verity/')).toBe('https://node.example/verity');
    expect(rpcBaseUrl('HTTP://LOCALHOST:26601/')).toBe('http://localhost:26601');
    expect(rpcBaseUrl('localhost:26601')).toBe('http://localhost:26601');
    expect(rpcBaseUrl('127.0.0.1:26601')).toBe('http://127.0.0.1:26601');
    expect(rpcBaseUrl('node_0:26601')).toBe('http://node_0:26601');
    expect(rpcBaseUrl('[::1]:26601')).toBe('http://[::1]:26601');
    expect(rpcBaseUrl(':26603')).toBe('http://127.0.0.1:26603');
  });

  it('refuses anything else with a usage error that shows what it expects', () => {
    for (const bad of ['', 'localhost', '26601', 'localhost:99999', 'not a url', 'http://', 'http://:1'])
      expect(() => rpcBaseUrl(bad), bad).toThrow(
        `--rpc ${bad === '' ? '""' : bad} is not a URL (expected e.g. http://127.0.0.1:26601)`,
      );
    for (const bad of ['ftp://host:1', 'ws://host:1', 'http://user:pw@host:1', 'http://host:1/?x', 'x:y'])
      expect(() => rpcBaseUrl(bad), bad).toThrow(`--rpc ${bad} is not a node RPC URL`);
  });

  it('a malformed --rpc is exit 2 for every client command, not "is it running? (TypeError)"', async () => {
    const commands = [
      ['query', 'status'],
      ['query', 'account', RECIPIENT],
      ['proof', 'record', 'k', '--out', join(tmpdir(), 'verity-never-written.json')],
      ['log', 'consistency', '--from', '1', '--to', '2', '--genesis', shared.manifest.genesis],
      ['tx', 'send', '--key', account(shared, 0).keyFile, '--to', RECIPIENT, '--amount', '1', '--wait'],
    ];
    const runs = await Promise.all(commands.map((c) => runVerity([...c, '--rpc', 'localhost'])));
    for (const [i, r] of runs.entries()) {
      expect(r.code, `${commands[i]?.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(
        'error: --rpc localhost is not a URL (expected e.g. http://127.0.0.1:26601)',
      );
      expect(r.stderr).not.toContain('TypeError');
    }
  });

  it('HOST:PORT and :PORT reach the node', async () => {
    const port = new URL(shared.node.rpcUrl).port;
    const runs = await Promise.all(
      [`127.0.0.1:${port}`, `:${port}`].map((v) => runVerity(['query', 'status', '--rpc', v, '--json'])),
    );
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(parseJsonOutput(r).chainId).toBe(CHAIN_ID);
    }
  });
});

describe('tx send and nonces', () => {
  it('--wait with a nonce behind a gap: exit 5 at once, the facts in JSON, and the node keeps it', async () => {
    await withOwnNode(async (n) => {
      const from = account(n, 0);
      const started = Date.now();
      const r = await send(from, '--nonce', '3', '--wait', '--json', '--rpc', n.node.rpcUrl);
      expect(Date.now() - started).toBeLessThan(COMMIT_TIMEOUT_MS); // did not wait for the node
      expect(r.code, r.stdout + r.stderr).toBe(EXIT_PENDING);
      const gap = parseJsonOutput<{ id: string }>(r);
      expect(gap).toEqual({
        ok: false,
        code: 'NONCE_GAP',
        error: `transaction ${gap.id} has nonce 3 but account ${from.address} expects nonce 0 next: it is pending behind a gap and will not commit until nonces 0..2 do`,
        id: gap.id,
        from: from.address,
        nonce: 3,
        expectedNonce: 0,
        pending: true,
        height: null,
        receipt: null,
      });
      expect(await mempoolSize(n)).toBe(1);
    });
  });

  it('--wait with a nonce behind a gap, for people: one plain line on stdout', async () => {
    await withOwnNode(async (n) => {
      const from = account(n, 1);
      await commitDirect(n, from, 0); // the expected nonce counts what is committed
      const r = await send(from, '--nonce', '2', '--wait', '--rpc', n.node.rpcUrl);
      expect(r.code, r.stdout + r.stderr).toBe(EXIT_PENDING);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(
        new RegExp(
          `^transaction [0-9a-f]{64} has nonce 2 but account ${from.address} expects nonce 1 next: it is pending behind a gap and will not commit until nonce 1 does\\n$`,
        ),
      );
    });
  });

  it('without --wait a gap is a note on stderr, not a failure (pipelined nonces are fine)', async () => {
    await withOwnNode(async (n) => {
      const from = account(n, 0);
      const r = await send(from, '--nonce', '2', '--rpc', n.node.rpcUrl);
      expect(r.code, r.stderr).toBe(0);
      const id = /^submitted ([0-9a-f]{64}) \(nonce 2\)/.exec(r.stdout)?.[1];
      expect(id, r.stdout).toBeDefined();
      expect(r.stderr).toBe(
        `note: transaction ${id} has nonce 2 but account ${from.address} expects nonce 0 next: it is pending behind a gap and will not commit until nonces 0..1 do\n`,
      );
    });
  });

  it('a transaction behind a gap neither makes the node race through empty blocks nor blocks others; filling the gap commits it', async () => {
    await withOwnNode(async (n) => {
      const [a, b] = [account(n, 0), account(n, 1)];
      const r = await send(a, '--nonce', '2', '--rpc', n.node.rpcUrl, '--json');
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const { id } = parseJsonOutput<{ id: string }>(r);
      const before = (await n.rpc.status()).height as number;
      await new Promise((done) => setTimeout(done, 2000));
      // Empty blocks at the engine's pace (emptyBlockIntervalMs 200: under 10 a second here), not
      // one per turn of the event loop (about 70 a second before the fix).
      expect((await n.rpc.status()).height as number).toBeLessThan(before + 30);
      // Another account's submissions are answered and commit; then A's gap fills, and nonce 2 commits.
      await commitDirect(n, b, 0);
      await commitDirect(n, a, 0);
      await commitDirect(n, a, 1);
      let committed: { receipt: { ok: boolean } } | undefined;
      for (let i = 0; i < 50 && committed === undefined; i++) {
        committed = await n.rpc.get<{ receipt: { ok: boolean } }>(`/tx?id=${id}`).catch(() => undefined);
        if (committed === undefined) await new Promise((done) => setTimeout(done, 200));
      }
      expect(committed?.receipt.ok).toBe(true);
      expect(await mempoolSize(n)).toBe(0);
    });
  }, 60_000);

  it('a used nonce: exit 1 naming both nonces, with --wait or without', async () => {
    const from = account(shared, 0);
    await commitDirect(shared, from, 0);
    await commitDirect(shared, from, 1);
    const [human, json] = await Promise.all([
      send(from, '--nonce', '1', '--wait', '--rpc', shared.node.rpcUrl),
      send(from, '--nonce', '0', '--json', '--rpc', shared.node.rpcUrl),
    ]);
    expect(human.code, human.stdout + human.stderr).toBe(1);
    expect(human.stderr).toMatch(
      new RegExp(
        `^error: transaction [0-9a-f]{64} has nonce 1 but account ${from.address} expects nonce 2 next: nonce 1 is already used by a committed transaction; the node refused it \\[NONCE_TOO_LOW\\]\\n$`,
      ),
    );
    expect(json.code, json.stdout + json.stderr).toBe(1);
    expect(parseJsonOutput(json)).toMatchObject({
      ok: false,
      code: 'NONCE_TOO_LOW',
      from: from.address,
      nonce: 0,
      expectedNonce: 2,
      pending: false,
    });
  });

  it('a nonce too far ahead for the node: exit 1 with its reason', async () => {
    const from = account(shared, 1);
    const r = await send(from, '--nonce', '1000000', '--wait', '--rpc', shared.node.rpcUrl);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /has nonce 1000000 but account \S+ expects nonce 0 next: the node refused it: nonce 1000000 is more than \d+ ahead of the next nonce 0 \[NONCE_TOO_HIGH\]\n$/,
    );
  });
});

describe('tx send --wait when the node gives up waiting', () => {
  /**
   * A node that hands out nonce 3, says "not committed within 30000 ms" to the commit wait, and
   * then reports `nextNonceAfter` — as if pending nonces below 3 had been dropped meanwhile.
   */
  async function timingOutNode(nextNonceAfter: number): Promise<Server> {
    let accountCalls = 0;
    const server = createServer((req, res) => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/status') return reply(200, { chainId: CHAIN_ID, height: 9 });
      if (req.url?.startsWith('/account'))
        return reply(200, { nonce: 1, nextNonce: accountCalls++ === 0 ? 3 : nextNonceAfter });
      if (req.method === 'POST' && req.url === '/tx?mode=commit') {
        req.resume();
        return reply(504, {
          error: { code: 'COMMIT_TIMEOUT', message: 'not committed within 30000 ms; it may still be' },
        });
      }
      return reply(404, { error: { code: 'NOT_FOUND', message: req.url } });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  async function sendTo(server: Server): Promise<Awaited<ReturnType<typeof runVerity>>> {
    try {
      const rpc = `:${(server.address() as AddressInfo).port}`;
      return await send(account(shared, 0), '--wait', '--json', '--rpc', rpc);
    } finally {
      server.close();
    }
  }

  it('a gap that opened below the transaction meanwhile: exit 5 with the facts', async () => {
    const r = await sendTo(await timingOutNode(1));
    expect(r.code, r.stdout + r.stderr).toBe(EXIT_PENDING);
    expect(parseJsonOutput(r)).toMatchObject({
      code: 'NONCE_GAP',
      nonce: 3,
      expectedNonce: 1,
      pending: true,
    });
  });

  it('still in line: the timeout stands (exit 1, COMMIT_TIMEOUT)', async () => {
    const r = await sendTo(await timingOutNode(4));
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(parseJsonOutput(r)).toMatchObject({ ok: false, code: 'COMMIT_TIMEOUT' });
  });
});

describe('tx send --membership', () => {
  it('resolves validator names from the node and submits the request (refused by an engine that does not carry it out)', async () => {
    const node = shared.manifest.nodes[0] as TestnetManifest['nodes'][number];
    const key = join(node.home, 'keys', 'ed25519.json');
    const r = await runVerity([
      'tx',
      'send',
      '--key',
      key,
      '--membership',
      '--voters',
      node.name,
      '--wait',
      '--json',
      '--rpc',
      shared.node.rpcUrl,
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(1); // a failed receipt
    const sent = parseJsonOutput<{ id: string; receipt: unknown }>(r);
    expect(sent.receipt).toEqual({ ok: false, code: 'MEMBERSHIP_UNSUPPORTED' });
    const tx = await shared.rpc.get<{ op: unknown }>(`/tx?id=${sent.id}`);
    expect(tx.op).toEqual({ type: 'membership', voters: [node.address], learners: [] });

    const unknown = await runVerity([
      'tx',
      'send',
      '--key',
      key,
      '--membership',
      '--voters',
      `${node.name},nosuch`,
      '--rpc',
      shared.node.rpcUrl,
    ]);
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toContain(`--voters: unknown validator "nosuch" (validators: ${node.name})`);
  });
});
