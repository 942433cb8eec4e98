/**
 * npm run bench:node — a testnet of N validators (default 4) on this machine (separate processes,
 * libp2p over loopback, LevelDB with fsync, real signatures): sustained committed transactions per
 * second and submit-to-commit latency (p50/p99) at increasing offered load, per engine.
 *
 *   node test/bench/node.bench.ts [--engines tendermint,hotstuff] [--rates 1000,2000,4000] [--seconds 15]
 *     [--validators 4 | 1 | 1,4] [--verify-threads auto | 0 | 0,auto] [--set key=value]… [--contend]
 *     [--repeat K] [--quick] [--profile] [--keep]
 *
 * The load generator runs in this process (pre-signed transfers from 256 funded accounts, sent
 * with POST /txs in batches, each sender's to one of the N nodes, at most one request in flight
 * per node; what a node refuses for now is re-sent ahead of the sender's later nonces, as a
 * client would, and a node that refused a whole request (503) is left alone for 100 ms, doubling
 * to 1 s while it keeps refusing); commits are observed by following
 * node 0's blocks as it commits them (its GET /events stream); "committed tx/s" counts what
 * committed inside the sending window, and "steady tx/s" the committed rate of the blocks in the
 * window's last three quarters, from the first to the last (steady-rate.ts): the offered rate when
 * the testnet keeps up, where the first falls short by what the window's last p50 sent; "p50
 * admitted ms" is the median from a transaction's generation to the node's answer admitting it (the client's queue
 * and the POST), the part of p50 spent before the node holds it; "pool checks/tx" is the signatures
 * the validators' verification pools checked per committed transaction per validator (1.00: each
 * checked once by each; 0 without a pool); "event loop busy" is the lowest and highest of the
 * validators' event-loop busy shares over the run (what block pacing stretches its floor by:
 * `consensus.busy_block_interval_ms`). The first lines name
 * the ed25519 verification backend in use (VERITY_ED25519_BACKEND, which the validators inherit)
 * and the same-run baselines: one verification's time (the "CPU/tx in verifications" column gives
 * each row's CPU per transaction in those) and the SHA-256 rate.
 *
 * `--validators N` sets the testnet size: `--validators 1` is the single-validator row (one node
 * using the whole machine); a list (`--validators 1,4`) runs each size in turn, per engine, on a
 * fresh testnet, and the `validators` column says which. "node CPU ms/tx" is per validator: the
 * cluster's CPU over the committed transactions, divided by N; "CPU in kernel" is the share of it
 * the kernel spent on the validators' behalf (loopback sockets, fsync, page faults); "CPU
 * main/workers/libuv/V8" splits their CPU by thread (Linux, thread-cpu.ts): the event loop, the
 * verification workers, libuv's pool (LevelDB's writes and compactions) and V8's helpers (GC).
 *
 * `--verify-threads` sets each validator's `node.verify_threads` (worker threads that check
 * transaction signatures; default `auto`, as a node's config); a list (`0,auto`) runs each setting
 * in turn on a fresh testnet, so the two sit side by side in one run's table ("verify threads").
 *
 * `--set key=value` (repeatable) starts every validator with that config.toml override, as
 * `verity start --set` does (`--set consensus.min_block_interval_ms=0`, say); the header lists them.
 *
 * `--contend` runs the same rates again on the same testnet (after the quiet rows) while a busy
 * process (`node -e 'for(;;){}'`) takes one CPU core; the `contended` column says which rows, and
 * after each table the contended committed tx/s is given as a share of the quiet rate per offered
 * rate (target: at least 40 % of the quiet rate, with p50 at most 2 s).
 *
 * `--repeat K` (default 1) runs each (size, contended, rate) K times on the same testnet: every run
 * prints its own row, then a row `runs: "K (median)"` with the median committed tx/s, p50, p99 and
 * node CPU ms/tx over the K runs (the contention shares then use those medians).
 *
 * `--profile` runs the validators under `node --cpu-prof` and prints where their main threads
 * spent the load windows (profiling itself slows them down, so its throughput is not the figure).
 * `--keep` keeps each testnet's directory. `--help` prints the usage; any other `--flag` is
 * refused (exit code 2).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockEvents } from '../../cli/commands/events.ts';
import { getEngine } from '../../consensus/registry.ts';
import { toHex } from '../../crypto/bytes.ts';
import { ed25519, ed25519Backend } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { addressFromPublicKey, formatAddress } from '../../ledger/address.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import type { RpcClient } from '../../src/rpc/client.ts';
import { type Cluster, createCluster, heights, waitFor } from '../e2e/helpers.ts';
import { seededBytes } from '../helpers/seeded.ts';
import { profileParts, shares, type Window } from './cpu-profile.ts';
import { fmt, header, measure, median, table } from './harness.ts';
import { type BlockCommit, steadyRate } from './steady-rate.ts';
import { readThreads, threadShares } from './thread-cpu.ts';

const USAGE =
  'usage: node test/bench/node.bench.ts [--engines tendermint,hotstuff] [--rates 1000,2000,4000] [--seconds 15]\n' +
  '  [--validators 4 | 1 | 1,4] [--verify-threads auto | 0 | 0,auto] [--set key=value]… [--contend] [--repeat K] [--quick] [--profile] [--keep]';
const VALUE_FLAGS = new Set(['engines', 'rates', 'seconds', 'validators', 'verify-threads', 'repeat', 'set']);
const SWITCHES = new Set(['quick', 'profile', 'keep', 'contend']);
function usage(problem: string): never {
  console.error(`${problem}\n${USAGE}`);
  process.exit(2);
}
{
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    // The file's opening comment explains every option.
    console.log(`${USAGE}\nOptions and columns: the opening comment of test/bench/node.bench.ts.`);
    process.exit(0);
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) continue;
    const name = a.slice(2);
    if (VALUE_FLAGS.has(name)) i++;
    else if (!SWITCHES.has(name)) usage(`unknown option ${a}`);
  }
}

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
/** A comma-separated list of positive integers, or a usage error. */
const positiveInts = (name: string, dflt: string): number[] =>
  arg(name, dflt)
    .split(',')
    .map((t) =>
      /^\d+$/.test(t) && Number(t) >= 1 ? Number(t) : usage(`--${name}: ${t} is not a positive integer`),
    );
const quick = process.argv.includes('--quick');
const profile = process.argv.includes('--profile');
const contend = process.argv.includes('--contend');
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
const engines = arg('engines', 'tendermint').split(',');
const rates = arg('rates', quick ? '500,1500' : '1000,2000,3000,4000,6000')
  .split(',')
  .map(Number);
const seconds = Number(arg('seconds', quick ? '8' : '15'));
const sizes = positiveInts('validators', '4');
const verifyThreads = arg('verify-threads', 'auto')
  .split(',')
  .map((t) =>
    /^(auto|\d{1,2})$/.test(t) ? t : usage(`--verify-threads: ${t} is not "auto" or a thread count`),
  );
/** Every `--set key=value`, passed on to each validator's `verity start`. */
const overrides = process.argv.flatMap((a, i) => {
  if (a !== '--set') return [];
  const v = process.argv[i + 1] ?? '';
  return /^[a-z0-9_]+\.[a-z0-9_]+=./.test(v)
    ? [v]
    : usage(`--set: ${v || '(nothing)'} is not key=value (section.key)`);
});
const repeatList = positiveInts('repeat', '1');
if (repeatList.length !== 1) usage('--repeat takes one number');
const repeat = repeatList[0] as number;
const ACCOUNTS = 256;
const BATCH_MS = 50;

header(
  `Verity node benchmark: ${sizes.join(', ')} validator${sizes.length === 1 && sizes[0] === 1 ? '' : 's'}, libp2p on loopback, LevelDB (fsync), real signatures`,
);
console.log(
  `ed25519 verification backend: ${ed25519Backend} (VERITY_ED25519_BACKEND=${process.env.VERITY_ED25519_BACKEND ?? '(unset)'}, inherited by the validators)`,
);
console.log(
  `validators' config: defaults${overrides.length === 0 ? '' : `, with ${overrides.map((o) => `--set ${o}`).join(' ')}`}`,
);

/**
 * Same-run baselines, measured here before any testnet starts: one ed25519 verification on the
 * validators' backend (256 distinct keys, 150-byte messages, one thread) — each row's CPU per
 * transaction is also given in these — and SHA-256 of a transaction-sized input.
 */
const baseline = (() => {
  const rand = seededBytes('bench-node-baseline');
  const signed = Array.from({ length: 256 }, () => {
    const keys = ed25519.keygen(rand(32));
    const message = rand(150);
    return { message, publicKey: keys.publicKey, signature: ed25519.sign(message, keys.secretKey) };
  });
  let i = 0;
  const verify = measure(
    'verify',
    () => {
      const s = signed[i++ % signed.length] as (typeof signed)[number];
      if (!ed25519.verify(s.signature, s.message, s.publicKey))
        throw new Error('baseline: a signature failed');
    },
    { minMs: 1000 },
  );
  const data = rand(150);
  const sha = measure('sha256', () => sha256(data), { minMs: 500 });
  return { verifyUs: 1e6 / verify.opsPerSec, sha256PerSec: sha.opsPerSec };
})();
console.log(
  `same-run baselines: one ed25519 verification ${fmt(baseline.verifyUs, 1)} µs (${ed25519Backend}, distinct keys, one thread); SHA-256 of 150 bytes ${fmt(baseline.sha256PerSec / 1000, 0)}k/s`,
);
console.log('');

/**
 * One gauge or counter of the prom-client default metrics, from every node. A failed scrape is
 * retried — reusing a keep-alive connection the node has just closed fails with "other side
 * closed" — and one that never succeeds throws. (Read as 0, a failed "before" reading made a
 * run's CPU the node's whole lifetime: CPU per transaction seemed to grow run over run.)
 */
async function nodeMetric(c: Cluster, name: string): Promise<number[]> {
  const pattern = new RegExp(`^${name} (\\S+)$`, 'm');
  return Promise.all(
    c.manifest.nodes.map(async (n) => {
      let last = '';
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          const res = await fetch(`${n.rpc}/metrics`);
          const text = await res.text();
          const value = res.ok ? pattern.exec(text)?.[1] : undefined;
          if (value !== undefined) return Number(value);
          last = `HTTP ${res.status}: ${text.slice(0, 120)}`;
        } catch (e) {
          last = String(e);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`cannot read ${name} from ${n.rpc}/metrics (${last})`);
    }),
  );
}

/** The largest V8 heap in use among the nodes, in MB (a leak shows as growth run over run). */
async function maxHeapMb(c: Cluster): Promise<number> {
  return Math.max(...(await nodeMetric(c, 'verity_nodejs_heap_size_used_bytes'))) / 2 ** 20;
}

/** The largest resident set among the nodes, in MB (off-heap buffers included, unlike the heap). */
async function maxRssMb(c: Cluster): Promise<number> {
  return Math.max(...(await nodeMetric(c, 'verity_process_resident_memory_bytes'))) / 2 ** 20;
}

/** Sum of the nodes' process CPU seconds. */
async function clusterCpuSeconds(c: Cluster): Promise<number> {
  return (await nodeMetric(c, 'verity_process_cpu_seconds_total')).reduce((a, b) => a + b, 0);
}

/** Of those, the seconds spent in the kernel on the nodes' behalf (sockets, fsync, page faults). */
async function clusterKernelSeconds(c: Cluster): Promise<number> {
  return (await nodeMetric(c, 'verity_process_cpu_system_seconds_total')).reduce((a, b) => a + b, 0);
}

/** Signatures the validators' verification pools checked, all together (workers and fallback). */
async function clusterPoolChecks(c: Cluster): Promise<number> {
  const sum = async (where: string) =>
    (await nodeMetric(c, `verity_verify_pool_checks_total\\{where="${where}"\\}`)).reduce((a, b) => a + b, 0);
  return (await sum('worker')) + (await sum('event_loop'));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/** The figures one run (or the median over K runs) reports, before formatting. */
interface Figures {
  committedPerSec: number;
  /** Committed per second over the window's last three quarters (steady-rate.ts). */
  steadyPerSec: number;
  p50: number;
  /** Median time from generation to the node's "admitted" answer: the client's share of p50. */
  p50Admitted: number;
  p99: number;
  cpuMsPerTx: number;
}

// The competing busy process of --contend (one core), and the testnet running now: both are
// stopped on SIGINT and at exit, as well as in the normal path.
let busy: ChildProcess | undefined;
let current: Cluster | undefined;
const killBusy = () => {
  if (busy !== undefined && busy.exitCode === null && busy.signalCode === null) busy.kill('SIGKILL');
};
process.on('exit', killBusy);
process.on('SIGINT', () => {
  killBusy();
  for (const p of current?.procs ?? []) if (p !== undefined && p.exitCode === null) p.kill('SIGTERM');
  process.exit(130);
});

async function startBusy(): Promise<void> {
  busy = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    busy?.once('spawn', resolve);
    busy?.once('error', reject);
  });
  await new Promise((r) => setTimeout(r, 500)); // let it spin up
}

async function stopBusy(): Promise<void> {
  const b = busy;
  if (b === undefined) return;
  if (b.exitCode === null && b.signalCode === null) {
    const exited = new Promise((r) => b.once('exit', r));
    b.kill('SIGKILL');
    await exited;
  }
  busy = undefined;
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
  for (const [sizeSlot, n] of sizes.entries())
    for (const [threadSlot, threads] of verifyThreads.entries())
      await runCluster(
        spec,
        name,
        params,
        n,
        threads,
        40 + (slot * sizes.length + sizeSlot) * verifyThreads.length + threadSlot,
      );
}

/** One testnet of `n` validators for engine `spec`: every rate quiet (and contended), K times each. */
async function runCluster(
  spec: string,
  name: string,
  params: Record<string, string | number>,
  n: number,
  threads: string,
  slot: number,
): Promise<void> {
  const nodeIds = Array.from({ length: n }, (_, i) => i);
  const dir = await mkdtemp(join(tmpdir(), `verity-bench-${name}-`));
  const cluster: Cluster = await createCluster({
    dir,
    validators: n,
    engine: name,
    engineParams: params,
    slot,
    accounts: ACCOUNTS,
    startArgs: ['--set', `node.verify_threads=${threads}`, ...overrides.flatMap((o) => ['--set', o])],
    ...(profile ? { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${join(dir, 'profiles')}` } } : {}),
  });
  current = cluster;
  const windows: Window[] = [];
  let windowCpu = 0;
  let windowCommitted = 0;
  try {
    for (const i of nodeIds) cluster.start(i);
    await waitFor(
      'testnet up',
      async () => ((await heights(cluster, nodeIds)).every((h) => h >= 1) ? true : undefined),
      180_000,
    );
    const keys = await Promise.all(cluster.manifest.accounts.map((a) => loadKey(a.keyFile)));
    const sink = addressFromPublicKey(new Uint8Array(32).fill(1));
    const nonces = keys.map(() => 0);
    const rpc0 = cluster.clients[0] as RpcClient;
    const rows: Array<Record<string, string>> = [];
    /** Per offered rate, the quiet and the contended figures (medians when --repeat > 1). */
    const summary = new Map<number, { quiet?: Figures; contended?: Figures }>();

    /**
     * A run ends once everything it sent is committed or definitively refused, or after a 120 s
     * tail. What a run past capacity leaves behind (never admitted) would leave nonce gaps that the
     * next run's transactions queue behind forever; so after such a run the next one takes each
     * account's next nonce from the chain (asked one account at a time: the RPC limits requests
     * per address).
     */
    let leftovers = false;
    const resyncNonces = async () => {
      for (const [k, key] of keys.entries()) {
        const a = await rpc0.account(formatAddress(addressFromPublicKey(key.publicKey)));
        nonces[k] = Number(a.nonce);
      }
    };

    const runOnce = async (rate: number, contended: boolean, run: number): Promise<Figures> => {
      const total = rate * seconds;
      process.stderr.write(
        `${name} (${n} validator${n === 1 ? '' : 's'}, verify threads ${threads}${contended ? ', contended' : ''}${repeat > 1 ? `, run ${run}/${repeat}` : ''}): signing ${total} transactions for ${rate} tx/s… `,
      );
      if (leftovers) await resyncNonces();
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
      const nodePids = cluster.procs.flatMap((p) => (p?.pid === undefined ? [] : [p.pid]));
      const threadsBefore = readThreads(nodePids);
      const kernelBefore = await clusterKernelSeconds(cluster);
      const checksBefore = await clusterPoolChecks(cluster);
      const busyBefore = await nodeMetric(cluster, 'verity_event_loop_busy_seconds_total');
      const busySince = performance.now();
      const viewChangesBefore = (await rpc0.get<{ viewChanges: number }>('/status')).viewChanges;
      const submitted = new Map<string, number>();
      let nextHeight = (await rpc0.status()).height + 1;
      const latencies: number[] = [];
      const admitDelays: number[] = [];
      let committedInWindow = 0;
      let blocksInWindow = 0;
      const blockCommits: BlockCommit[] = [];
      const start = performance.now();
      const windowEnd = start + seconds * 1000;
      const fromUs = monotonicUs();
      let sent = 0;
      let rejected = 0;
      let refusals = 0;
      // Follow node 0's commits while sending: its GET /events stream announces each block as it
      // commits (the time of that announcement is the commit time measured), and each block's
      // transaction ids are fetched after it. A status poll every 250 ms covers a lost stream
      // (a block either saw first is timed by the earlier); the run says how many blocks the
      // stream never announced (timed by the poll alone: up to 250 ms late).
      let following = true;
      const committedAt = new Map<number, number>();
      let streamHeight = 0;
      let streamError: string | undefined;
      let polledBlocks = 0;
      let wake: (() => void) | undefined;
      const stop = new AbortController();
      const stream = (async () => {
        const res = await fetch(`${rpc0.base}/events`, {
          signal: stop.signal,
          headers: { accept: 'text/event-stream' },
        });
        if (!res.ok || res.body === null) throw new Error(`GET /events answered HTTP ${res.status}`);
        for await (const e of blockEvents(res.body.pipeThrough(new TextDecoderStream()))) {
          if (e.height >= nextHeight && !committedAt.has(e.height))
            committedAt.set(e.height, performance.now());
          streamHeight = Math.max(streamHeight, e.height);
          wake?.();
        }
        if (!stop.signal.aborted) throw new Error('node 0 closed its /events stream');
      })().catch((e: Error) => {
        if (!stop.signal.aborted) streamError = e.message;
      });
      const follower = (async () => {
        while (following) {
          try {
            let h = streamHeight;
            let polledAt = Number.POSITIVE_INFINITY;
            if (nextHeight > streamHeight) {
              h = Math.max(h, (await rpc0.status()).height);
              polledAt = performance.now();
            }
            while (nextHeight <= h) {
              // Ids only: the whole block's JSON cost node 0 (decoding, stringifying ~0.5 MB a
              // block) and this process (parsing it) CPU that the validators share.
              const b = await rpc0.get<{ txs: Array<{ id: string }> }>(`/block?height=${nextHeight}&txs=ids`);
              const streamed = committedAt.get(nextHeight) ?? Number.POSITIVE_INFINITY;
              committedAt.delete(nextHeight);
              if (streamed === Number.POSITIVE_INFINITY) polledBlocks++;
              const now = Math.min(streamed, polledAt);
              if (now <= windowEnd) blocksInWindow++;
              let ours = 0;
              for (const t of b.txs) {
                const at = submitted.get(t.id);
                if (at === undefined) continue;
                latencies.push(now - at);
                submitted.delete(t.id);
                ours++;
                if (now <= windowEnd) committedInWindow++;
              }
              blockCommits.push({ at: now, txs: ours });
              nextHeight++;
            }
          } catch {
            // a busy node: try again
          }
          if (nextHeight > streamHeight)
            await new Promise<void>((r) => {
              const timer = setTimeout(r, 250);
              wake = () => {
                clearTimeout(timer);
                r();
              };
            });
          wake = undefined;
        }
      })();
      // The client: each sender's transactions go to one node (sender k to node k mod N), through
      // a queue per node, at most one request in flight per node, so a sender's nonces arrive in
      // order. What a node refuses for now (per transaction: a full mempool, a node catching up,
      // a nonce too far ahead, the per-sender limit) goes back to the front of its queue, ahead of
      // that sender's later nonces — a client that dropped or reordered them would leave nonce
      // gaps that stall the sender. A node that refuses a whole request (503: overloaded or
      // catching up) is left alone for 100 ms, doubling to 1 s while it keeps refusing, as a
      // client honouring back-pressure would:
      // re-sending at once would spend the CPU this machine's validators and this generator share
      // on refusals. Latency counts from when a transaction was generated, queueing included.
      type Signed = (typeof txs)[number];
      const RETRYABLE = new Set(['MEMPOOL_FULL', 'NODE_SYNCING', 'NONCE_TOO_HIGH', 'SENDER_LIMIT']);
      const queues = nodeIds.map(() => [] as Signed[]);
      const inflight = nodeIds.map(() => false);
      const backoff = nodeIds.map(() => ({ until: 0, delayMs: 0 }));
      const backOff = (wait: { until: number; delayMs: number }) => {
        wait.delayMs = Math.min(1000, Math.max(100, 2 * wait.delayMs));
        wait.until = performance.now() + wait.delayMs;
      };
      const post = (j: number) => {
        const queue = queues[j] as Signed[];
        const wait = backoff[j] as { until: number; delayMs: number };
        if (inflight[j] || queue.length === 0 || wait.until > performance.now()) return;
        const batch = queue.splice(0, 1000);
        inflight[j] = true;
        void (cluster.clients[j] as RpcClient)
          .post<{ results: Array<{ ok: boolean; code?: string }> }>('/txs', {
            txs: batch.map((t) => toHex(t.bytes)),
          })
          .then((r) => {
            const again: Signed[] = [];
            const answeredAt = performance.now();
            r.results.forEach((x, i) => {
              if (x.ok) {
                const at = submitted.get(toHex((batch[i] as Signed).id));
                if (at !== undefined) admitDelays.push(answeredAt - at);
              }
              if (x.ok || x.code === 'DUPLICATE') return;
              if (RETRYABLE.has(x.code ?? '')) {
                refusals++;
                again.push(batch[i] as Signed);
              } else rejected++;
            });
            queue.unshift(...again);
            // Nothing taken: as good as a 503.
            if (again.length === batch.length) backOff(wait);
            else wait.delayMs = 0;
          })
          .catch(() => {
            refusals += batch.length;
            queue.unshift(...batch);
            backOff(wait);
          })
          .finally(() => {
            inflight[j] = false;
          });
      };
      let deadline = Number.POSITIVE_INFINITY;
      while (performance.now() < deadline) {
        const due = Math.min(
          total,
          Math.floor(((performance.now() - start) / 1000) * rate) + Math.ceil((rate * BATCH_MS) / 1000),
        );
        for (let i = sent; i < due; i++) {
          const t = txs[i] as Signed;
          submitted.set(toHex(t.id), performance.now());
          queues[(i % keys.length) % n]?.push(t);
        }
        sent = Math.max(sent, due);
        for (const j of nodeIds) post(j);
        // All sent: give the tail up to 120 s to commit (past capacity the backlog drains at the
        // committed rate; the rate figure counts only the window, latencies count every commit).
        if (sent >= total && deadline === Number.POSITIVE_INFINITY)
          deadline = Math.max(windowEnd, performance.now()) + 120_000;
        // Drained: everything sent is committed or definitively rejected.
        if (sent >= total && submitted.size <= rejected) break;
        await new Promise((r) => setTimeout(r, BATCH_MS));
      }
      following = false;
      wake?.();
      await follower;
      stop.abort();
      await stream;
      if (polledBlocks > 0)
        console.log(
          `note: node 0's /events stream did not announce ${polledBlocks} block(s), timed by the status poll instead${streamError === undefined ? '' : ` (${streamError})`}: their commit times are up to 250 ms late`,
        );
      leftovers = submitted.size > rejected;
      const elapsed = (Math.max(performance.now(), windowEnd) - start) / 1000;
      const cpu = (await clusterCpuSeconds(cluster)) - cpuBefore;
      const threadsAfter = readThreads(nodePids);
      const kernel = (await clusterKernelSeconds(cluster)) - kernelBefore;
      const checks = (await clusterPoolChecks(cluster)) - checksBefore;
      const busyAfter = await nodeMetric(cluster, 'verity_event_loop_busy_seconds_total');
      const busyWallS = (performance.now() - busySince) / 1000;
      const busyShares = busyAfter
        .map((b, i) => (b - (busyBefore[i] ?? 0)) / busyWallS)
        .sort((a, b) => a - b);
      windows.push({ fromUs, toUs: monotonicUs() });
      windowCpu += cpu;
      windowCommitted += latencies.length;
      const viewChanges =
        (await rpc0.get<{ viewChanges: number }>('/status')).viewChanges - viewChangesBefore;
      latencies.sort((a, b) => a - b);
      admitDelays.sort((a, b) => a - b);
      const figures: Figures = {
        committedPerSec: committedInWindow / seconds,
        steadyPerSec: steadyRate(blockCommits, start, windowEnd),
        p50: percentile(latencies, 0.5),
        p50Admitted: percentile(admitDelays, 0.5),
        p99: percentile(latencies, 0.99),
        cpuMsPerTx: (cpu * 1000) / Math.max(1, latencies.length) / n,
      };
      rows.push({
        engine: spec,
        validators: String(n),
        'verify threads': threads,
        contended: contended ? 'yes' : 'no',
        'offered tx/s': String(rate),
        'committed tx/s': fmt(figures.committedPerSec, 0),
        'steady tx/s': fmt(figures.steadyPerSec, 0),
        'blocks/s': fmt(blocksInWindow / seconds, 1),
        'view changes': String(viewChanges),
        committed: `${latencies.length}/${total}`,
        rejected: String(rejected),
        'retried (503)': String(refusals),
        'p50 ms': fmt(figures.p50, 0),
        'p50 admitted ms': fmt(figures.p50Admitted, 0),
        'p99 ms': fmt(figures.p99, 0),
        'run s': fmt(elapsed, 1),
        'node CPU ms/tx': fmt(figures.cpuMsPerTx, 3),
        'CPU/tx in verifications': `${fmt((figures.cpuMsPerTx * 1000) / baseline.verifyUs, 1)}×`,
        'CPU in kernel': `${fmt((100 * kernel) / Math.max(1e-9, cpu), 0)}%`,
        'CPU main/workers/libuv/V8':
          threadsBefore === undefined || threadsAfter === undefined
            ? ''
            : threadShares(threadsBefore, threadsAfter),
        'pool checks/tx': fmt(checks / Math.max(1, latencies.length) / n, 2),
        'event loop busy': `${fmt(busyShares[0] ?? 0, 2)}–${fmt(busyShares.at(-1) ?? 0, 2)}`,
        'max heap MB': fmt(await maxHeapMb(cluster), 0),
        'max RSS MB': fmt(await maxRssMb(cluster), 0),
        runs: repeat > 1 ? `1 (#${run})` : '1',
      });
      console.log(JSON.stringify(rows.at(-1)));
      return figures;
    };

    for (const contended of contend ? [false, true] : [false]) {
      if (contended) await startBusy();
      try {
        for (const rate of rates) {
          const runs: Figures[] = [];
          for (let run = 1; run <= repeat; run++) runs.push(await runOnce(rate, contended, run));
          const med: Figures = {
            committedPerSec: median(runs.map((f) => f.committedPerSec)),
            steadyPerSec: median(runs.map((f) => f.steadyPerSec)),
            p50: median(runs.map((f) => f.p50)),
            p50Admitted: median(runs.map((f) => f.p50Admitted)),
            p99: median(runs.map((f) => f.p99)),
            cpuMsPerTx: median(runs.map((f) => f.cpuMsPerTx)),
          };
          if (repeat > 1) {
            rows.push({
              engine: spec,
              validators: String(n),
              'verify threads': threads,
              contended: contended ? 'yes' : 'no',
              'offered tx/s': String(rate),
              'committed tx/s': fmt(med.committedPerSec, 0),
              'steady tx/s': fmt(med.steadyPerSec, 0),
              'blocks/s': '',
              'view changes': '',
              committed: '',
              rejected: '',
              'retried (503)': '',
              'p50 ms': fmt(med.p50, 0),
              'p50 admitted ms': fmt(med.p50Admitted, 0),
              'p99 ms': fmt(med.p99, 0),
              'run s': '',
              'node CPU ms/tx': fmt(med.cpuMsPerTx, 3),
              'CPU/tx in verifications': `${fmt((med.cpuMsPerTx * 1000) / baseline.verifyUs, 1)}×`,
              'CPU in kernel': '',
              'CPU main/workers/libuv/V8': '',
              'pool checks/tx': '',
              'event loop busy': '',
              'max heap MB': '',
              'max RSS MB': '',
              runs: `${repeat} (median)`,
            });
            console.log(JSON.stringify(rows.at(-1)));
          }
          const entry = summary.get(rate) ?? {};
          if (contended) entry.contended = med;
          else entry.quiet = med;
          summary.set(rate, entry);
        }
      } finally {
        if (contended) await stopBusy();
      }
    }
    table(rows);
    if (contend) {
      console.log(
        `## ${spec}, ${n} validator${n === 1 ? '' : 's'}: contended (one core busy) vs quiet committed tx/s${repeat > 1 ? ` (medians of ${repeat} runs)` : ''}; target ≥ 40 % of quiet, contended p50 ≤ 2,000 ms`,
      );
      for (const [rate, { quiet, contended }] of summary) {
        if (quiet === undefined || contended === undefined) continue;
        const share =
          quiet.committedPerSec > 0 ? contended.committedPerSec / quiet.committedPerSec : Number.NaN;
        const meets = share >= 0.4 && contended.p50 <= 2000;
        console.log(
          `offered ${rate} tx/s: ${fmt(contended.committedPerSec, 0)} / ${fmt(quiet.committedPerSec, 0)} tx/s = ${fmt(100 * share, 0)} % of quiet; contended p50 ${fmt(contended.p50, 0)} ms (quiet ${fmt(quiet.p50, 0)} ms) — ${meets ? 'meets' : 'misses'} the target`,
        );
      }
      console.log('');
    }
  } finally {
    await stopBusy();
    await cluster.stopAll();
    current = undefined;
    if (profile) await printProfile(join(dir, 'profiles'), windows, windowCpu, windowCommitted);
    if (!process.argv.includes('--keep')) await rm(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

/** Where the validators' main threads spent the load windows, by part, scaled to CPU per tx. */
async function printProfile(dir: string, windows: Window[], cpuSeconds: number, committed: number) {
  // One profile per thread, CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is a
  // validator's main thread; the others are its signature-verification workers.
  const all = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile'));
  const files = all.filter((f) => f.split('.')[4] === '0');
  if (files.length === 0) return console.log('(no CPU profiles were written)');
  const busy = (ms: ReadonlyArray<Map<string, number>>) =>
    ms.reduce((sum, m) => sum + [...m.values()].reduce((a, b) => a + b, 0), 0);
  const parts = files.map((f) => profileParts(join(dir, f), windows));
  const workers = all.filter((f) => !files.includes(f)).map((f) => profileParts(join(dir, f), windows));
  // A profile's busy time is wall time (a thread waiting for a core counts), so it gives shares,
  // not CPU: the process's CPU per transaction is split between the main thread and the workers in
  // proportion to their busy time, and the main thread's part among its parts by share.
  const cpuPerTxUs = (cpuSeconds * 1e6) / Math.max(1, committed) / files.length;
  const mainBusy = busy(parts);
  const perTxUs = (cpuPerTxUs * mainBusy) / Math.max(1, mainBusy + busy(workers));
  console.log(
    `## where a validator's main thread spends the load (${files.length} profiles; per committed tx per validator: process CPU ${fmt(cpuPerTxUs)} µs, of which ~${fmt(perTxUs)} µs the main thread and ~${fmt(cpuPerTxUs - perTxUs)} µs the ${workers.length / files.length} verification worker(s), split by their profiles' busy time)`,
  );
  table(
    shares(parts).map(({ part, share }) => ({
      part,
      'share of busy time': `${fmt(100 * share, 1)}%`,
      'µs per tx': fmt(share * perTxUs, 0),
    })),
  );
}
