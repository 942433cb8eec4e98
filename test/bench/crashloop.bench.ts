/**
 * npm run bench:crashloop — a 4-validator testnet on this machine (separate processes, libp2p over
 * loopback) under steady load while one validator is in a kill -9 loop: how long do the three
 * others (a quorum) go without a commit, and what does that do to submit-to-commit latency?
 *
 *   node test/bench/crashloop.bench.ts [--engine hotstuff] [--seconds 90] [--rate 100]
 *                                      [--period 10] [--down 2,2.5,3] [--keep]
 *
 * Load: pre-signed transfers from 128 funded accounts, POST /txs every 100 ms round-robin over the
 * three stable nodes (0, 1, 2); what a node refuses for now is re-sent on the next tick. Nemesis:
 * node 3 gets SIGKILL `--period` s apart (first one 5 s into the load), and is relaunched after the
 * next of the `--down` delays (cycled; a relaunched process takes a few more seconds to start
 * here, and then catches up). Commits are observed on node 0 through GET /events (time of
 * arrival), transactions are matched through GET /block. `--keep` keeps the testnet directory (each
 * node's HOME/node.log; run with VERITY_E2E_LOG_LEVEL=debug for the engine's view-by-view lines).
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEngine } from '../../consensus/registry.ts';
import { toHex } from '../../crypto/bytes.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import type { RpcClient } from '../../src/rpc/client.ts';
import { type Cluster, createCluster, heights, waitFor } from '../e2e/helpers.ts';
import { fmt, header } from './harness.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const engine = arg('engine', 'hotstuff');
const seconds = Number(arg('seconds', '90'));
const rate = Number(arg('rate', '100'));
const periodMs = Number(arg('period', '10')) * 1000;
const downMs = arg('down', '2,2.5,3')
  .split(',')
  .map((s) => Number(s) * 1000);
const keep = process.argv.includes('--keep');
const ACCOUNTS = 128;
const TICK_MS = 100;
const STABLE = [0, 1, 2];
const VICTIM = 3;
const FIRST_KILL_MS = 5000;
const DRAIN_MS = 20_000;

if (getEngine(engine) === undefined) throw new Error(`unknown engine ${engine}`);
if (!(seconds > 0 && rate > 0 && periodMs > 0) || downMs.some((d) => !(d > 0 && d < periodMs)))
  throw new Error('bad arguments: --seconds, --rate, --period > 0 and 0 < --down < --period');

header(
  `Verity crash-loop benchmark: ${engine}, 4 validators, node ${VICTIM} kill -9 every ${periodMs / 1000} s ` +
    `(down ${downMs.map((d) => d / 1000).join('/')} s), ${rate} tx/s via nodes ${STABLE.join(',')}, ${seconds} s`,
);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}
const s = (ms: number) => `${fmt(ms / 1000, 2)} s`;

const dir = await mkdtemp(join(tmpdir(), `verity-crashloop-${engine}-`));
let cluster: Cluster | undefined;
/** Wall-clock time of t = 0 (the start of the load), to find the figures' moments in the node logs. */
let startEpoch = 0;

/** Last resort: no node process may outlive this script, whatever ends it. */
function killAllNow(): void {
  for (const p of cluster?.procs ?? [])
    if (p !== undefined && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    killAllNow();
    if (!keep) rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });

async function stopAll(c: Cluster): Promise<void> {
  const stopped = c.stopAll();
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000).unref());
  if ((await Promise.race([stopped, timeout])) === 'timeout') killAllNow();
}

try {
  cluster = await createCluster({ dir, validators: 4, engine, slot: 60, accounts: ACCOUNTS });
  const c = cluster;
  for (let i = 0; i < 4; i++) c.start(i);
  await waitFor(
    'testnet up',
    async () => ((await heights(c, [0, 1, 2, 3])).every((h) => h >= 1) ? true : undefined),
    180_000,
  );

  // Pre-signed load for the whole run.
  const keys = await Promise.all(c.manifest.accounts.map((a) => loadKey(a.keyFile)));
  const sink = addressFromPublicKey(new Uint8Array(32).fill(3));
  const total = Math.ceil(rate * seconds);
  process.stderr.write(`signing ${total} transactions… `);
  const txs = Array.from({ length: total }, (_, i) => {
    const key = keys[i % keys.length] as (typeof keys)[number];
    return signTransaction(
      {
        chainId: 'e2e',
        sender: key.publicKey,
        nonce: Math.floor(i / keys.length),
        op: { type: 'transfer', to: sink, amount: 1n },
      },
      key.secretKey,
    );
  });
  process.stderr.write('running\n');

  const rpc0 = c.clients[0] as RpcClient;
  const viewChangesBefore = (await rpc0.get<{ viewChanges: number }>('/status')).viewChanges;
  const submitted = new Map<string, number>();
  const latencies: number[] = [];
  const commitTimes: number[] = [];
  const start = performance.now();
  startEpoch = Date.now();
  const end = start + seconds * 1000;
  const t = () => performance.now() - start;

  // Commits on node 0: GET /events (arrival time), then the block's transactions.
  const events = new AbortController();
  const blockQueue: Array<{ height: number; at: number }> = [];
  let wake: (() => void) | undefined;
  const follower = (async () => {
    const res = await fetch(`${rpc0.base}/events`, { signal: events.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const data = /^data: (.*)$/m.exec(buf.slice(0, i))?.[1];
        buf = buf.slice(i + 2);
        if (data === undefined) continue;
        const at = performance.now();
        commitTimes.push(at);
        blockQueue.push({ height: (JSON.parse(data) as { height: number }).height, at });
        wake?.();
      }
    }
  })().catch(() => {});
  let following = true;
  const matcher = (async () => {
    while (following || blockQueue.length > 0) {
      const next = blockQueue.shift();
      if (next === undefined) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
        continue;
      }
      for (;;) {
        try {
          const b = await rpc0.get<{ txs: Array<{ id: string }> }>(`/block?height=${next.height}`);
          for (const x of b.txs) {
            const at = submitted.get(x.id);
            if (at === undefined) continue;
            latencies.push(next.at - at);
            submitted.delete(x.id);
          }
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  })();

  // Nemesis: kill -9 node VICTIM every period, restart it after the next down delay.
  const kills: Array<{ killedAt: number; restartedAt: number }> = [];
  let nemesisOn = true;
  const nemesis = (async () => {
    for (let k = 0; ; k++) {
      const killAt = FIRST_KILL_MS + k * periodMs;
      const down = downMs[k % downMs.length] as number;
      if (killAt + down > seconds * 1000) return;
      while (t() < killAt) {
        if (!nemesisOn) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      const killedAt = t();
      await c.kill(VICTIM, 'SIGKILL');
      await new Promise((r) => setTimeout(r, down));
      c.start(VICTIM);
      kills.push({ killedAt, restartedAt: t() });
    }
  })();

  // Load through the stable nodes.
  type Signed = (typeof txs)[number];
  const RETRYABLE = new Set(['MEMPOOL_FULL', 'NODE_SYNCING', 'NONCE_TOO_HIGH', 'SENDER_LIMIT']);
  const retry: Signed[] = [];
  let sent = 0;
  let rejected = 0;
  let refusals = 0;
  let tick = 0;
  const post = (batch: Signed[]) => {
    const client = c.clients[STABLE[tick++ % STABLE.length] as number] as RpcClient;
    void client
      .post<{ results: Array<{ ok: boolean; code?: string }> }>('/txs', {
        txs: batch.map((x) => toHex(x.bytes)),
      })
      .then((r) =>
        r.results.forEach((x, i) => {
          if (x.ok || x.code === 'DUPLICATE') return;
          if (RETRYABLE.has(x.code ?? '')) {
            refusals++;
            retry.push(batch[i] as Signed);
          } else rejected++;
        }),
      )
      .catch(() => {
        refusals += batch.length;
        retry.push(...batch);
      });
  };
  while (performance.now() < end) {
    const due = Math.min(total, Math.floor((t() / 1000) * rate) + 1);
    const fresh = txs.slice(sent, due);
    for (const x of fresh) submitted.set(toHex(x.id), performance.now());
    sent = due;
    const batch = [...retry.splice(0, 1000), ...fresh];
    if (batch.length > 0) post(batch);
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  nemesisOn = false;
  await nemesis;
  if (c.procs[VICTIM]?.exitCode !== null) c.start(VICTIM);
  const commitsInWindow = commitTimes.filter((x) => x <= end);
  // Drain: give what was sent up to DRAIN_MS to commit (re-sending refusals).
  const drainEnd = performance.now() + DRAIN_MS;
  while (performance.now() < drainEnd && submitted.size > rejected) {
    const batch = retry.splice(0, 1000);
    if (batch.length > 0) post(batch);
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  following = false;
  wake?.();
  await matcher;
  events.abort();
  await follower;
  const viewChanges = (await rpc0.get<{ viewChanges: number }>('/status')).viewChanges - viewChangesBefore;

  // Inter-commit gaps on node 0 over the window [start, end] (the open gap at the end included).
  const points = [start, ...commitsInWindow.filter((x) => x >= start), end];
  const gaps: Array<{ ms: number; from: number }> = [];
  for (let i = 1; i < points.length; i++) {
    const ms = (points[i] as number) - (points[i - 1] as number);
    if (ms > 0) gaps.push({ ms, from: (points[i - 1] as number) - start });
  }
  const gapMs = gaps.map((g) => g.ms).sort((a, b) => a - b);
  latencies.sort((a, b) => a - b);
  const victimState = (at: number) => {
    for (const k of [...kills].reverse()) {
      if (at >= k.killedAt && at < k.restartedAt) return `node ${VICTIM} killed ${s(at - k.killedAt)} before`;
      if (at >= k.restartedAt && at < k.restartedAt + periodMs)
        return `node ${VICTIM} relaunched ${s(at - k.restartedAt)} before`;
    }
    return `node ${VICTIM} up`;
  };
  const longest = [...gaps].sort((a, b) => b.ms - a.ms).slice(0, 3);
  console.log(
    `kills: ${kills.length} (node ${VICTIM}, SIGKILL; relaunched after ${downMs.map((d) => d / 1000).join('/')} s)`,
  );
  console.log(
    `commits observed on node 0: ${commitsInWindow.length} in ${seconds} s; view changes (node 0): ${viewChanges}`,
  );
  console.log(
    `inter-commit gap: max ${s(gapMs.at(-1) ?? Number.NaN)}, p99 ${s(percentile(gapMs, 0.99))}, p50 ${s(percentile(gapMs, 0.5))}`,
  );
  for (const g of longest) console.log(`  gap ${s(g.ms)} from t=${s(g.from)} (${victimState(g.from)})`);
  console.log(
    `submit-to-commit latency: p50 ${s(percentile(latencies, 0.5))}, p99 ${s(percentile(latencies, 0.99))}, max ${s(latencies.at(-1) ?? Number.NaN)}` +
      ` (${latencies.length}/${sent} committed, ${submitted.size} not within ${DRAIN_MS / 1000} s, ${rejected} rejected, ${refusals} re-sent)`,
  );
} finally {
  if (cluster !== undefined) await stopAll(cluster);
  if (keep) console.log(`kept ${dir} (node logs: ${dir}/node*/node.log; t=0 at ${startEpoch})`);
  else await rm(dir, { recursive: true, force: true });
}
