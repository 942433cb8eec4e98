// A stopped validator whose consensus WAL lost its records — the LevelDB log truncated to 0 bytes,
// or bytes flipped in it — must notice on start (the sign fence beside its key remembers what it
// signed), say so, refuse the slots it may have signed, and rejoin once the chain has moved past
// them; no equivocation anywhere. Before, it started with no warning. A flipped tail that held no
// signing batch (a guard prune after a synced block) is noticed through LevelDB's own report of
// the log records it dropped (level-kv.ts `droppedOnOpen`); before, this case failed one run in three.
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RpcClient } from '../../src/rpc/client.ts';
import { type Cluster, createCluster, heights, tmpDir, waitFor } from './helpers.ts';
import { afterSuite } from './suite-dir.ts';

const VICTIM = 3;

describe('e2e: a validator whose consensus WAL lost records', () => {
  let cluster: Cluster;
  let dir: string | undefined;

  beforeAll(async () => {
    dir = await tmpDir('verity-e2e-wal-');
    cluster = await createCluster({
      dir,
      validators: 4,
      engine: 'hotstuff',
      slot: 32,
    });
    for (let i = 0; i < 4; i++) cluster.start(i);
    await waitFor('every node at height ≥ 3', async () =>
      (await heights(cluster, [0, 1, 2, 3])).every((h) => h >= 3) ? true : undefined,
    );
  });

  afterSuite(
    () => dir,
    () => cluster?.stopAll(),
  );

  const home = () => cluster.manifest.nodes[VICTIM]?.home as string;
  const walLogs = () =>
    readdirSync(join(home(), 'data', 'wal'))
      .filter((f) => f.endsWith('.log'))
      .map((f) => join(home(), 'data', 'wal', f));
  /** When the victim last wrote its sign fence (it does with every signing batch), in ms. */
  const newestFenceWrite = () =>
    Math.max(
      ...[0, 1].map((i) => {
        try {
          return statSync(join(home(), 'keys', `sign-fence.${i}`)).mtimeMs;
        } catch {
          return 0;
        }
      }),
    );
  const logOf = (i: number) =>
    readFileSync(join(cluster.manifest.nodes[i]?.home as string, 'node.log'), 'utf8');

  for (const [what, damage] of [
    ['truncated to 0 bytes', (f: string) => truncateSync(f, 0)],
    [
      'with bytes flipped at its end',
      (f: string) => {
        const b = readFileSync(f);
        for (let i = Math.max(0, b.length - 64); i < b.length; i++) b[i] = (b[i] as number) ^ 0x5a;
        writeFileSync(f, b);
      },
    ],
  ] as const) {
    it(`WAL log ${what}: detected, nothing re-signed, back in the chain once past`, async () => {
      // Killed between two signing batches, so the WAL's tail is a whole signing batch that the
      // fence counts: the victim has signed since this case began (after the first case it may
      // not have yet), and its fence has not been written for 300 ms. A kill inside a signing
      // batch (the fence and WAL writes in flight; slow fsyncs make that window wide in CI) tears
      // both, and then nothing that counts was lost — CI twice saw no report after such a kill.
      const signedBefore = newestFenceWrite();
      await waitFor(
        'the victim signs, then pauses between signing batches',
        async () => {
          const last = newestFenceWrite();
          return last > signedBefore && Date.now() - last >= 300 ? true : undefined;
        },
        60_000,
        20,
      );
      await cluster.kill(VICTIM);
      const before = logOf(VICTIM).length;
      const logs = walLogs().filter((f) => statSync(f).size > 0);
      expect(logs.length).toBeGreaterThan(0);
      for (const f of logs) damage(f);
      cluster.start(VICTIM);
      await waitFor('the victim reports the lost WAL records', async () => {
        // (One signing batch behind is "may have lost": a crash between the two writes looks alike.)
        const since = logOf(VICTIM).slice(before);
        if (/the consensus WAL (may have )?lost signing records/.test(since)) return true;
        // Named in the timeout's message: what the victim did say.
        throw new Error(`its log since the restart ends: ${since.slice(-1500)}`);
      });
      // The others keep committing, and so does the victim once the chain is past what it signed.
      const h0 = Math.max(...(await heights(cluster, [0, 1, 2])));
      await waitFor('the victim follows the chain again', async () =>
        ((await heights(cluster, [VICTIM]))[0] ?? -1) >= h0 + 3 ? true : undefined,
      );
      await waitFor(
        'the victim is healthy again (signing above what it may have signed)',
        async () => {
          const r = await fetch(`${(cluster.clients[VICTIM] as RpcClient).base}/health`);
          return r.status === 200 ? true : undefined;
        },
        60_000,
      );
      // Nobody saw it equivocate.
      for (let i = 0; i < 4; i++)
        expect(logOf(i), `node ${i}`).not.toMatch(/equivocation evidence|duplicate-(vote|proposal)/);
    }, 240_000);
  }
});
