/**
 * npm run bench:node — a 4-validator testnet on this machine (separate processes, libp2p over
 * loopback, LevelDB with fsync, real signatures): sustained committed transactions per second and
 * submit-to-commit latency (p50/p99) at increasing offered load, per engine.
 *
 *   node test/bench/node.bench.ts [--engines tendermint,hotstuff] [--rates 1000,2000,4000] [--seconds 15] [--quick] [--profile]
 *
 * The load generator runs in this process (pre-signed transfers from 256 funded accounts, sent
 * with POST /txs in batches, round-robin over the 4 nodes; what a node refuses for now — 503 when
 * overloaded — is re-sent on the next tick, as a client would); commits are observed by following
 * node 0's blocks. Latency includes the generator's 50 ms polling granularity.
 *
 * `--profile` runs the validators under `node --cpu-prof` and prints where their main threads
 * spent the load windows (profiling itself slows them down, so its throughput is not the figure).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEngine } from '../../consensus/registry.ts';
import { toHex } from '../../crypto/bytes.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import type { RpcClient } from '../../src/rpc/client.ts';
import { type Cluster, createCluster, heights, waitFor } from '../e2e/helpers.ts';
import { profileParts, shares, type Window } from './cpu-profile.ts';
import { fmt, header, table } from './harness.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const quick = process.argv.includes('--quick');
const profile = process.argv.includes('--profile');
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
const engines = arg('engines', 'tendermint').split(',');
const rates = arg('rates', quick ? '500,1500' : '1000,2000,3000,4000,6000')
  .split(',')
  .map(Number);
const seconds = Number(arg('seconds', quick ? '8' : '15'));
const ACCOUNTS = 256;
const BATCH_MS = 50;

header('Verity node benchmark: 4 validators, libp2p on loopback, LevelDB (fsync), real signatures');

/** Sum of the four nodes' process CPU seconds (prom-client default metrics). */
async function clusterCpuSeconds(c: Cluster): Promise<number> {
  let total = 0;
  for (const n of c.manifest.nodes) {
    const text = await fetch(`${n.rpc}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    total += Number(/^verity_process_cpu_seconds_total (\S+)$/m.exec(text)?.[1] ?? 0);
  }
  return total;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

for (const [slot, spec] of engines.entries()) {
  const [name, paramText] = spec.split(':') as [string, string | undefined];
  if (getEngine(name) === undefined) {
    console.log(`(skipping unknown engine ${name})`);
    continue;
  }
  const params: Record<string, string | number> = {};
  for (const kv of (paramText ?? '').split(',').filter(Boolean)) {
    const [k, v] = kv.split('=') as [string, string];
    params[k] = /^\d+$/.test(v) ? Number(v) : v;
  }
  const dir = await mkdtemp(join(tmpdir(), `verity-bench-${name}-`));
  const cluster: Cluster = await createCluster({
    dir,
    validators: 4,
    engine: name,
    engineParams: params,
    slot: 40 + slot,
    accounts: ACCOUNTS,
    ...(profile ? { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${join(dir, 'profiles')}` } } : {}),
  });
  const windows: Window[] = [];
  let windowCpu = 0;
  let windowCommitted = 0;
  try {
    for (let i = 0; i < 4; i++) cluster.start(i);
    await waitFor(
      'testnet up',
      async () => ((await heights(cluster, [0, 1, 2, 3])).every((h) => h >= 1) ? true : undefined),
      180_000,
    );
    const keys = await Promise.all(cluster.manifest.accounts.map((a) => loadKey(a.keyFile)));
    const sink = addressFromPublicKey(new Uint8Array(32).fill(1));
    const nonces = keys.map(() => 0);
    const rpc0 = cluster.clients[0] as RpcClient;
    const rows: Array<Record<string, string>> = [];
    for (const rate of rates) {
      const total = rate * seconds;
      process.stderr.write(`${name}: signing ${total} transactions for ${rate} tx/s… `);
      const txs = Array.from({ length: total }, (_, i) => {
        const k = i % keys.length;
        const key = keys[k] as (typeof keys)[number];
        const nonce = nonces[k] as number;
        nonces[k] = nonce + 1;
        return signTransaction(
          { chainId: 'e2e', sender: key.publicKey, nonce, op: { type: 'transfer', to: sink, amount: 1n } },
          key.secretKey,
        );
      });
      process.stderr.write('sending\n');
      const cpuBefore = await clusterCpuSeconds(cluster);
      const viewChangesBefore = (await rpc0.get<{ viewChanges: number }>('/status')).viewChanges;
      const submitted = new Map<string, number>();
      let nextHeight = (await rpc0.status()).height + 1;
      const latencies: number[] = [];
      let committedInWindow = 0;
      let blocksInWindow = 0;
      const start = performance.now();
      const windowEnd = start + seconds * 1000;
      const fromUs = monotonicUs();
      let sent = 0;
      let rejected = 0;
      let refusals = 0;
      // Follow node 0's blocks while sending.
      let following = true;
      const follower = (async () => {
        while (following) {
          try {
            const h = (await rpc0.status()).height;
            while (nextHeight <= h) {
              const b = await rpc0.get<{ txs: Array<{ id: string }> }>(`/block?height=${nextHeight}`);
              const now = performance.now();
              if (now <= windowEnd) blocksInWindow++;
              for (const t of b.txs) {
                const at = submitted.get(t.id);
                if (at === undefined) continue;
                latencies.push(now - at);
                submitted.delete(t.id);
                if (now <= windowEnd) committedInWindow++;
              }
              nextHeight++;
            }
          } catch {
            // a busy node: try again
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      let tick = 0;
      // Like a real client, re-send what a node refused for now (503 overload, or a nonce too far
      // ahead of a gap left by an earlier refusal) on the next tick, before new transactions:
      // dropping them would leave every sender with a nonce gap that stalls it forever.
      type Signed = (typeof txs)[number];
      const retry: Signed[] = [];
      const RETRYABLE = new Set(['MEMPOOL_FULL', 'NONCE_TOO_HIGH', 'SENDER_LIMIT']);
      const post = (batch: Signed[]) => {
        const client = cluster.clients[tick++ % 4] as RpcClient;
        void client
          .post<{ results: Array<{ ok: boolean; code?: string }> }>('/txs', {
            txs: batch.map((t) => toHex(t.bytes)),
          })
          .then((r) => {
            r.results.forEach((x, i) => {
              if (x.ok || x.code === 'DUPLICATE') return;
              if (RETRYABLE.has(x.code ?? '')) {
                refusals++;
                retry.push(batch[i] as Signed);
              } else rejected++;
            });
          })
          .catch(() => {
            refusals += batch.length;
            retry.push(...batch);
          });
      };
      let deadline = Number.POSITIVE_INFINITY;
      while (performance.now() < deadline) {
        const due = Math.min(
          total,
          Math.floor(((performance.now() - start) / 1000) * rate) + Math.ceil((rate * BATCH_MS) / 1000),
        );
        const fresh = txs.slice(sent, due);
        for (const t of fresh) submitted.set(toHex(t.id), performance.now());
        sent = due;
        const batch = [...retry.splice(0, 1000), ...fresh];
        for (let i = 0; i < batch.length; i += 1000) post(batch.slice(i, i + 1000));
        // All sent: give the tail up to 20 s to commit.
        if (sent >= total && deadline === Number.POSITIVE_INFINITY)
          deadline = Math.max(windowEnd, performance.now()) + 20_000;
        // Drained: everything sent is committed or definitively rejected.
        if (sent >= total && submitted.size <= rejected) break;
        await new Promise((r) => setTimeout(r, BATCH_MS));
      }
      following = false;
      await follower;
      const elapsed = (Math.max(performance.now(), windowEnd) - start) / 1000;
      const cpu = (await clusterCpuSeconds(cluster)) - cpuBefore;
      windows.push({ fromUs, toUs: monotonicUs() });
      windowCpu += cpu;
      windowCommitted += latencies.length;
      const viewChanges =
        (await rpc0.get<{ viewChanges: number }>('/status')).viewChanges - viewChangesBefore;
      latencies.sort((a, b) => a - b);
      rows.push({
        engine: spec,
        'offered tx/s': String(rate),
        'committed tx/s': fmt(committedInWindow / seconds, 0),
        'blocks/s': fmt(blocksInWindow / seconds, 1),
        'view changes': String(viewChanges),
        committed: `${latencies.length}/${total}`,
        rejected: String(rejected),
        'retried (503)': String(refusals),
        'p50 ms': fmt(percentile(latencies, 0.5), 0),
        'p99 ms': fmt(percentile(latencies, 0.99), 0),
        'run s': fmt(elapsed, 1),
        'node CPU ms/tx': fmt((cpu * 1000) / Math.max(1, latencies.length) / 4, 2),
      });
      console.log(JSON.stringify(rows.at(-1)));
    }
    table(rows);
  } finally {
    await cluster.stopAll();
    if (profile) await printProfile(join(dir, 'profiles'), windows, windowCpu, windowCommitted);
    if (!process.argv.includes('--keep')) await rm(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

/** Where the validators' main threads spent the load windows, by part, scaled to CPU per tx. */
async function printProfile(dir: string, windows: Window[], cpuSeconds: number, committed: number) {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return console.log('(no CPU profiles were written)');
  const perTxUs = (cpuSeconds * 1e6) / Math.max(1, committed) / files.length;
  console.log(
    `## where a validator's main thread spends the load (${files.length} profiles, ${fmt(perTxUs)} µs CPU per committed tx per validator)`,
  );
  table(
    shares(files.map((f) => profileParts(join(dir, f), windows))).map(({ part, share }) => ({
      part,
      'share of busy time': `${fmt(100 * share, 1)}%`,
      'µs per tx': fmt(share * perTxUs, 0),
    })),
  );
}
