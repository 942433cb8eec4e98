// A validator whose disk fills up (its data directory on a small tmpfs): it must not blame its
// peers. It halts with one plain line naming the store and the remedy and exits non-zero; started
// again with the disk still full it fails the same way at once; with space back, it resumes and
// catches up. Needs root to mount a tmpfs (CI runs as root; elsewhere the test says why it skips).
// And a validator whose data directory is deleted while it runs: it halts with STORAGE_REMOVED and
// exits non-zero, instead of committing into files that no longer have a name.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import type { RpcClient } from '../../src/rpc/client.ts';
import { VERITY } from '../helpers/cli.ts';
import { type Cluster, createCluster, heights, tmpDir, waitFor } from './helpers.ts';
import { afterSuite } from './suite-dir.ts';

function canMountTmpfs(): boolean {
  const probe = join(tmpdir(), `verity-tmpfs-probe-${process.pid}`);
  mkdirSync(probe, { recursive: true });
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  try {
    rmdirSync(probe); // empty once unmounted: never a recursive removal of a mount point
  } catch (e) {
    console.error(`e2e: could not remove the tmpfs probe ${probe}: ${(e as Error).message}`);
  }
  return ok;
}

const mountable = canMountTmpfs();

describe.skipIf(!mountable)('e2e: a validator whose disk fills up (needs root to mount a tmpfs)', () => {
  let cluster: Cluster;
  let dir: string | undefined;
  let data: string;
  const VICTIM = 3;

  beforeAll(async () => {
    dir = await tmpDir('verity-e2e-disk-');
    cluster = await createCluster({
      dir,
      validators: 4,
      engine: 'hotstuff',
      slot: 30,
    });
    data = join(cluster.manifest.nodes[VICTIM]?.home as string, 'data');
    mkdirSync(data, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', data]);
    for (let i = 0; i < 4; i++) cluster.start(i);
    await waitFor('every node at height ≥ 1', async () =>
      (await heights(cluster, [0, 1, 2, 3])).every((h) => h >= 1) ? true : undefined,
    );
  });

  afterSuite(
    () => dir,
    async () => {
      await cluster?.stopAll();
      if (data !== undefined) spawnSync('umount', ['-l', data]);
    },
  );

  it('halts with a plain reason and exits non-zero, blames no peer, then resumes once space returns', async () => {
    const victim = cluster.procs[VICTIM];
    const exited = new Promise<number | null>((resolve) => victim?.once('exit', (code) => resolve(code)));
    cluster.expectExit(VICTIM);
    // Fill the ledger with 30 KB records until the victim's 3 MB are gone.
    const key = await loadKey(cluster.manifest.accounts[0]?.keyFile as string);
    const rpc = cluster.clients[0] as RpcClient;
    let done = false;
    void exited.then(() => {
      done = true;
    });
    for (let n = 0; !done && n < 400; n++) {
      const etx = signTransaction(
        {
          chainId: 'e2e',
          sender: key.publicKey,
          nonce: n,
          op: { type: 'put', key: utf8(`fill-${n}`), value: new Uint8Array(30_000).fill(n % 251) },
        },
        key.secretKey,
      );
      await rpc.submitTx(toHex(etx.bytes), n % 20 === 19 ? 'commit' : 'sync').catch(() => undefined);
    }
    expect(await exited).not.toBe(0);
    const log = readFileSync(join(cluster.manifest.nodes[VICTIM]?.home as string, 'node.log'), 'utf8');
    expect(log).toMatch(
      /consensus halted on this node: no space left on the device holding .*data.* \[STORAGE_FULL\]/,
    );
    // Its own disk, not its peers: nobody penalized, nobody banned, no "failed validation".
    expect(log).not.toMatch(/penaliz|banned|failed validation/i);

    // Started again with the disk still full: the same one line at once, nothing else.
    const again = spawnSync(
      process.execPath,
      [VERITY, 'start', '--home', cluster.manifest.nodes[VICTIM]?.home as string],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/no space left on the device holding .*\[STORAGE_FULL\]/);
    expect(again.stderr).not.toMatch(/\n\s+at /); // no stack trace

    // Space back: it starts, catches up with the others and follows them.
    execFileSync('mount', ['-o', 'remount,size=256m', data]);
    cluster.start(VICTIM);
    const target = Math.max(...(await heights(cluster, [0, 1, 2])));
    await waitFor(
      'the victim caught up',
      async () => (((await heights(cluster, [VICTIM]))[0] ?? -1) >= target ? true : undefined),
      120_000,
    );
  }, 300_000);
});

describe('e2e: a validator whose data directory is deleted while it runs', () => {
  let cluster: Cluster;
  let dir: string | undefined;

  beforeAll(async () => {
    dir = await tmpDir('verity-e2e-rmdata-');
    cluster = await createCluster({ dir, validators: 1, engine: 'tendermint', slot: 48 });
    cluster.start(0);
    await waitFor('height ≥ 2', async () =>
      ((await heights(cluster, [0]))[0] ?? 0) >= 2 ? true : undefined,
    );
  });

  afterSuite(
    () => dir,
    () => cluster?.stopAll(),
  );

  it('halts with STORAGE_REMOVED within a few check intervals (5 s each) and exits non-zero', async () => {
    const node = cluster.procs[0];
    if (node === undefined) throw new Error('node 0 was not started');
    const home = cluster.manifest.nodes[0]?.home as string;
    const exited = new Promise<number | null>((resolve) => node.once('exit', (code) => resolve(code)));
    cluster.expectExit(0);
    const removedAt = Date.now();
    rmSync(join(home, 'data'), { recursive: true, force: true });
    expect(await exited).toBe(1);
    expect(Date.now() - removedAt).toBeLessThan(15_000);
    const log = readFileSync(join(home, 'node.log'), 'utf8');
    // The node checks in its own process, possibly while the rm is half done (a LOCK before its directory).
    expect(log).toMatch(
      /consensus halted on this node: .*\/data\/(chain|wal)(\/LOCK)? was removed.* \[STORAGE_REMOVED\]/,
    );
    expect(log).not.toMatch(/penaliz|banned|failed validation/i);
  }, 120_000);
});
