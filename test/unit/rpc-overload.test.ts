// An overloaded node refuses submissions with 503 before decoding or verifying them; a batch
// answers a client's malformed entries one by one, and never passes off a node fault as one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { StorageError } from '../../ledger/kv.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { RpcClient, RpcClientError } from '../../src/rpc/client.ts';
import { type NodeApi, RpcServer } from '../../src/rpc/server.ts';
import type { AdmitResult } from '../../src/runtime/mempool.ts';
import { silentLogger } from '../../src/runtime/ports.ts';

let server: RpcServer;
let client: RpcClient;
let submitted = 0;

beforeAll(async () => {
  // Only what POST /tx and /txs touch before admission; anything else would throw.
  const api = {
    overloaded: () => true,
    syncingAnswer: () => undefined,
    submit: () => {
      submitted++;
      throw new Error('submit must not be reached');
    },
    submitMany: () => {
      submitted++;
      throw new Error('submitMany must not be reached');
    },
  } as unknown as NodeApi;
  server = new RpcServer(api, {
    host: '127.0.0.1',
    port: 0,
    maxBodyBytes: 64 * 1024,
    commitTimeoutMs: 1000,
    logger: silentLogger,
  });
  const { port } = await server.listen();
  client = new RpcClient(`http://127.0.0.1:${port}`);
});

afterAll(async () => {
  await server.close();
});

async function refusal(p: Promise<unknown>): Promise<[number, string]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RpcClientError) return [e.status, e.code];
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('rpc under overload', () => {
  it('POST /tx: 503 MEMPOOL_FULL even for bytes that are not a transaction (nothing decoded)', async () => {
    expect(await refusal(client.post('/tx?mode=sync', { tx: 'zz-not-hex' }))).toEqual([503, 'MEMPOOL_FULL']);
  });

  it('POST /txs: the whole batch is refused with 503 MEMPOOL_FULL', async () => {
    expect(await refusal(client.post('/txs', { txs: ['00', '01'] }))).toEqual([503, 'MEMPOOL_FULL']);
    expect(submitted).toBe(0);
  });
});

describe('rpc on a node catching up: NODE_SYNCING, 503', () => {
  const syncing = {
    ok: false,
    code: 'NODE_SYNCING',
    reason: 'this node is catching up (at height 3, its peers at 40), so…',
  } as const;

  it('overloaded while catching up: /tx and /txs say NODE_SYNCING, and nothing is decoded', async () => {
    const api = { overloaded: () => true, syncingAnswer: () => syncing };
    await withServer(api, {}, async (c) => {
      expect(await refusal(c.post('/tx?mode=sync', { tx: 'zz-not-hex' }))).toEqual([503, 'NODE_SYNCING']);
      expect(await refusal(c.post('/txs', { txs: ['00'] }))).toEqual([503, 'NODE_SYNCING']);
    });
  });

  it("the node's own NODE_SYNCING answer is a 503 (retry), where NONCE_TOO_HIGH is a 400", async () => {
    const etx = signedTransfer(5);
    const submitWith = (answer: AdmitResult) =>
      withServer(
        {
          overloaded: () => false,
          genesis: { chainId: 'c' },
          chain: { getTxLocation: async () => undefined },
          submit: async () => answer,
          pending: () => false,
        },
        {},
        (c) => refusal(c.post('/tx?mode=sync', { tx: toHex(etx.bytes) })),
      );
    expect(await submitWith(syncing)).toEqual([503, 'NODE_SYNCING']);
    expect(await submitWith({ ok: false, code: 'NONCE_TOO_HIGH', reason: 'ahead' })).toEqual([
      400,
      'NONCE_TOO_HIGH',
    ]);
  });

  it('a batch entry with no room says NODE_SYNCING on a node catching up, MEMPOOL_FULL otherwise', async () => {
    const etx = signedTransfer(6);
    const entry = (syncingAnswer: () => unknown) =>
      withServer(
        {
          overloaded: () => false,
          genesis: { chainId: 'c' },
          hasRoomFor: () => false,
          submitMany: async () => [],
          syncingAnswer,
        },
        {},
        (c) => c.post('/txs', { txs: [toHex(etx.bytes)] }),
      );
    const id = toHex(etx.id);
    expect(await entry(() => syncing)).toEqual({ results: [{ id, ok: false, code: 'NODE_SYNCING' }] });
    expect(await entry(() => undefined)).toEqual({ results: [{ id, ok: false, code: 'MEMPOOL_FULL' }] });
  });
});

/** A transfer signed for chain "c" (the fake nodes' chain). */
function signedTransfer(seed: number) {
  const k = ed25519.keygen(new Uint8Array(32).fill(seed));
  return signTransaction(
    {
      chainId: 'c',
      sender: k.publicKey,
      nonce: 0,
      op: { type: 'transfer', to: addressFromPublicKey(k.publicKey), amount: 1n },
    },
    k.secretKey,
  );
}

/** Runs `body` against an RPC server over a fake node `api`, then closes it. */
async function withServer<T>(
  api: Partial<Record<keyof NodeApi, unknown>>,
  opts: { commitTimeoutMs?: number; logger?: typeof silentLogger },
  body: (c: RpcClient) => Promise<T>,
): Promise<T> {
  const s = new RpcServer(api as unknown as NodeApi, {
    host: '127.0.0.1',
    port: 0,
    maxBodyBytes: 64 * 1024,
    commitTimeoutMs: opts.commitTimeoutMs ?? 1000,
    logger: opts.logger ?? silentLogger,
  });
  const { port } = await s.listen();
  try {
    return await body(new RpcClient(`http://127.0.0.1:${port}`));
  } finally {
    await s.close();
  }
}

describe('rpc batch submission: only a malformed transaction is the client’s', () => {
  it('answers malformed entries per transaction, but a fault of the node itself is a 500', async () => {
    const etx = signedTransfer(3);
    // A bug in the admission check (not an error a client can cause) must not read as TX_MALFORMED.
    const api = {
      overloaded: () => false,
      genesis: { chainId: 'c' },
      submitMany: async () => [],
      hasRoomFor: () => {
        throw new TypeError('a bug');
      },
    };
    const errors: string[] = [];
    const logger = { ...silentLogger, error: (msg: string) => errors.push(msg) };
    await withServer(api, { logger }, async (c) => {
      // Entries the client got wrong never reach the admission check: one result each.
      expect(await c.post('/txs', { txs: ['zz', 7, 'c0'] })).toEqual({
        results: [
          { ok: false, code: 'INVALID_HEX' },
          { ok: false, code: 'TX_MALFORMED' },
          { ok: false, code: 'TX_MALFORMED' },
        ],
      });
      expect(await refusal(c.post('/txs', { txs: [toHex(etx.bytes)] }))).toEqual([500, 'INTERNAL']);
    });
    expect(errors).toEqual(['rpc handler failed']);
  });
});

describe('rpc mode=commit: only the wait running out is COMMIT_TIMEOUT', () => {
  const etx = signedTransfer(4);
  const storageFaults: string[] = [];
  const commitWith = (waitForCommit: NodeApi['waitForCommit']): Promise<[number, string]> =>
    withServer(
      {
        storageFault: (e: StorageError) => storageFaults.push(e.code),
        overloaded: () => false,
        genesis: { chainId: 'c' },
        chain: { getTxLocation: async () => undefined },
        submit: async () => ({ ok: true }),
        noteSubmitted: () => undefined,
        waitForCommit,
      },
      { commitTimeoutMs: 50 },
      (c) => refusal(c.post('/tx?mode=commit', { tx: toHex(etx.bytes) })),
    );

  it('a wait that runs out: 504 COMMIT_TIMEOUT', async () => {
    const never: NodeApi['waitForCommit'] = (_id, signal) =>
      new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
    expect(await commitWith(never)).toEqual([504, 'COMMIT_TIMEOUT']);
    expect(storageFaults).toEqual([]);
  });

  it("a lookup that fails on this node's storage: 503 with the storage error, not a timeout", async () => {
    const broken: NodeApi['waitForCommit'] = () =>
      Promise.reject(new StorageError('STORAGE_IO', 'read failed'));
    expect(await commitWith(broken)).toEqual([503, 'STORAGE_IO']);
    expect(storageFaults).toEqual(['STORAGE_IO']); // and the node is told its storage failed
  });
});
