// Operator commands against a real single-validator node (LevelDB, real timers), through the real
// `verity` binary: `tx broadcast` of what `tx sign` wrote, `query block` (latest, by hash, and the
// RPC's /block?hash=), `events` (the block stream), and `testnet status` over a manifest with a live, a refusing and a silent node.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_PENDING } from '../../cli/commands/client.ts';
import { STATUS_TIMEOUT_MS } from '../../cli/commands/testnet-status.ts';
import { addressFromPublicKey, formatAddress } from '../../ledger/address.ts';
import type { VerityNode } from '../../src/node/node.ts';
import type { TestnetManifest } from '../../src/node/testnet.ts';
import { RpcClient, type RpcClientError } from '../../src/rpc/client.ts';
import { type CliResult, parseJsonOutput, runVerity, VERITY } from '../helpers/cli.ts';
import { removeTestnet, singleValidatorTestnet, startSingleNode } from '../helpers/single-node.ts';

const CHAIN_ID = 'operator-test';
const RECIPIENT = formatAddress(addressFromPublicKey(new Uint8Array(32).fill(9)));

let manifest: TestnetManifest;
let node: VerityNode;
let rpc: RpcClient;
let dir: string;

beforeAll(async () => {
  manifest = await singleValidatorTestnet({ chainId: CHAIN_ID, accounts: 3 });
  node = await startSingleNode(manifest);
  rpc = new RpcClient(node.rpcUrl);
  dir = await mkdtemp(join(tmpdir(), 'verity-operator-'));
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await removeTestnet(manifest);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
});

type Account = TestnetManifest['accounts'][number];
const account = (i: number) => manifest.accounts[i] as Account;

/** `verity tx sign` of a transfer of 1 unit (human output: the hex; --out FILE: the JSON). */
function sign(from: Account, nonce: number, ...args: string[]): Promise<CliResult> {
  return runVerity([
    'tx',
    'sign',
    '--key',
    from.keyFile,
    '--chain-id',
    CHAIN_ID,
    '--nonce',
    String(nonce),
    '--to',
    RECIPIENT,
    '--amount',
    '1',
    ...args,
  ]);
}

/** Runs the real CLI with `input` on its standard input. */
function runWithInput(args: string[], input: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VERITY, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

async function rpcError(p: Promise<unknown>): Promise<[number, string]> {
  try {
    await p;
  } catch (e) {
    return [(e as RpcClientError).status, (e as RpcClientError).code];
  }
  return [200, 'OK'];
}

describe('verity tx broadcast', () => {
  it('submits what tx sign wrote (its --out JSON, or the hex it prints), as tx send reports it', async () => {
    const from = account(0);
    const file = join(dir, 'tx0.json');
    const [first, second] = await Promise.all([sign(from, 0, '--out', file), sign(from, 1)]);
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    const hexFile = join(dir, 'tx1.hex');
    await writeFile(hexFile, second.stdout);

    const waited = await runVerity(['tx', 'broadcast', file, '--wait', '--json', '--rpc', node.rpcUrl]);
    expect(waited.code, waited.stdout + waited.stderr).toBe(0);
    const committed = parseJsonOutput<{ id: string; height: number }>(waited);
    expect(committed).toEqual({
      id: committed.id,
      height: committed.height,
      receipt: { ok: true },
      nonce: 0,
      from: from.address,
      expectedNonce: 0,
      pending: false,
    });
    expect(committed.height).toBeGreaterThan(0);
    expect((await rpc.get(`/tx?id=${committed.id}`)).nonce).toBe(0);

    const submitted = await runVerity(['tx', 'broadcast', hexFile, '--rpc', node.rpcUrl]);
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(submitted.stdout).toMatch(
      /^submitted [0-9a-f]{64} \(nonce 1\); check with: verity query tx [0-9a-f]{64}\n$/,
    );
  }, 120_000);

  it('reads standard input with -', async () => {
    const from = account(2);
    const signed = await sign(from, 0);
    expect(signed.code, signed.stderr).toBe(0);
    const r = await runWithInput(
      ['tx', 'broadcast', '-', '--wait', '--json', '--rpc', node.rpcUrl],
      signed.stdout,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(parseJsonOutput(r)).toMatchObject({ nonce: 0, from: from.address, receipt: { ok: true } });
  }, 120_000);

  it('--wait with a nonce behind a gap: exit 5 and the NONCE_GAP facts, like tx send', async () => {
    const from = account(1);
    const file = join(dir, 'gap.json');
    const signed = await sign(from, 3, '--out', file);
    expect(signed.code, signed.stderr).toBe(0);
    const r = await runVerity(['tx', 'broadcast', file, '--wait', '--json', '--rpc', node.rpcUrl]);
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
  }, 120_000);

  it('a transaction for another chain: exit 1, one line saying how to fix it; a bad FILE: exit 2', async () => {
    const wrong = join(dir, 'wrong-chain.json');
    const garbage = join(dir, 'garbage.json');
    await writeFile(garbage, '{"id": "nope"}\n');
    const signed = await runVerity([
      'tx',
      'sign',
      '--key',
      account(0).keyFile,
      '--chain-id',
      'other-chain',
      '--nonce',
      '0',
      '--put',
      'k=v',
      '--out',
      wrong,
    ]);
    expect(signed.code, signed.stderr).toBe(0);
    const [chain, missing, bad] = await Promise.all([
      runVerity(['tx', 'broadcast', wrong, '--wait', '--rpc', node.rpcUrl]),
      runVerity(['tx', 'broadcast', join(dir, 'absent.json'), '--rpc', node.rpcUrl]),
      runVerity(['tx', 'broadcast', garbage, '--rpc', node.rpcUrl]),
    ]);
    expect(chain.code, chain.stderr).toBe(1);
    expect(chain.stderr).toBe(
      `error: ${wrong} is signed for chain "other-chain" but the node at ${node.rpcUrl} runs "${CHAIN_ID}"; sign it again with --chain-id ${CHAIN_ID} [TX_WRONG_CHAIN]\n`,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`error: cannot read ${join(dir, 'absent.json')}: ENOENT`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`error: ${garbage} is not a signed transaction`);
  }, 120_000);
});

describe('verity query block', () => {
  it('without a height: the latest block', async () => {
    const before = (await rpc.status()).height;
    const r = await runVerity(['query', 'block', '--json', '--rpc', node.rpcUrl]);
    const after = (await rpc.status()).height;
    expect(r.code, r.stderr).toBe(0);
    const block = parseJsonOutput<{ height: number; hash: string }>(r);
    expect(block.height).toBeGreaterThanOrEqual(Math.max(before, 1));
    expect(block.height).toBeLessThanOrEqual(after);
  }, 60_000);

  it('--hash HEX: the block with that hash; a malformed one is a usage error, an unknown one exit 1', async () => {
    const one = await rpc.get<{ hash: string; height: number }>('/block?height=1');
    const [byHash, prefixed, malformed, both, unknown] = await Promise.all([
      runVerity(['query', 'block', '--hash', one.hash, '--json', '--rpc', node.rpcUrl]),
      runVerity(['query', 'block', '--hash', `0x${one.hash.toUpperCase()}`, '--json', '--rpc', node.rpcUrl]),
      runVerity(['query', 'block', '--hash', 'xyz', '--rpc', node.rpcUrl]),
      runVerity(['query', 'block', '1', '--hash', one.hash, '--rpc', node.rpcUrl]),
      runVerity(['query', 'block', '--hash', 'ab'.repeat(32), '--rpc', node.rpcUrl]),
    ]);
    expect(byHash.code, byHash.stderr).toBe(0);
    expect(parseJsonOutput(byHash)).toMatchObject({ height: 1, hash: one.hash });
    expect(parseJsonOutput(prefixed)).toMatchObject({ height: 1, hash: one.hash });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('error: --hash must be a block hash: 64 hex digits, got "xyz"');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('error: give HEIGHT or --hash, not both');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`error: no committed block has hash ${'ab'.repeat(32)} [NOT_FOUND]\n`);
  }, 60_000);

  it('GET /block?hash=: 200 for a known hash, 400 INVALID_PARAMETER if malformed, 404 if unknown', async () => {
    const two = await rpc.get<{ hash: string; height: number }>('/block?height=2');
    expect((await rpc.get(`/block?hash=${two.hash}`)).height).toBe(2);
    expect(await rpcError(rpc.get('/block?hash=1234'))).toEqual([400, 'INVALID_PARAMETER']);
    expect(await rpcError(rpc.get(`/block?hash=${'z'.repeat(64)}`))).toEqual([400, 'INVALID_PARAMETER']);
    expect(await rpcError(rpc.get(`/block?hash=${two.hash}&height=2`))).toEqual([400, 'INVALID_PARAMETER']);
    expect(await rpcError(rpc.get(`/block?hash=${'00'.repeat(32)}`))).toEqual([404, 'NOT_FOUND']);
  });
});

describe('verity query txs', () => {
  it('--account: what the account sent or received, newest first, paged; --from/--to: a height range', async () => {
    const a0 = account(0).address;
    const [all, first, human] = await Promise.all([
      runVerity(['query', 'txs', '--account', a0, '--json', '--rpc', node.rpcUrl]),
      runVerity(['query', 'txs', '--account', a0, '--limit', '1', '--json', '--rpc', node.rpcUrl]),
      runVerity(['query', 'txs', '--account', a0, '--limit', '1', '--rpc', node.rpcUrl]),
    ]);
    expect(all.code, all.stderr).toBe(0);
    type Tx = {
      id: string;
      from: string;
      nonce: number;
      height: number;
      position: number;
      receipt: { ok: boolean };
    };
    const listed = parseJsonOutput<{ account: string; txs: Tx[]; indexedFrom: number }>(all);
    expect(listed.account).toBe(a0);
    expect(listed.indexedFrom).toBe(1);
    // The broadcast tests above committed nonces 0 and 1 of account 0.
    expect(listed.txs.map((t) => [t.from, t.nonce, t.receipt.ok])).toEqual([
      [a0, 1, true],
      [a0, 0, true],
    ]);
    for (const t of listed.txs)
      expect((await rpc.get<{ height: number }>(`/tx?id=${t.id}`)).height).toBe(t.height);
    const page = parseJsonOutput<{ txs: Tx[]; next?: { before: number } }>(first);
    expect(page.txs.map((t) => t.nonce)).toEqual([1]);
    expect(page.next).toEqual({ before: listed.txs[0]?.height });
    expect(human.stdout).toMatch(/^HEIGHT +POS +TX +FROM +OPERATION +RECEIPT\n/);
    expect(human.stdout).toContain(
      `more: verity query txs --account ${a0} --before ${listed.txs[0]?.height}`,
    );

    const lo = Math.min(...listed.txs.map((t) => t.height));
    const hi = Math.max(...listed.txs.map((t) => t.height));
    const range = parseJsonOutput<{ from: number; to: number; txs: Tx[] }>(
      await runVerity([
        'query',
        'txs',
        '--from',
        String(lo),
        '--to',
        String(hi),
        '--json',
        '--rpc',
        node.rpcUrl,
      ]),
    );
    expect(range).toMatchObject({ from: lo, to: hi });
    for (const t of listed.txs) expect(range.txs.map((x) => x.id)).toContain(t.id);
  }, 120_000);

  it('usage errors exit 2; the RPC answers 400 with the reason', async () => {
    const runs = await Promise.all([
      runVerity(['query', 'txs', '--rpc', node.rpcUrl]),
      runVerity(['query', 'txs', '--account', account(0).address, '--from', '1', '--rpc', node.rpcUrl]),
      runVerity(['query', 'txs', '--account', account(0).address, '--limit', '0', '--rpc', node.rpcUrl]),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(2);
    expect(await rpcError(rpc.get('/txs?from=0'))).toEqual([400, 'INVALID_PARAMETER']);
    expect(await rpcError(rpc.get('/txs?account=nope'))).toEqual([400, 'INVALID_ADDRESS']);
    expect(await rpcError(rpc.get('/txs?account=' + account(0).address + '&limit=101'))).toEqual([
      400,
      'INVALID_PARAMETER',
    ]);
  }, 60_000);
});

describe('verity events', () => {
  it('--count N --json: one JSON object per committed block, consecutive heights, then exit 0', async () => {
    const start = (await rpc.status()).height;
    const watching = runVerity(['events', '--count', '2', '--json', '--rpc', node.rpcUrl], {
      timeoutMs: 60_000,
    });
    // Give the stream a moment to open, then make the node commit (it may make no empty blocks).
    await new Promise((r) => setTimeout(r, 1500));
    const tx = await sign(account(2), 1); // nonce 0 went in the test of standard input above
    const sent = await runWithInput(['tx', 'broadcast', '-', '--rpc', node.rpcUrl], tx.stdout);
    expect(sent.code, sent.stderr).toBe(0);
    const r = await watching;
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    for (const e of lines) {
      expect(Object.keys(e).sort()).toEqual(['hash', 'height', 'time', 'txs']);
      expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(e.height as number).toBeGreaterThan(start);
    }
    expect((lines[1]?.height as number) - (lines[0]?.height as number)).toBe(1);
    // The hash is the block's: query block agrees.
    const block = parseJsonOutput<{ hash: string }>(
      await runVerity(['query', 'block', String(lines[0]?.height), '--json', '--rpc', node.rpcUrl]),
    );
    expect(block.hash).toBe(lines[0]?.hash);
  }, 120_000);

  it('a node that is not there: exit 1 saying so; a bad --count: exit 2', async () => {
    const down = await runVerity(['events', '--rpc', 'http://127.0.0.1:9']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the node at http:\/\/127\.0\.0\.1:9/);
    const bad = await runVerity(['events', '--count', 'x']);
    expect(bad.code).toBe(2);
  }, 60_000);
});

describe('verity testnet status', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.closeAllConnections();
    for (const s of servers) s.close();
  });

  async function listening(server: Server): Promise<number> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  /** A port nothing listens on (it did a moment ago). */
  async function closedPort(): Promise<number> {
    const s = createServer();
    const port = await listening(s);
    await new Promise((resolve) => s.close(resolve));
    return port;
  }

  /** A testnet directory whose manifest lists these nodes (the real node's genesis). */
  async function manifestWith(nodes: Array<{ name: string; rpc: string }>): Promise<string> {
    const d = await mkdtemp(join(dir, 'net-'));
    const real = manifest.nodes[0] as TestnetManifest['nodes'][number];
    const m = { ...manifest, nodes: nodes.map((n) => ({ ...real, ...n })) };
    await writeFile(join(d, 'testnet.json'), JSON.stringify(m));
    return d;
  }

  it('every node up: one row each, exit 0', async () => {
    const d = await manifestWith([{ name: 'node0', rpc: node.rpcUrl }]);
    const [human, json] = await Promise.all([
      runVerity(['testnet', 'status', '--dir', d]),
      runVerity(['testnet', 'status', '--dir', d, '--json']),
    ]);
    expect(human.code, human.stderr).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`testnet "${CHAIN_ID}" (tendermint) in ${d}: 1 of 1 nodes up`);
    expect(lines[1]).toMatch(/^NODE +RPC +STATUS +HEIGHT +ROUND +STEP +LEADER +PEERS +MEMPOOL +LAST COMMIT$/);
    expect(lines[2]).toMatch(
      new RegExp(`^node0 +${node.rpcUrl} +up +\\d+ +\\d+ +\\S+ +node0 +0 +\\d+ +\\d+(\\.\\d)? s ago$`),
    );
    expect(lines).toHaveLength(3);
    expect(json.code, json.stderr).toBe(0);
    const status = parseJsonOutput<{ nodes: Array<Record<string, unknown>> }>(json);
    expect(status).toMatchObject({ chainId: CHAIN_ID, engine: 'tendermint', ok: true, up: 1, down: 0 });
    const n0 = status.nodes[0] as Record<string, number>;
    expect(n0).toMatchObject({ name: 'node0', rpc: node.rpcUrl, up: true, leader: 0, leaderName: 'node0' });
    expect(n0.height).toBeGreaterThan(0);
    expect(n0.lastCommitAgeMs).toBeGreaterThanOrEqual(0);
    expect(n0.lastCommitAgeMs).toBeLessThan(60_000);
  }, 60_000);

  it('a node that refuses or does not answer is down (after a short timeout): exit 1', async () => {
    const silent = createServer(() => {}); // accepts, never answers
    servers.push(silent);
    const silentPort = await listening(silent);
    const refusing = `http://127.0.0.1:${await closedPort()}`;
    const d = await manifestWith([
      { name: 'node0', rpc: node.rpcUrl },
      { name: 'node1', rpc: refusing },
      { name: 'node2', rpc: `http://127.0.0.1:${silentPort}` },
    ]);
    const [human, json] = await Promise.all([
      runVerity(['testnet', 'status', '--dir', d]),
      runVerity(['testnet', 'status', '--dir', d, '--json']),
    ]);
    expect(json.code, json.stderr).toBe(1);
    const status = parseJsonOutput<{ nodes: unknown[] }>(json);
    expect(status).toMatchObject({ ok: false, up: 1, down: 2 });
    expect(status.nodes[0]).toMatchObject({ name: 'node0', up: true });
    expect(status.nodes[1]).toEqual({
      name: 'node1',
      rpc: refusing,
      up: false,
      error: 'unreachable (ECONNREFUSED)',
    });
    expect(status.nodes[2]).toMatchObject({
      name: 'node2',
      up: false,
      error: `no answer within ${STATUS_TIMEOUT_MS / 1000} s`,
    });
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(': 1 of 3 nodes up\n');
    expect(human.stdout).toMatch(new RegExp(`\\nnode1 +${refusing} +down +- +- `));
    expect(human.stdout).toContain('\nnode1 is down: unreachable (ECONNREFUSED)\n');
    expect(human.stdout).toContain(`\nnode2 is down: no answer within ${STATUS_TIMEOUT_MS / 1000} s\n`);
  }, 60_000);

  it('no testnet in --dir: a usage error that says how to create one', async () => {
    const empty = await mkdtemp(join(dir, 'empty-'));
    const r = await runVerity(['testnet', 'status', '--dir', empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: no testnet at ${empty} (missing testnet.json); create one with`);
  }, 60_000);
});
