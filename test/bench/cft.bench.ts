/**
 * npm run bench:cft — the side-by-side benchmark: the crash-fault engines (Raft, Multi-Paxos) and
 * the Byzantine ones (Tendermint, PBFT, HotStuff) on this machine, as real processes (libp2p over
 * loopback, LevelDB with fsync, real signatures), next to a real three-member etcd cluster as the
 * outside reference, all driven by the same client in the same run; then the engines in the
 * simulator as n grows; then Flexible Paxos's trade (Multi-Paxos with non-majority quorums) and
 * what a follower pays for re-verifying transaction signatures instead of trusting its leader.
 *
 *   node test/bench/cft.bench.ts [--engines raft,multipaxos,tendermint,pbft,hotstuff]
 *        [--validators 3,5] [--bft-validators 4] [--clients 16] [--seconds 10] [--warmup 2]
 *        [--sim-n 4,16,64] [--sim-seconds 10] [--flexible-n 5] [--validation-txs 16,256]
 *        [--validation-samples 15] [--no-etcd] [--no-sim] [--no-flexible] [--no-validation]
 *        [--sim-only] [--flexible-only] [--validation-only] [--json] [--keep] [--help]
 *
 * The `--X-only` flags select sections (together: their union) and leave out the real processes
 * and etcd; `--no-X` leaves one out of whatever runs.
 *
 * The workload (etcd-reference.ts, `closedLoop`), identical for every row: C concurrent clients
 * (`--clients`), each writing one small value (key `bench/<client>/<seq>`, 32-byte value) and
 * waiting until it is committed before it writes the next — a closed loop, so throughput and
 * latency are those of a service answering C users, not of an open-loop flood. Client c talks to
 * validator (or etcd member) c mod n. On Verity a write is a `put` transaction from the client's
 * own funded account, signed by the client (a fraction of a millisecond, counted in the latency)
 * and sent with POST /tx?mode=commit, which answers once the block holding it is committed on the
 * node asked; on etcd it is a PUT through the JSON gateway (POST /v3/kv/put), which answers once
 * the entry is committed by a majority and applied. Both go through Node's fetch, over keep-alive HTTP/1.1. Each row warms up for
 * `--warmup` s, then measures `--seconds` s: writes answered in the window per second, p50/p99 of
 * their call-to-answer times, and the nodes' own counters scraped from GET /metrics at the two
 * edges of the window (process CPU; peer bytes; heights). A write that fails (503, timeout) counts
 * as an error and is retried by its client.
 *
 * Sizes: crash-fault engines run with each of `--validators` (f = 1 at 3), the Byzantine ones with
 * each of `--bft-validators` (f = 1 needs 4). An engine this build does not know is skipped with a
 * line saying so, so the script picks up engines as they are registered (consensus/registry.ts).
 *
 * Simulator section: every engine at n in `--sim-n` (crash-fault engines at the odd n just below an
 * even one: 3, 15, 63), no faults, the network's calm delays (5 ms + up to 20 ms jitter), a closed
 * loop of min(C, 16) simulated clients: messages and bytes per committed block (point-to-point
 * deliveries on the consensus channel, and on every channel: plus tx gossip and block sync) and
 * submit-to-commit latency in mean one-way message delays (which includes the engines' own
 * timers, e.g. a proposer's wait for transactions).
 *
 * Flexible Paxos (part of the simulator section, or alone with `--flexible-only`;
 * flexible-paxos.ts): Multi-Paxos at each n in `--flexible-n` (default 5; every simulated
 * validator holds power 1) with majorities and with every smaller Phase-2 quorum Q2 paired with
 * the smallest Phase-1 quorum that intersects it (Q1 = n − Q2 + 1; n = 5: (3,3), (4,2), (5,1)).
 * First the same closed loop as above (messages per block; latency in delays, also split by
 * whether the client's node was the leader), except that each client waits one mean delay between
 * an answer and its next write (with Q2 = 1 the leader commits alone in zero simulated time, and a
 * client answering at once would keep simulated time from advancing). Then the other side of the
 * trade, one deterministic run per configuration and per k: once a leader commits, k followers
 * crash for good (does the leader keep committing? — it needs Q2 up), then the leader crashes too
 * (do the survivors elect a new leader and commit? — they need Q1). When the real-process section
 * runs, Multi-Paxos also runs there with each non-majority configuration at each of
 * `--validators` (genesis engine params phase1Quorum / phase2Quorum).
 *
 * Follower validation (`--validation-only`, or last in the default run, about 20 s;
 * validation-cost.ts): a follower's ledger work per committed transaction on a block of each of
 * `--validation-txs` transactions — decode, check every signature, execute, commit (in memory) —
 * against the same with the signatures already known good (what trusting the leader would save);
 * medians of `--validation-samples` samples of process CPU time, on this machine's CPU.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEngine } from '../../consensus/registry.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import { RpcClientError } from '../../src/rpc/client.ts';
import type { Channel } from '../../src/runtime/ports.ts';
import { CALM } from '../../src/sim/network.ts';
import { accountKeys, simGenesis } from '../../src/sim/sim-world.ts';
import { runSimulation } from '../../src/sim/simulation.ts';
import { type Cluster, createCluster, waitFor } from '../e2e/helpers.ts';
import {
  benchKey,
  benchValue,
  cleanupOnInterrupt,
  closedLoop,
  type EtcdResult,
  type LoadResult,
  metricSum,
  percentile,
  runEtcdReference,
  VALUE_BYTES,
} from './etcd-reference.ts';
import { type CrashTrial, crashTrial, flexibleConfigs, quorumLabel, quorumParams } from './flexible-paxos.ts';
import { fmt, header, machine, table } from './harness.ts';
import { measureValidationCost, type ValidationCost } from './validation-cost.ts';

const USAGE = `usage: node test/bench/cft.bench.ts [options]   (npm run bench:cft -- [options])
  --engines LIST         engines to run (default raft,multipaxos,tendermint,pbft,hotstuff);
                         one this build does not know is skipped with a line saying so
  --validators LIST      validator counts for crash-fault engines (default 3)
  --bft-validators LIST  validator counts for Byzantine engines (default 4: f = 1)
  --clients LIST         concurrent closed-loop clients, one row each (default 16)
  --seconds S            measured window per row (default 10)
  --warmup S             load before the window (default 2)
  --sim-n LIST           simulator committee sizes (default 4,16,64; crash-fault engines n-1 when even)
  --sim-seconds S        simulated seconds per simulator run (default 10, n = 64: 3; the n = 64
                         runs take minutes of wall time each on 2 cores)
  --flexible-n LIST      committee sizes for the Flexible Paxos rows (default 5): Multi-Paxos with
                         majority quorums and each smaller Q2 (Q1 = n - Q2 + 1), closed loop and
                         crash runs in the simulator, plus real-process rows at --validators
  --validation-txs LIST  transactions per block for the follower-validation section (default 16,256)
  --validation-samples N samples per block size, medians reported (default 15)
  --no-etcd              skip the etcd reference row
  --no-sim               skip the simulator section (its Flexible Paxos part too)
  --no-flexible          skip the Flexible Paxos rows (simulator and real processes)
  --no-validation        skip the follower-validation section
  --sim-only             only the simulator section, Flexible Paxos included (no processes, no etcd)
  --flexible-only        only the Flexible Paxos simulator rows and crash table
  --validation-only      only the follower-validation section
                         (the -only flags combine: the union of the sections named)
  --json                 print one JSON document on stdout (progress goes to stderr)
  --keep                 keep the testnets' and etcd's temp directories
  --help                 this text`;

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const arg = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? (argv[i + 1] ?? dflt) : dflt;
};
const list = (text: string) => text.split(',').filter(Boolean);
const numbers = (name: string, dflt: string) => {
  const ns = list(arg(name, dflt)).map(Number);
  if (ns.length === 0 || ns.some((n) => !Number.isInteger(n) || n < 1)) {
    console.error(`--${name} takes a comma-separated list of positive integers\n\n${USAGE}`);
    process.exit(2);
  }
  return ns;
};
const engineNames = list(arg('engines', 'raft,multipaxos,tendermint,pbft,hotstuff'));
const cftSizes = numbers('validators', '3');
const bftSizes = numbers('bft-validators', '4');
const clientCounts = numbers('clients', '16');
const seconds = Number(arg('seconds', '10'));
const warmupSeconds = Number(arg('warmup', '2'));
const simSizes = numbers('sim-n', '4,16,64');
/** Simulated seconds per run: --sim-seconds, else 10 up to n = 16 and fewer beyond (n = 64: 3). */
const simSecondsFor = (n: number) =>
  argv.includes('--sim-seconds')
    ? Number(arg('sim-seconds', '10'))
    : Math.min(10, Math.max(3, Math.round(160 / n)));
const flexibleSizes = numbers('flexible-n', '5');
const validationSizes = numbers('validation-txs', '16,256');
const validationSamples = numbers('validation-samples', '15')[0] as number;
const json = argv.includes('--json');
const keep = argv.includes('--keep');
const only = {
  sim: argv.includes('--sim-only'),
  flexible: argv.includes('--flexible-only'),
  validation: argv.includes('--validation-only'),
};
const anyOnly = only.sim || only.flexible || only.validation;
/** The real-process section (Verity testnets and etcd). */
const withLive = !anyOnly;
const withEtcd = withLive && !argv.includes('--no-etcd');
/** The simulator section's engine rows (n as in --sim-n). */
const withSim = (anyOnly ? only.sim : true) && !argv.includes('--no-sim');
const noFlexible = argv.includes('--no-flexible') || !engineNames.includes('multipaxos');
/** Flexible Paxos in the simulator: rows and crash table. */
const withFlexibleSim =
  !noFlexible &&
  (anyOnly ? only.flexible || only.sim : true) &&
  (only.flexible || !argv.includes('--no-sim'));
/** Multi-Paxos's non-majority configurations among the real-process rows. */
const withFlexibleLive = withLive && !noFlexible;
const withValidation = (anyOnly ? only.validation : true) && !argv.includes('--no-validation');

/** Human output: stdout normally, stderr under --json (stdout then holds the JSON alone). */
const say = (line = '') => (json ? process.stderr.write(`${line}\n`) : console.log(line));
const progress = (line: string) => process.stderr.write(`${line}\n`);
const show = (rows: ReadonlyArray<Record<string, string | number>>) => {
  if (!json) table(rows);
};

// -- Verity rows ------------------------------------------------------------------------------

interface VerityRow extends LoadResult {
  readonly engine: string;
  readonly validators: number;
  /** Multi-Paxos with non-majority quorums (genesis phase1Quorum / phase2Quorum). */
  readonly quorums?: { readonly q1: number; readonly q2: number };
  readonly blocks: number;
  readonly cpuMsPerTxPerValidator: number;
  /** Consensus-layer messages sent per block, if the nodes export a message counter. */
  readonly messagesPerBlock?: number;
  /** Payload bytes the validators sent one another (all channels) per block. */
  readonly bytesPerBlock: number;
  readonly peerBytesPerTx: number;
}

/** The metric a node would need to export for messages per block; not exported today. */
const MESSAGES_METRIC = 'verity_p2p_messages_out_total';

interface Counters {
  cpu: number;
  bytesOut: number;
  messagesOut: number | undefined;
  height: number;
}

async function scrapeCluster(c: Cluster): Promise<Counters> {
  const texts = await Promise.all(
    c.manifest.nodes.map((n) =>
      fetch(`${n.rpc}/metrics`).then(
        (r) => r.text(),
        () => '',
      ),
    ),
  );
  let messagesOut: number | undefined;
  const total = { cpu: 0, bytesOut: 0, height: 0 };
  for (const t of texts) {
    total.cpu += metricSum(t, 'verity_process_cpu_seconds_total') ?? 0;
    total.bytesOut += metricSum(t, 'verity_p2p_bytes_out_total') ?? 0;
    total.height = Math.max(total.height, metricSum(t, 'verity_height') ?? 0);
    const m = metricSum(t, MESSAGES_METRIC);
    if (m !== undefined) messagesOut = (messagesOut ?? 0) + m;
  }
  return { ...total, messagesOut };
}

let slot = 0;
async function runVerity(
  engine: string,
  validators: number,
  clients: number,
  quorums?: { q1: number; q2: number },
): Promise<VerityRow> {
  const dir = await mkdtemp(join(tmpdir(), `verity-bench-cft-${engine}-`));
  let cluster: Cluster | undefined;
  const killAll = () => {
    for (const p of cluster?.procs ?? [])
      if (p !== undefined && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  };
  const dispose = cleanupOnInterrupt(() => {
    killAll();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  });
  process.on('exit', killAll);
  try {
    cluster = await createCluster({
      dir,
      validators,
      engine,
      ...(quorums === undefined ? {} : { engineParams: quorumParams(quorums) }),
      slot: 70 + slot++,
      accounts: clients,
    });
    const c = cluster;
    const all = c.manifest.nodes.map((_, i) => i);
    for (const i of all) c.start(i);
    await waitFor(
      `${engine} testnet of ${validators} up`,
      async () => {
        c.assertAlive(all);
        const ready = await Promise.all(
          c.clients.map((rpc) =>
            Promise.all([rpc.get<{ ok: boolean }>('/health'), rpc.status()]).then(
              ([h, s]) => h.ok && s.peers >= validators - 1,
              () => false,
            ),
          ),
        );
        return ready.every(Boolean) ? true : undefined;
      },
      120_000,
    );
    const keys = await Promise.all(c.manifest.accounts.map((a) => loadKey(a.keyFile)));
    const nonces = keys.map(() => 0);
    const seqs = keys.map(() => 0);
    /** Per client, the transaction being written (re-sent as is after a failure). */
    const pending: Array<string | undefined> = keys.map(() => undefined);
    const snapshots: Partial<Record<'start' | 'end', Counters>> = {};
    const load = await closedLoop({
      clients,
      seconds,
      warmupSeconds,
      onWindow: async (edge) => {
        snapshots[edge] = await scrapeCluster(c);
      },
      write: async (i) => {
        const key = keys[i] as (typeof keys)[number];
        const rpc = c.clients[i % validators] as (typeof c.clients)[number];
        const seq = seqs[i] as number;
        const hex =
          pending[i] ??
          toHex(
            signTransaction(
              {
                chainId: c.manifest.chainId,
                sender: key.publicKey,
                nonce: nonces[i] as number,
                op: { type: 'put', key: utf8(benchKey(i, seq)), value: benchValue(i, seq) },
              },
              key.secretKey,
            ).bytes,
          );
        pending[i] = hex;
        try {
          const r = await rpc.submitTx(hex, 'commit');
          pending[i] = undefined;
          nonces[i] = (nonces[i] as number) + 1;
          seqs[i] = seq + 1;
          if (r.receipt !== undefined && !r.receipt.ok) throw new Error(`put failed: ${r.receipt.code}`);
        } catch (e) {
          // Overload (503), commit timeout (504) or no answer: re-send the same transaction.
          // Anything else refused it for good: take the account's nonce from the node again.
          if (e instanceof RpcClientError && e.status !== 0 && e.status !== 503 && e.status !== 504) {
            pending[i] = undefined;
            nonces[i] = (await rpc.account(c.manifest.accounts[i]?.address ?? '')).nonce;
          }
          throw e;
        }
      },
    });
    c.assertAlive(all);
    const a = snapshots.start as Counters;
    const b = snapshots.end as Counters;
    const blocks = b.height - a.height;
    const perBlock = (x: number) => x / Math.max(1, blocks);
    return {
      ...load,
      engine,
      validators,
      ...(quorums === undefined ? {} : { quorums }),
      blocks,
      cpuMsPerTxPerValidator: ((b.cpu - a.cpu) * 1000) / Math.max(1, load.ops) / validators,
      ...(a.messagesOut === undefined || b.messagesOut === undefined
        ? {}
        : { messagesPerBlock: perBlock(b.messagesOut - a.messagesOut) }),
      bytesPerBlock: perBlock(b.bytesOut - a.bytesOut),
      peerBytesPerTx: (b.bytesOut - a.bytesOut) / Math.max(1, load.ops),
    };
  } finally {
    if (cluster !== undefined) {
      const stopped = cluster.stopAll();
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000).unref());
      if ((await Promise.race([stopped, timeout])) === 'timeout') killAll();
    }
    process.off('exit', killAll);
    dispose();
    if (keep) progress(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

// -- simulator rows -----------------------------------------------------------------------------

interface SimRow {
  readonly engine: string;
  /** Multi-Paxos's quorums when not the engine's defaults (the Flexible Paxos rows). */
  readonly quorums?: { readonly q1: number; readonly q2: number };
  readonly n: number;
  readonly clients: number;
  /** Blocks committed (validator 0) over the simulated run's load phase. */
  readonly blocks: number;
  /** Per block over the load phase: consensus-channel messages and bytes, and every channel's. */
  readonly consensusMessagesPerBlock: number;
  readonly consensusBytesPerBlock: number;
  readonly messagesPerBlock: number;
  readonly bytesPerBlock: number;
  readonly commits: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** p50 of the writes sent to the node that led when they were submitted, and to the others. */
  readonly leaderP50Ms: number;
  readonly followerP50Ms: number;
  /** Mean one-way delay of the simulated network, ms. */
  readonly delayMs: number;
  readonly simulatedSeconds: number;
  readonly wallSeconds: number;
}

async function runSim(
  module: EngineModule<unknown>,
  n: number,
  clients: number,
  quorums?: { q1: number; q2: number },
  /** Simulated ms between a client's answer and its next write (0: at once). */
  thinkMs = 0,
): Promise<SimRow> {
  const engineParams = quorums === undefined ? {} : quorumParams(quorums);
  const { genesis } = simGenesis(module.name, engineParams, n);
  const warmupMs = 1_000;
  const endMs = simSecondsFor(n) * 1000;
  const latencies: number[] = [];
  const atLeader: number[] = [];
  const atFollower: number[] = [];
  const sent: Record<Channel, { messages: number; bytes: number }> = {
    consensus: { messages: 0, bytes: 0 },
    tx: { messages: 0, bytes: 0 },
    sync: { messages: 0, bytes: 0 },
  };
  let blocks = 0;
  const r = await runSimulation({
    engine: module,
    engineParams,
    nodes: n,
    byzantine: 0,
    byzantineMode: 'twins',
    faults: new Set(),
    seed: 'bench-cft',
    durationMs: endMs,
    txs: 0, // the simulator's own workload stays off: the closed loop below is the workload
    livenessMs: 1_000,
    livenessBlocks: 1,
    scenario: (ctl) => {
      // The drop hook sees every transmission (it drops none): counts by channel. The simulator
      // clears it when the load phase ends, which is where `blocks` is read too.
      ctl.dropMessages((_from, _to, channel, bytes) => {
        sent[channel].messages++;
        sent[channel].bytes += bytes.length;
        return false;
      });
      ctl.at(endMs, () => {
        blocks = ctl.runtime(0)?.chain.height ?? 0;
      });
      const nonces = accountKeys.map(() => 0);
      const write = async (c: number, seq: number): Promise<void> => {
        if (ctl.now() >= endMs) return;
        const rt = ctl.runtime(ctl.instancesOf(c % n)[0] ?? c % n);
        const key = accountKeys[c] as (typeof accountKeys)[number];
        const etx = signTransaction(
          {
            chainId: genesis.chainId,
            sender: key.publicKey,
            nonce: nonces[c] as number,
            op: { type: 'put', key: utf8(benchKey(c, seq)), value: benchValue(c, seq) },
          },
          key.secretKey,
        );
        const t0 = ctl.now();
        const leading = rt?.status().step === 'leader';
        const admitted = await rt?.submit(etx);
        if (rt === undefined || admitted?.ok !== true) {
          ctl.at(ctl.now() + 50, () => write(c, seq));
          return;
        }
        // Not awaited: the simulator runs the commit; this resumes at its (virtual) time.
        void rt.waitForCommit(etx.id).then(() => {
          const t1 = ctl.now();
          if (t0 >= warmupMs && t1 <= endMs) {
            latencies.push(t1 - t0);
            (leading ? atLeader : atFollower).push(t1 - t0);
          }
          nonces[c] = (nonces[c] as number) + 1;
          ctl.at(t1 + thinkMs, () => write(c, seq + 1));
        });
      };
      for (let c = 0; c < clients; c++) ctl.at(500 + c, () => write(c, 0));
    },
  });
  for (const l of [latencies, atLeader, atFollower]) l.sort((x, y) => x - y);
  const perBlock = (x: number) => x / Math.max(1, blocks);
  const all = Object.values(sent);
  return {
    engine: module.name,
    ...(quorums === undefined ? {} : { quorums }),
    n,
    clients,
    blocks,
    consensusMessagesPerBlock: perBlock(sent.consensus.messages),
    consensusBytesPerBlock: perBlock(sent.consensus.bytes),
    messagesPerBlock: perBlock(all.reduce((t, c) => t + c.messages, 0)),
    bytesPerBlock: perBlock(all.reduce((t, c) => t + c.bytes, 0)),
    commits: latencies.length,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    leaderP50Ms: percentile(atLeader, 0.5),
    followerP50Ms: percentile(atFollower, 0.5),
    delayMs: CALM.minLatencyMs + CALM.jitterMs / 2,
    simulatedSeconds: endMs / 1000,
    wallSeconds: r.wallMs / 1000,
  };
}

// -- the run ------------------------------------------------------------------------------------

if (!json)
  header(
    'Verity side-by-side: crash-fault and Byzantine engines next to etcd (libp2p on loopback, LevelDB with fsync, closed-loop clients)',
  );
if (withLive || withSim || withFlexibleSim) {
  say(
    `workload: closed loop, each client writes one ${VALUE_BYTES}-byte value and waits for its commit; ${warmupSeconds} s warm-up, ${seconds} s measured`,
  );
  say();
}

const modules: Array<{ name: string; module: EngineModule<unknown> }> = [];
for (const name of engineNames) {
  const module = getEngine(name);
  if (module === undefined) say(`engine ${name} is not in this build`);
  else modules.push({ name, module });
}

const etcdRows = new Map<number, EtcdResult>();
const verityRows: VerityRow[] = [];
const failures: Array<{ engine: string; validators: number; clients: number; error: string }> = [];
for (const clients of clientCounts) {
  if (withEtcd) {
    progress(`etcd: 3 members, ${clients} clients…`);
    try {
      const r = await runEtcdReference({ clients, seconds, warmupSeconds, keep, log: progress });
      if (r !== 'skipped') etcdRows.set(clients, r);
    } catch (e) {
      say(`etcd reference failed: ${(e as Error).message}`);
    }
  }
  for (const { name, module } of withLive ? modules : []) {
    for (const validators of module.faultModel.kind === 'crash' ? cftSizes : bftSizes) {
      // Multi-Paxos: majorities (the engine's defaults), then Flexible Paxos's smaller Q2s.
      const configs =
        name === 'multipaxos' && withFlexibleLive
          ? [undefined, ...flexibleConfigs(validators).filter((q) => !q.majority)]
          : [undefined];
      for (const quorums of configs) {
        const label = quorums === undefined ? name : `${name} ${quorumLabel(quorums)}`;
        progress(`${label}: ${validators} validators, ${clients} clients…`);
        try {
          const row = await runVerity(name, validators, clients, quorums);
          verityRows.push(row);
          progress(
            `${label}/${validators}/${clients}: ${fmt(row.opsPerSec, 0)} tx/s, p50 ${fmt(row.p50Ms, 0)} ms`,
          );
        } catch (e) {
          const error = (e as Error).message.split('\n')[0] ?? '';
          failures.push({ engine: label, validators, clients, error });
          say(`${label} with ${validators} validators, ${clients} clients: failed: ${error}`);
        }
      }
    }
  }
}

const ms = (x: number) => (Number.isNaN(x) ? '-' : fmt(x, x < 10 ? 1 : 0));
const liveRows: Array<Record<string, string>> = [
  ...[...etcdRows.values()].map((r) => ({
    system: `etcd ${r.version}`,
    n: String(r.members),
    clients: String(r.clients),
    'writes/s': fmt(r.opsPerSec, 0),
    'p50 ms': ms(r.p50Ms),
    'p99 ms': ms(r.p99Ms),
    'CPU ms/tx/node': fmt(r.cpuMsPerWritePerMember, 3),
    'blocks/s': '-',
    'tx/block': '-',
    'msgs/block': '-',
    'KB/block': '-',
    'peer B/tx': fmt(r.peerBytesPerWrite, 0),
    errors: String(r.errors),
  })),
  ...verityRows.map((r) => ({
    system: r.quorums === undefined ? r.engine : `${r.engine} ${quorumLabel(r.quorums)}`,
    n: String(r.validators),
    clients: String(r.clients),
    'writes/s': fmt(r.opsPerSec, 0),
    'p50 ms': ms(r.p50Ms),
    'p99 ms': ms(r.p99Ms),
    'CPU ms/tx/node': fmt(r.cpuMsPerTxPerValidator, 3),
    'blocks/s': fmt(r.blocks / seconds, 1),
    'tx/block': fmt(r.ops / Math.max(1, r.blocks), 1),
    'msgs/block': r.messagesPerBlock === undefined ? 'n/a' : fmt(r.messagesPerBlock, 0),
    'KB/block': fmt(r.bytesPerBlock / 1024, 1),
    'peer B/tx': fmt(r.peerBytesPerTx, 0),
    errors: String(r.errors),
  })),
];
if (withLive) say(`## real processes on this machine (${machine()})`);
show(liveRows);
if (!json && liveRows.length > 0) {
  say('CPU ms/tx/node: process CPU of every node over the window ÷ writes ÷ nodes.');
  say('KB/block, peer B/tx: payload bytes the nodes sent one another (Verity: every channel, i.e.');
  say('consensus, tx gossip and block sync; etcd: etcd_network_peer_sent_bytes_total).');
  if (verityRows.some((r) => r.messagesPerBlock === undefined))
    say(
      `msgs/block n/a: the node exports bytes (verity_p2p_bytes_out_total) but no message count; it needs a counter such as ${MESSAGES_METRIC}.`,
    );
  if (verityRows.some((r) => r.quorums !== undefined))
    say(
      'multipaxos Q1=… Q2=…: genesis phase1Quorum / phase2Quorum (by power, 1 per validator); plain multipaxos uses majorities.',
    );
  for (const r of [...verityRows, ...etcdRows.values()])
    if (r.firstError !== undefined)
      say(`first error (${'engine' in r ? r.engine : 'etcd'}): ${r.firstError}`);
  say();
}

const ratios: Array<{ clients: number; writesPerSec: number; p50: number; p99: number }> = [];
for (const [clients, e] of etcdRows) {
  const raft = verityRows.find((r) => r.engine === 'raft' && r.validators === 3 && r.clients === clients);
  if (raft === undefined) continue;
  const ratio = {
    clients,
    writesPerSec: raft.opsPerSec / e.opsPerSec,
    p50: raft.p50Ms / e.p50Ms,
    p99: raft.p99Ms / e.p99Ms,
  };
  ratios.push(ratio);
  say(
    `raft / etcd (3 nodes, ${clients} clients): writes/s ratio ${fmt(ratio.writesPerSec, 2)}, p50 ratio ${fmt(ratio.p50, 2)}, p99 ratio ${fmt(ratio.p99, 2)}`,
  );
}
if (ratios.length === 0 && etcdRows.size > 0)
  say('(no raft / etcd ratio: it needs a raft row with 3 validators and the same clients as etcd)');
if (ratios.length > 0) say();

const simRows: SimRow[] = [];
const simClients = Math.min(Math.max(...clientCounts), accountKeys.length);
if (withSim) {
  for (const { name, module } of modules) {
    for (const size of simSizes) {
      const n = module.faultModel.kind === 'crash' && size % 2 === 0 ? size - 1 : size;
      progress(`simulator: ${name}, n = ${n}…`);
      try {
        simRows.push(await runSim(module, n, simClients));
      } catch (e) {
        say(`simulator ${name} n = ${n}: failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  }
  say(
    `## simulator: no faults, calm network (one-way delay ${CALM.minLatencyMs}–${CALM.minLatencyMs + CALM.jitterMs} ms, mean ${CALM.minLatencyMs + CALM.jitterMs / 2} ms), ${simClients} closed-loop clients`,
  );
  show(
    simRows.map((r) => ({
      engine: r.engine,
      n: String(r.n),
      blocks: String(r.blocks),
      'consensus msgs/block': fmt(r.consensusMessagesPerBlock, 0),
      '÷ n': fmt(r.consensusMessagesPerBlock / r.n, 1),
      'consensus KB/block': fmt(r.consensusBytesPerBlock / 1024, 1),
      'all msgs/block': fmt(r.messagesPerBlock, 0),
      'all KB/block': fmt(r.bytesPerBlock / 1024, 1),
      commits: String(r.commits),
      'p50 ms': ms(r.p50Ms),
      'p99 ms': ms(r.p99Ms),
      'p50 delays': Number.isNaN(r.p50Ms) ? '-' : fmt(r.p50Ms / r.delayMs, 1),
      'p99 delays': Number.isNaN(r.p99Ms) ? '-' : fmt(r.p99Ms / r.delayMs, 1),
      'sim s': fmt(r.simulatedSeconds, 0),
      'wall s': fmt(r.wallSeconds, 1),
    })),
  );
  if (!json && simRows.length > 0)
    say(
      'delays: submit-to-commit time ÷ the mean one-way delay (it includes the engines’ timers). Messages are point-to-point deliveries; "all" adds tx gossip and block sync to consensus.',
    );
}

// -- Flexible Paxos: the trade, in the simulator ------------------------------------------------

const flexRows: SimRow[] = [];
/**
 * The Flexible Paxos rows' clients wait one mean network delay after each answer before their
 * next write (the client sits across the network). Without it, Q2 = 1 livelocks the simulator:
 * the leader commits its own clients' writes without any message, in zero simulated time (the
 * simulator charges nothing for CPU or disk), so each answer starts the next write at the same
 * instant and simulated time never advances.
 */
const FLEXIBLE_THINK_MS = CALM.minLatencyMs + CALM.jitterMs / 2;
const crashTrials: CrashTrial[] = [];
const multipaxosModule = modules.find((m) => m.name === 'multipaxos')?.module;
if (only.flexible && noFlexible)
  say('--flexible-only: nothing to run (it needs multipaxos among --engines, and no --no-flexible)');
if (withFlexibleSim && multipaxosModule !== undefined) {
  for (const n of flexibleSizes) {
    for (const q of flexibleConfigs(n)) {
      progress(`simulator: multipaxos ${quorumLabel(q)}, n = ${n}…`);
      try {
        flexRows.push(await runSim(multipaxosModule, n, simClients, q, FLEXIBLE_THINK_MS));
      } catch (e) {
        say(
          `simulator multipaxos ${quorumLabel(q)} n = ${n}: failed: ${(e as Error).message.split('\n')[0]}`,
        );
      }
    }
  }
  say();
  say(
    `## Flexible Paxos in the simulator: Multi-Paxos quorums by power (1 per validator), same calm network and ${simClients} closed-loop clients`,
  );
  const delays = (x: number, d: number) => (Number.isNaN(x) ? '-' : fmt(x / d, 1));
  show(
    flexRows.map((r) => ({
      n: String(r.n),
      'Q1, Q2': r.quorums === undefined ? '-' : `${r.quorums.q1}, ${r.quorums.q2}`,
      blocks: String(r.blocks),
      'consensus msgs/block': fmt(r.consensusMessagesPerBlock, 1),
      'all msgs/block': fmt(r.messagesPerBlock, 0),
      commits: String(r.commits),
      'p50 ms': ms(r.p50Ms),
      'p99 ms': ms(r.p99Ms),
      'p50 delays': delays(r.p50Ms, r.delayMs),
      'p99 delays': delays(r.p99Ms, r.delayMs),
      'p50 delays, at leader': delays(r.leaderP50Ms, r.delayMs),
      'p50 delays, at followers': delays(r.followerP50Ms, r.delayMs),
      'wall s': fmt(r.wallSeconds, 1),
    })),
  );
  if (!json && flexRows.length > 0)
    say(
      `at leader / at followers: writes sent to the node that led when they were submitted, and to the others (a follower learns a commit from the leader’s next accept or heartbeat). Each client waits ${FLEXIBLE_THINK_MS} ms (one mean delay) after an answer before its next write. The simulator charges nothing for disk or CPU: a Q2 = 1 leader commits its own writes in 0 delays (a real one still pays its fsync).`,
    );

  for (const n of flexibleSizes) {
    for (const q of flexibleConfigs(n)) {
      for (let k = 0; k < n; k++) {
        progress(`crash trial: multipaxos ${quorumLabel(q)}, n = ${n}, ${k} followers then the leader…`);
        try {
          crashTrials.push(await crashTrial(multipaxosModule, n, q, k));
        } catch (e) {
          say(
            `crash trial ${quorumLabel(q)} n = ${n} k = ${k}: failed: ${(e as Error).message.split('\n')[0]}`,
          );
        }
      }
    }
    const trials = crashTrials.filter((t) => t.n === n);
    if (trials.length === 0) continue;
    const mark = (measured: boolean, predicted: boolean) => (measured === predicted ? '' : ' (!)');
    const down = Array.from({ length: n - 1 }, (_, i) => i + 1);
    say();
    say(
      `## Flexible Paxos, n = ${n}: crashes each configuration survives (simulator, permanent crashes under load, default election timeout)`,
    );
    say('Leader survives, c followers crash: does it keep committing? (needs Q2 of n − c up)');
    show(
      flexibleConfigs(n).map((q) => {
        const row: Record<string, string> = {
          'Q1, Q2': `${q.q1}, ${q.q2}${q.majority ? ' (majorities)' : ''}`,
        };
        for (const c of down) {
          const t = trials.find((x) => x.q1 === q.q1 && x.q2 === q.q2 && x.followersDown === c);
          row[`${c} down`] =
            t === undefined
              ? '-'
              : `${t.leaderUp.commits ? `commits (${t.leaderUp.blocks} blocks)` : 'stalls'}${mark(t.leaderUp.commits, n - c >= q.q2)}`;
        }
        return row;
      }),
    );
    say(
      'The leader and c − 1 followers crash: do the survivors elect a new leader and commit? (needs Q1 of n − c up)',
    );
    show(
      flexibleConfigs(n).map((q) => {
        const row: Record<string, string> = {
          'Q1, Q2': `${q.q1}, ${q.q2}${q.majority ? ' (majorities)' : ''}`,
        };
        for (const c of down) {
          const b = trials.find(
            (x) => x.q1 === q.q1 && x.q2 === q.q2 && x.followersDown === c - 1,
          )?.leaderDown;
          const ok = b?.elected === true && b.commits;
          row[`${c} down`] =
            b === undefined
              ? '-'
              : `${
                  ok
                    ? `new leader, commits after ${fmt((b.recoveryMs ?? Number.NaN) / 1000, 1)} s`
                    : b.commits
                      ? 'commits, no leader at the end'
                      : b.elected
                        ? 'leader elected, stalls'
                        : `no leader (${b.ballots} ballots tried)`
                }${mark(ok, n - c >= Math.max(q.q1, q.q2))}`;
        }
        return row;
      }),
    );
    if (!json) {
      say(
        "Each cell: one deterministic run (load: 16 accounts, one transaction in flight each; phase 1's crashes once a leader commits). Windows: 3 s from 0.5 s after the followers' crash; 6 s after the leader's (recovery: crash to the survivors' first commit).",
      );
      if (trials.some((t) => !t.safe)) say('SAFETY VIOLATION in a crash trial (see --json)');
      const surprises = trials.some(
        (t) =>
          t.leaderUp.commits !== n - t.followersDown >= t.q2 ||
          (t.leaderDown !== undefined &&
            (t.leaderDown.elected && t.leaderDown.commits) !==
              n - t.followersDown - 1 >= Math.max(t.q1, t.q2)),
      );
      say(
        surprises
          ? '(!): differs from the quorum rule (commits iff Q2 up; a new leader iff Q1 up).'
          : 'Every cell agrees with the quorum rule: committing needs Q2 up, a leader change needs Q1 up.',
      );
    }
  }
}

// -- follower validation: re-verify transaction signatures, or trust the leader -----------------

const validationRows: ValidationCost[] = [];
if (withValidation) {
  for (const txs of validationSizes) {
    progress(`follower validation: ${txs} transactions per block…`);
    validationRows.push(await measureValidationCost(txs, validationSamples, progress));
  }
  say();
  say(
    `## follower validation: ledger work per committed transaction, re-verifying signatures vs trusting the leader (${machine()})`,
  );
  const us = (x: number) => fmt(x, 1);
  show(
    validationRows.map((r) => ({
      'tx/block': String(r.blockTxs),
      'verify µs/tx': us(r.verifyUsPerTx),
      'trust µs/tx': us(r.trustUsPerTx),
      'signatures µs/tx': us(r.verificationUsPerTx),
      'IQR µs': `${us(r.verificationIqrUs[0])}–${us(r.verificationIqrUs[1])}`,
      'verify ÷ trust': fmt(r.ratio, 2),
      'commit µs/tx': us(r.commitUsPerTx),
      'signature share': `${fmt(100 * r.verificationShare, 0)}%`,
      'ed25519 verify µs': us(r.ed25519VerifyUs),
      samples: String(r.samples),
    })),
  );
  if (!json && validationRows.length > 0)
    say(
      'verify: decode the block, check every transaction (signature included), execute, check the roots; trust: the same with the signatures known good (an id-cache hit). signatures: median of verify − trust (IQR: its 25th–75th percentiles over the samples). signature share: signatures ÷ (verify + commit), commit in memory (a node also writes LevelDB with fsync, so its real share is smaller). Medians of process CPU time (not wall time: the time the machine gives other processes is not counted); each sample ≥ 256 transactions.',
    );
}

if (json)
  console.log(
    JSON.stringify(
      {
        machine: machine(),
        date: new Date().toISOString(),
        workload: { valueBytes: VALUE_BYTES, warmupSeconds, seconds, clients: clientCounts },
        skippedEngines: engineNames.filter((n) => getEngine(n) === undefined),
        etcd: [...etcdRows.values()],
        verity: verityRows,
        failures,
        raftOverEtcd: ratios,
        simulator: simRows,
        flexiblePaxos: { simulator: flexRows, crashes: crashTrials },
        followerValidation: validationRows,
        ...(verityRows.some((r) => r.messagesPerBlock === undefined)
          ? { messagesPerBlock: `unavailable: the nodes export no ${MESSAGES_METRIC}` }
          : {}),
      },
      null,
      2,
    ),
  );
