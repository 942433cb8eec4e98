/**
 * `GET /account` and `/record` with `?consistency=local|linearizable|lease` on a real node: an
 * engine that confirms reads (Raft) serves all three; one that does not (Tendermint) serves
 * `local` and refuses the others with READ_UNAVAILABLE, saying what to use instead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../crypto/bytes.ts';
import { addressFromPublicKey, formatAddress } from '../../ledger/address.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import type { VerityNode } from '../../src/node/node.ts';
import type { TestnetManifest } from '../../src/node/testnet.ts';
import { RpcClient, RpcClientError } from '../../src/rpc/client.ts';
import { removeTestnet, singleValidatorTestnet, startSingleNode } from '../helpers/single-node.ts';

const RECIPIENT = formatAddress(addressFromPublicKey(new Uint8Array(32).fill(9)));

async function start(engine: string | undefined) {
  const manifest: TestnetManifest = await singleValidatorTestnet({
    chainId: `reads-${engine ?? 'tendermint'}`,
    accounts: 1,
    ...(engine === undefined ? {} : { engine }),
  });
  let node: VerityNode;
  try {
    node = await startSingleNode(manifest);
  } catch (e) {
    await removeTestnet(manifest);
    throw e;
  }
  return { manifest, node, rpc: new RpcClient(node.rpcUrl) };
}

async function rpcError(p: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RpcClientError) {
      const err = e as RpcClientError & { status?: number };
      return { status: err.status ?? 0, code: err.code, message: err.message };
    }
    throw e;
  }
  throw new Error('expected the request to fail');
}

describe('reads with a consistency level', () => {
  let raft: Awaited<ReturnType<typeof start>>;
  let tendermint: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    raft = await start('raft');
    tendermint = await start(undefined);
  }, 60_000);

  afterAll(async () => {
    await raft?.node.stop();
    await tendermint?.node.stop();
    await removeTestnet(raft?.manifest);
    await removeTestnet(tendermint?.manifest);
  });

  it('raft: a committed transfer is visible to linearizable, lease and local reads, each labelled', async () => {
    const a = raft.manifest.accounts[0] as { keyFile: string; address: string };
    const key = await loadKey(a.keyFile);
    const etx = signTransaction(
      {
        chainId: 'reads-raft',
        sender: key.publicKey,
        nonce: 0,
        op: { type: 'transfer', to: addressFromPublicKey(new Uint8Array(32).fill(9)), amount: 5n },
      },
      key.secretKey,
    );
    await raft.rpc.submitTx(toHex(etx.bytes), 'commit');
    for (const consistency of ['linearizable', 'lease', 'local']) {
      const r = await raft.rpc.get<{ balance: string; consistency: string }>(
        `/account?address=${RECIPIENT}&consistency=${consistency}`,
      );
      expect(r).toMatchObject({ balance: '5', consistency });
    }
    // The default is stated in the answer: local.
    expect(await raft.rpc.get(`/account?address=${RECIPIENT}`)).toMatchObject({ consistency: 'local' });
  });

  it('tendermint: local only; a linearizable read is refused with READ_UNAVAILABLE (400), not served stale', async () => {
    expect(await tendermint.rpc.get(`/account?address=${RECIPIENT}&consistency=local`)).toMatchObject({
      consistency: 'local',
    });
    const e = await rpcError(tendermint.rpc.get(`/account?address=${RECIPIENT}&consistency=linearizable`));
    expect(e.code).toBe('READ_UNAVAILABLE');
    expect(e.message).toMatch(/use consistency=local/);
    const r = await rpcError(tendermint.rpc.get('/record?key=doc&consistency=lease'));
    expect(r.code).toBe('READ_UNAVAILABLE');
  });

  it('an unknown consistency level is a 400 naming the three', async () => {
    const e = await rpcError(raft.rpc.get(`/account?address=${RECIPIENT}&consistency=strong`));
    expect(e.code).toBe('INVALID_PARAMETER');
    expect(e.message).toMatch(/local, linearizable, lease/);
  });
});
