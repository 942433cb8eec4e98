/**
 * npm run bench:cft — the side-by-side benchmark: the crash-fault engines (Raft, Multi-Paxos) and
 * the Byzantine ones (Tendermint, PBFT, HotStuff) on this machine, as real processes (libp2p over
 * loopback, LevelDB with fsync, real signatures), next to a real three-member etcd cluster as the
 * outside reference, all driven by the same client in the same run; then the engines in the
 * simulator as n grows.
 *
 *   node test/bench/cft.bench.ts [--engines raft,multipaxos,tendermint,pbft,hotstuff]
 *        [--validators 3,5] [--bft-validators 4] [--clients 16] [--seconds 10] [--warmup 2]
 *        [--sim-n 4,16,64] [--sim-seconds 10] [--no-etcd] [--no-sim | --sim-only] [--json] [--keep] [--help]
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
import { fmt, header, machine, table } from './harness.ts';

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
  --no-etcd              skip the etcd reference row
  --no-sim               skip the simulator section
  --sim-only             only the simulator section (no processes, no etcd)
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
const json = argv.includes('--json');
const keep = argv.includes('--keep');
const simOnly = argv.includes('--sim-only');
const withEtcd = !simOnly && !argv.includes('--no-etcd');
const withSim = !argv.includes('--no-sim');

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
async function runVerity(engine: string, validators: number, clients: number): Promise<VerityRow> {
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
    cluster = await createCluster({ dir, validators, engine, slot: 70 + slot++, accounts: clients });
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
  /** Mean one-way delay of the simulated network, ms. */
  readonly delayMs: number;
  readonly simulatedSeconds: number;
  readonly wallSeconds: number;
}

async function runSim(module: EngineModule<unknown>, n: number, clients: number): Promise<SimRow> {
  const { genesis } = simGenesis(module.name, {}, n);
  const warmupMs = 1_000;
  const endMs = simSecondsFor(n) * 1000;
  const latencies: number[] = [];
  const sent: Record<Channel, { messages: number; bytes: number }> = {
    consensus: { messages: 0, bytes: 0 },
    tx: { messages: 0, bytes: 0 },
    sync: { messages: 0, bytes: 0 },
  };
  let blocks = 0;
  const r = await runSimulation({
    engine: module,
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
        const admitted = await rt?.submit(etx);
        if (rt === undefined || admitted?.ok !== true) {
          ctl.at(ctl.now() + 50, () => write(c, seq));
          return;
        }
        // Not awaited: the simulator runs the commit; this resumes at its (virtual) time.
        void rt.waitForCommit(etx.id).then(() => {
          const t1 = ctl.now();
          if (t0 >= warmupMs && t1 <= endMs) latencies.push(t1 - t0);
          nonces[c] = (nonces[c] as number) + 1;
          ctl.at(t1, () => write(c, seq + 1));
        });
      };
      for (let c = 0; c < clients; c++) ctl.at(500 + c, () => write(c, 0));
    },
  });
  latencies.sort((x, y) => x - y);
  const perBlock = (x: number) => x / Math.max(1, blocks);
  const all = Object.values(sent);
  return {
    engine: module.name,
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
say(
  `workload: closed loop, each client writes one ${VALUE_BYTES}-byte value and waits for its commit; ${warmupSeconds} s warm-up, ${seconds} s measured`,
);
say();

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
  for (const { name, module } of simOnly ? [] : modules) {
    for (const validators of module.faultModel.kind === 'crash' ? cftSizes : bftSizes) {
      progress(`${name}: ${validators} validators, ${clients} clients…`);
      try {
        const row = await runVerity(name, validators, clients);
        verityRows.push(row);
        progress(
          `${name}/${validators}/${clients}: ${fmt(row.opsPerSec, 0)} tx/s, p50 ${fmt(row.p50Ms, 0)} ms`,
        );
      } catch (e) {
        const error = (e as Error).message.split('\n')[0] ?? '';
        failures.push({ engine: name, validators, clients, error });
        say(`${name} with ${validators} validators, ${clients} clients: failed: ${error}`);
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
    system: r.engine,
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
if (!simOnly) say(`## real processes on this machine (${machine()})`);
show(liveRows);
if (!json && liveRows.length > 0) {
  say('CPU ms/tx/node: process CPU of every node over the window ÷ writes ÷ nodes.');
  say('KB/block, peer B/tx: payload bytes the nodes sent one another (Verity: every channel, i.e.');
  say('consensus, tx gossip and block sync; etcd: etcd_network_peer_sent_bytes_total).');
  if (verityRows.some((r) => r.messagesPerBlock === undefined))
    say(
      `msgs/block n/a: the node exports bytes (verity_p2p_bytes_out_total) but no message count; it needs a counter such as ${MESSAGES_METRIC}.`,
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
if (withSim) {
  const simClients = Math.min(Math.max(...clientCounts), accountKeys.length);
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
        ...(verityRows.some((r) => r.messagesPerBlock === undefined)
          ? { messagesPerBlock: `unavailable: the nodes export no ${MESSAGES_METRIC}` }
          : {}),
      },
      null,
      2,
    ),
  );
