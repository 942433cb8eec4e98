// An overloaded node refuses submissions with 503 before decoding or verifying them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcClient, RpcClientError } from '../../src/rpc/client.ts';
import { type NodeApi, RpcServer } from '../../src/rpc/server.ts';
import { silentLogger } from '../../src/runtime/ports.ts';

let server: RpcServer;
let client: RpcClient;
let submitted = 0;

beforeAll(async () => {
  // Only what POST /tx and /txs touch before admission; anything else would throw.
  const api = {
    overloaded: () => true,
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
