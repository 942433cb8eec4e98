// Raft on real processes: a `membership` transaction sent with the CLI makes one validator a
// learner — then two of the three voters commit where two of four validators could not — and a
// validator wiped with `verity reset` catches up by state sync (a peer's certified snapshot over
// libp2p, LevelDB underneath) instead of replaying every block.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../crypto/bytes.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import type { RpcClient } from '../../src/rpc/client.ts';
import { VERITY } from '../helpers/cli.ts';
import { type Cluster, createCluster, errorLines, heights, tmpDir, waitFor } from './helpers.ts';
import { afterSuite } from './suite-dir.ts';

const run = promisify(execFile);

describe('e2e: raft membership and state sync', () => {
  let cluster: Cluster;
  let dir: string | undefined;
  const home = (i: number) => cluster.manifest.nodes[i]?.home as string;
  const rpc = (i: number) => cluster.clients[i] as RpcClient;
  const logOf = (i: number) => readFileSync(join(home(i), 'node.log'), 'utf8');

  beforeAll(async () => {
    dir = await tmpDir('verity-e2e-raft-membership-');
    cluster = await createCluster({
      dir,
      validators: 4,
      engine: 'raft',
      slot: 46,
    });
    for (let i = 0; i < 4; i++) cluster.start(i);
    await waitFor('a leader and the first blocks', async () =>
      (await heights(cluster, [0, 1, 2, 3])).every((h) => h >= 1) ? true : undefined,
    );
  }, 120_000);

  afterSuite(
    () => dir,
    () => cluster?.stopAll(),
  );

  /** The next nonce of account 0, which only this file spends from. */
  let nonce = 0;

  /** `count` transfers, one after another, each acknowledged at commit (about a block each). */
  async function commitTransfers(count: number, through: number[]): Promise<void> {
    const key = await loadKey(cluster.manifest.accounts[0]?.keyFile as string);
    const sink = addressFromPublicKey(new Uint8Array(32).fill(9));
    for (let k = 0; k < count; k++) {
      const etx = signTransaction(
        { chainId: 'e2e', sender: key.publicKey, nonce, op: { type: 'transfer', to: sink, amount: 1n } },
        key.secretKey,
      );
      const r = await rpc(through[k % through.length] as number).submitTx(toHex(etx.bytes), 'commit');
      expect(r.receipt?.ok, JSON.stringify(r)).toBe(true);
      nonce++;
    }
  }

  it('tx send --membership makes node3 a learner: two of the three voters then commit without it', async () => {
    const { stdout } = await run(process.execPath, [
      VERITY,
      'tx',
      'send',
      '--key',
      join(home(0), 'keys', 'ed25519.json'),
      '--membership',
      '--voters',
      'node0,node1,node2',
      '--learners',
      'node3',
      '--rpc',
      rpc(0).base,
      '--wait',
    ]);
    expect(stdout).toMatch(/committed .* at height \d+: ok/);
    await waitFor('the leader appended C_new', async () =>
      [0, 1, 2, 3].some((i) => /"config":"voters 0,1,2, learners 3"/.test(logOf(i))) ? true : undefined,
    );
    await commitTransfers(2, [0, 1, 2]);
    // Node1 and node3 down: two of four validators are up — not a majority of the validators,
    // but a majority of the voters {0, 1, 2}.
    await cluster.kill(1);
    await cluster.kill(3);
    try {
      const before = Math.max(...(await heights(cluster, [0, 2])));
      await commitTransfers(3, [0, 2]); // each acknowledged at commit: they commit without 1 and 3
      await waitFor('both voters hold the new blocks', async () =>
        Math.min(...(await heights(cluster, [0, 2]))) >= before + 3 ? true : undefined,
      );
    } finally {
      cluster.start(1);
    }
  }, 180_000);

  it('node3, reset, catches up from a snapshot and follows the chain', async () => {
    const others = Math.max(...(await heights(cluster, [0, 2])));
    await waitFor('node1 back and caught up', async () =>
      ((await heights(cluster, [1]))[0] ?? -1) >= others ? true : undefined,
    );
    // More blocks than a Raft leader keeps in memory (64): it cannot repair node3 by appends.
    await commitTransfers(80, [0, 1, 2]);
    await run(process.execPath, [VERITY, 'reset', '--home', home(3), '--yes']);
    const config = join(home(3), 'config.toml');
    writeFileSync(config, readFileSync(config, 'utf8').replace(/snapshot_lead = \d+/, 'snapshot_lead = 10'));
    const target = Math.max(...(await heights(cluster, [0, 1, 2])));
    expect(target).toBeGreaterThan(80);
    cluster.start(3);
    await waitFor('node3 reached the others', async () =>
      ((await heights(cluster, [3]))[0] ?? 0) >= target ? true : undefined,
    );
    const status = await rpc(3).get<{ lowestBlock: number; height: number }>('/status');
    expect(status.lowestBlock).toBeGreaterThan(80);
    const metrics = await fetch(`${rpc(3).base}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/^verity_state_snapshots_total 1$/m);
    expect(logOf(3)).toMatch(/state sync: snapshot installed/);
    // It keeps up with new blocks, as a learner that replicates.
    await commitTransfers(3, [0, 1, 2]);
    const now = Math.max(...(await heights(cluster, [0, 1, 2])));
    await waitFor('node3 follows new blocks', async () =>
      ((await heights(cluster, [3]))[0] ?? 0) >= now ? true : undefined,
    );
    // A block below the snapshot: the node says why it does not have it.
    const r = await fetch(`${rpc(3).base}/block?height=2`);
    expect(r.status).toBe(404);
    expect(await r.text()).toMatch(/starts from a state snapshot/);
    // No error line: node3's start after the reset finds its sign fence ahead of its WAL — what
    // `verity reset` keeps the fence for — and says so as a warning, since the reset meant it.
    expect(logOf(3)).toMatch(/starting after `verity reset`/);
    for (let i = 0; i < 4; i++) expect(errorLines(logOf(i).split('\n')), `node ${i}`).toEqual([]);
  }, 240_000);
});
