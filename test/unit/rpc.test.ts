// The node's RPC against a real single-validator node (LevelDB, real timers), networked in-process.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../crypto/bytes.ts';
import { addressFromPublicKey, formatAddress } from '../../ledger/address.ts';
import { verifyBundle } from '../../ledger/bundle.ts';
import { parseGenesis, trustAnchor } from '../../ledger/genesis.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import type { VerityNode } from '../../src/node/node.ts';
import type { TestnetManifest } from '../../src/node/testnet.ts';
import { RpcClient, type RpcClientError } from '../../src/rpc/client.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../../src/schemes.ts';
import { removeTestnet, singleValidatorTestnet, startSingleNode } from '../helpers/single-node.ts';

let testnet: TestnetManifest | undefined;
let node: VerityNode;
let rpc: RpcClient;
let genesisFile: string;
let account: Awaited<ReturnType<typeof loadKey>>;
let batcher: Awaited<ReturnType<typeof loadKey>>;
let chainId: string;

beforeAll(async () => {
  const m = await singleValidatorTestnet({ chainId: 'rpc-test', accounts: 2 });
  testnet = m;
  chainId = m.chainId;
  genesisFile = m.genesis;
  node = await startSingleNode(m);
  rpc = new RpcClient(node.rpcUrl);
  account = await loadKey(m.accounts[0]!.keyFile);
  batcher = await loadKey(m.accounts[1]!.keyFile);
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await removeTestnet(testnet);
});

async function code(p: Promise<unknown>): Promise<[number, string]> {
  try {
    await p;
  } catch (e) {
    return [(e as RpcClientError).status, (e as RpcClientError).code];
  }
  return [200, 'OK'];
}

describe('RPC', () => {
  it('serves status, validators and health', async () => {
    const s = await rpc.status();
    expect(s.chainId).toBe(chainId);
    expect(s.engine).toBe('tendermint');
    expect((await rpc.get('/health')).ok).toBe(true);
    expect(((await rpc.get('/validators')).validators as unknown[]).length).toBe(1);
  });

  it('commits a transaction with mode=commit and serves it, its block, the account and proofs', async () => {
    const from = addressFromPublicKey(account.publicKey);
    const to = addressFromPublicKey(new Uint8Array(32).fill(5));
    const etx = signTransaction(
      { chainId, sender: account.publicKey, nonce: 0, op: { type: 'transfer', to, amount: 7n } },
      account.secretKey,
    );
    const r = await rpc.submitTx(toHex(etx.bytes), 'commit');
    expect(r.id).toBe(toHex(etx.id));
    expect(r.receipt).toEqual({ ok: true });
    const tx = await rpc.get(`/tx?id=${r.id}`);
    expect(tx.height).toBe(r.height);
    const block = await rpc.get(`/block?height=${r.height}`);
    expect((block.txs as Array<{ id: string }>)[0]?.id).toBe(r.id);
    // txs=ids: the same block, each transaction as its id alone.
    const ids = await rpc.get(`/block?height=${r.height}&txs=ids`);
    expect(ids.txs).toEqual((block.txs as Array<{ id: string }>).map((t) => ({ id: t.id })));
    expect({ ...ids, txs: undefined }).toEqual({ ...block, txs: undefined });
    expect((await rpc.get(`/block?hash=${block.hash}&txs=ids`)).txs).toEqual(ids.txs);
    const acct = await rpc.account(formatAddress(to));
    expect(acct.balance).toBe('7');
    expect((await rpc.account(formatAddress(from))).nextNonce).toBe(1);
    const genesis = parseGenesis(JSON.parse(await readFile(genesisFile, 'utf8')));
    for (const path of [
      `/proof/tx?id=${r.id}`,
      `/proof/account?address=${formatAddress(to)}`,
      '/proof/record?key=nothing',
      '/proof/consistency?from=1',
    ]) {
      const bundle = await rpc.get(path);
      const v = verifyBundle(bundle, trustAnchor(genesis), { schemes: ALL_CERTIFICATE_SCHEMES });
      expect(v.ok, `${path}: ${JSON.stringify(v)}`).toBe(true);
    }
    // Submitting it again reports where it already is.
    const again = await rpc.submitTx(toHex(etx.bytes), 'sync');
    expect(again.height).toBe(r.height);
  });

  it('answers a resubmitted replay with DUPLICATE at once instead of waiting for a commit that cannot come', async () => {
    // A fresh transaction for an already used nonce: refused as a replay, then remembered as seen.
    const to = addressFromPublicKey(new Uint8Array(32).fill(6));
    const stale = signTransaction(
      { chainId, sender: account.publicKey, nonce: 0, op: { type: 'transfer', to, amount: 1n } },
      account.secretKey,
    );
    expect(await code(rpc.submitTx(toHex(stale.bytes), 'sync'))).toEqual([400, 'NONCE_TOO_LOW']);
    const started = Date.now();
    expect(await code(rpc.submitTx(toHex(stale.bytes), 'commit'))).toEqual([400, 'DUPLICATE']);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('rejects bad input with a 4xx and a code, and keeps serving', async () => {
    const base = node.rpcUrl;
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${base}/tx?mode=sync`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
      });
    const cases: Array<[Promise<Response>, number, string]> = [
      [post('{not json'), 400, 'MALFORMED_JSON'],
      // Valid JSON of the wrong shape (null used to reach a TypeError inside the parser's catch).
      [post('null'), 400, 'MALFORMED_JSON'],
      [post('5'), 400, 'MALFORMED_JSON'],
      [post('["00"]'), 400, 'MALFORMED_JSON'],
      [post('{"tx": 5}'), 400, 'MALFORMED_JSON'],
      [fetch(`${base}/txs`, { method: 'POST', body: 'null' }), 400, 'MALFORMED_JSON'],
      [fetch(`${base}/txs`, { method: 'POST', body: '{"txs": {}}' }), 400, 'MALFORMED_JSON'],
      [post(JSON.stringify({ tx: 'zz' })), 400, 'TX_MALFORMED'],
      [post(JSON.stringify({ tx: 'c0' })), 400, 'TX_MALFORMED'],
      [post(JSON.stringify({ tx: 'ab'.repeat(200_000) })), 413, 'BODY_TOO_LARGE'],
      [post(`{"tx":${'['.repeat(50_000)}${']'.repeat(50_000)}}`), 400, 'MALFORMED_JSON'], // nested: refused before parsing
      [fetch(`${base}/tx?mode=bogus`, { method: 'POST', body: '{}' }), 400, 'INVALID_PARAMETER'],
      [fetch(`${base}/block?height=-1`), 400, 'INVALID_PARAMETER'],
      [fetch(`${base}/block?height=999999`), 404, 'NOT_FOUND'],
      [fetch(`${base}/block?height=1&txs=raw`), 400, 'INVALID_PARAMETER'],
      [fetch(`${base}/account?address=verity1nope`), 400, 'INVALID_ADDRESS'],
      [fetch(`${base}/tx?id=00`), 400, 'INVALID_PARAMETER'],
      [fetch(`${base}/nope`), 404, 'NOT_FOUND'],
      [fetch(`${base}/status`, { method: 'DELETE' }), 405, 'METHOD_NOT_ALLOWED'],
    ];
    for (const [p, status, c] of cases) {
      const res = await p;
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, c).toBe(status);
      expect(body.error.code).toBe(c);
      expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/); // no stack traces
    }
    // A transaction for another chain and one with a bad signature.
    const other = signTransaction(
      { chainId: 'other', sender: account.publicKey, nonce: 1, op: { type: 'stake', amount: 1n } },
      account.secretKey,
    );
    expect(await code(rpc.submitTx(toHex(other.bytes), 'sync'))).toEqual([400, 'TX_WRONG_CHAIN']);
    const good = signTransaction(
      { chainId, sender: account.publicKey, nonce: 1, op: { type: 'stake', amount: 1n } },
      account.secretKey,
    );
    const forged = good.bytes.slice();
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 1;
    expect(await code(rpc.submitTx(toHex(forged), 'sync'))).toEqual([400, 'TX_BAD_SIGNATURE']);
    const replay = signTransaction(
      { chainId, sender: account.publicKey, nonce: 0, op: { type: 'stake', amount: 1n } },
      account.secretKey,
    );
    expect(await code(rpc.submitTx(toHex(replay.bytes), 'sync'))).toEqual([400, 'NONCE_TOO_LOW']);
    expect((await rpc.get('/health')).ok).toBe(true);
  });

  it('POST /txs answers each transaction in order and admits the valid ones as one unit: one block holds them all', async () => {
    const to = addressFromPublicKey(new Uint8Array(32).fill(7));
    const txs = Array.from({ length: 40 }, (_, nonce) =>
      signTransaction(
        { chainId, sender: batcher.publicKey, nonce, op: { type: 'transfer', to, amount: 1n } },
        batcher.secretKey,
      ),
    );
    const hex = txs.map((t) => toHex(t.bytes));
    // Two bad entries among them: a non-hex string and a transaction for another chain.
    const alien = signTransaction(
      { chainId: 'other', sender: batcher.publicKey, nonce: 0, op: { type: 'stake', amount: 1n } },
      batcher.secretKey,
    );
    // …and one whose signature does not verify (checked with the others, on the verification pool).
    const forged = signTransaction(
      { chainId, sender: batcher.publicKey, nonce: 99, op: { type: 'stake', amount: 1n } },
      batcher.secretKey,
    ).bytes.slice();
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 1;
    const body = [
      ...hex.slice(0, 10),
      'zz',
      ...hex.slice(10, 30),
      toHex(alien.bytes),
      ...hex.slice(30),
      toHex(forged),
    ];
    const { results } = await rpc.post<{ results: Array<{ id?: string; ok: boolean; code?: string }> }>(
      '/txs',
      { txs: body },
    );
    expect(results).toHaveLength(43);
    expect(results[10]).toEqual({ ok: false, code: 'INVALID_HEX' });
    expect(results[31]).toEqual({ ok: false, code: 'TX_WRONG_CHAIN' });
    expect(results[42]).toEqual({ ok: false, code: 'TX_BAD_SIGNATURE' });
    const answered = results.filter((_, i) => i !== 10 && i !== 31 && i !== 42);
    expect(answered).toEqual(txs.map((t) => ({ id: toHex(t.id), ok: true })));
    // Built while the batch was being admitted, a block would hold only its first transactions.
    const heights = new Set<number>();
    for (const t of txs) {
      let where: { height?: number } | undefined;
      for (let i = 0; i < 100 && where?.height === undefined; i++) {
        where = await rpc.get<{ height?: number }>(`/tx?id=${toHex(t.id)}`).catch(() => undefined);
        if (where?.height === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      heights.add(where?.height as number);
    }
    expect([...heights]).toHaveLength(1);
  });

  it('exposes Prometheus metrics', async () => {
    const text = await (await fetch(`${node.rpcUrl}/metrics`)).text();
    expect(text).toMatch(/verity_height \d+/);
    expect(text).toContain('verity_tx_commit_latency_seconds_bucket');
    expect(text).toContain('verity_mempool_size');
    expect(text).toContain('verity_tx_gossip_dropped_total{reason="mempool_full"} 0');
    expect(text).toContain('verity_tx_gossip_dropped_total{reason="intake_full"} 0');
    // node.verify_threads = "auto": one fewer than the cores, at most 4; submissions went through it.
    const threads = Number(/^verity_verify_threads (\d+)$/m.exec(text)?.[1]);
    expect(threads).toBe(Math.min(4, availableParallelism() - 1));
    const onWorkers = Number(
      /^verity_verify_pool_checks_total\{where="worker"\} (\d+)$/m.exec(text)?.[1] ?? 0,
    );
    expect(onWorkers > 0).toBe(threads > 0);
    expect(text).toContain('verity_verify_pool_checks_total{where="event_loop"} 0');
    // A lone validator never checks another's block, so nothing overtakes its intake checks.
    expect(text).toContain('verity_verify_pool_skipped_total 0');
    // The event loop's busy time (a counter that has counted this node's start) and last window's share.
    expect(Number(/^verity_event_loop_busy_seconds_total (\S+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
    const share = Number(/^verity_event_loop_utilization (\S+)$/m.exec(text)?.[1]);
    expect(share >= 0 && share <= 1).toBe(true);
  });
});
