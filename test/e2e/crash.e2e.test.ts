// kill -9 a validator under load: the others keep committing; it restarts from its LevelDB and
// WAL, catches up by block sync and agrees; no acknowledged transaction is lost. With a
// crash-fault engine (one stable leader) the validator killed is the leader.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getEngine } from '../../consensus/registry.ts';
import { toHex } from '../../crypto/bytes.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import type { RpcClient } from '../../src/rpc/client.ts';
import {
  type Cluster,
  createCluster,
  errorLines,
  heights,
  tmpDir,
  waitFor,
  waitUntilRunning,
} from './helpers.ts';
import { afterSuite } from './suite-dir.ts';

const ENGINES = (process.env.VERITY_E2E_ENGINES ?? 'tendermint,hotstuff,pbft,raft,multipaxos,algorand').split(
  ',',
);

for (const [slot, engine] of ENGINES.entries())
  describe(`e2e crash and recovery (${engine})`, () => {
    let cluster: Cluster;
    let dir: string | undefined;

    beforeAll(async () => {
      dir = await tmpDir('verity-e2e-crash-');
      cluster = await createCluster({
        dir,
        validators: 4,
        engine,
        slot: 10 + slot,
      });
      for (let i = 0; i < 4; i++) cluster.start(i);
      await waitUntilRunning(cluster, engine);
    });

    afterSuite(
      () => dir,
      () => cluster?.stopAll(),
    );

    const leaderBased = getEngine(engine)?.faultModel.kind === 'crash';
    it(`survives kill -9 of ${leaderBased ? 'the leader' : 'a validator'} and its restart without losing acknowledged transactions`, async () => {
      // The victim: the leader of a crash-fault engine (as node 0 reports it), else node 3.
      const status = await (cluster.clients[0] as RpcClient).get<{ leader: number | null }>('/status');
      const victim = leaderBased && typeof status.leader === 'number' ? status.leader : 3;
      const others = [0, 1, 2, 3].filter((i) => i !== victim);
      const keys = await Promise.all(cluster.manifest.accounts.map((a) => loadKey(a.keyFile)));
      const sink = addressFromPublicKey(new Uint8Array(32).fill(7));
      const acknowledged: string[] = [];
      let stop = false;
      // Load: each account sends transfers one after another with mode=commit through the others.
      const load = keys.map(async (key, k) => {
        for (let n = 0; !stop; n++) {
          const etx = signTransaction(
            {
              chainId: 'e2e',
              sender: key.publicKey,
              nonce: n,
              op: { type: 'transfer', to: sink, amount: 1n },
            },
            key.secretKey,
          );
          const rpc = cluster.clients[others[(n + k) % 3] as number] as RpcClient;
          try {
            const r = await rpc.submitTx(toHex(etx.bytes), 'commit');
            if (r.receipt?.ok) acknowledged.push(r.id);
          } catch {
            n--; // not acknowledged: retry the same nonce
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      });
      await waitFor('some load committed', async () => (acknowledged.length >= 8 ? true : undefined));
      await cluster.kill(victim, 'SIGKILL');
      const before = Math.max(...(await heights(cluster, others)));
      await waitFor('the other three keep committing', async () => {
        const h = await heights(cluster, others);
        return h.every((x) => x >= before + 3) ? true : undefined;
      });
      cluster.start(victim);
      const catchUp = Math.max(...(await heights(cluster, others)));
      await waitFor(
        'the restarted node catches up',
        async () => (((await heights(cluster, [victim]))[0] as number) >= catchUp ? true : undefined),
        120_000,
      );
      stop = true;
      await Promise.all(load);
      // Agreement: the restarted node holds the same blocks.
      const h = Math.min(...(await heights(cluster, [0, 1, 2, 3])));
      for (const height of [1, Math.floor(h / 2), h]) {
        const hashes = await Promise.all(
          cluster.clients.map((c) => c.get<{ hash: string }>(`/block?height=${height}`).then((b) => b.hash)),
        );
        expect(new Set(hashes).size, `height ${height}`).toBe(1);
      }
      // Every acknowledged transaction is committed on every node, including the one that crashed.
      expect(acknowledged.length).toBeGreaterThan(10);
      await waitFor(`acknowledged txs visible on node ${victim}`, async () => {
        for (const id of acknowledged) await (cluster.clients[victim] as RpcClient).get(`/tx?id=${id}`);
        return true;
      });
      for (const i of others)
        for (const id of acknowledged.slice(-5)) await (cluster.clients[i] as RpcClient).get(`/tx?id=${id}`);
      // The restarted validator never signed a conflicting message: nobody saw equivocation.
      for (const n of cluster.manifest.nodes) {
        const metrics = await fetch(`${n.rpc}/metrics`).then((r) => r.text());
        expect(/^verity_byzantine_evidence_total (\d+)$/m.exec(metrics)?.[1], n.name).toBe('0');
        // Every node sent consensus messages, counted per channel.
        const consensus = /^verity_p2p_messages_out_total\{channel="consensus"\} (\d+)$/m.exec(metrics)?.[1];
        expect(Number(consensus), n.name).toBeGreaterThan(0);
      }
      // Catching up by block sync is normal operation: nothing at error level, on any node.
      for (const n of cluster.manifest.nodes) {
        const lines = (await readFile(join(n.home, 'node.log'), 'utf8')).split('\n');
        expect(errorLines(lines), `${n.home}/node.log`).toEqual([]);
      }
    });
  });
