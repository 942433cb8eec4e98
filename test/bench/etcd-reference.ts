/**
 * The outside reference of `npm run bench:cft`: a real three-member etcd cluster (Debian package
 * `etcd-server`, 3.4) on loopback, each member with its own data directory and etcd's default
 * fsync, driven by the same closed-loop client as the Verity rows (`closedLoop` below): C
 * concurrent clients, each writing one small value (PUT over etcd's JSON gRPC gateway,
 * POST /v3/kv/put) and waiting for the answer before it writes the next. etcd answers a put once
 * it is committed by a majority and applied, which is what Verity's POST /tx?mode=commit waits
 * for too.
 *
 *   node test/bench/etcd-reference.ts [--clients 16] [--seconds 10] [--warmup 2] [--keep]
 *
 * Nothing is installed here: without an `etcd` binary it prints how to get one and reports
 * "skipped". The members and the temp directory go away in every case (also on Ctrl-C).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { appendOutputTo } from '../../src/node/child-log.ts';
import { freeBasePort } from '../e2e/helpers.ts';
import { fmt, header, table } from './harness.ts';

/** Bytes of every value written, by etcd and Verity clients alike (keys: `bench/<client>/<seq>`). */
export const VALUE_BYTES = 32;

export function benchKey(client: number, seq: number): string {
  return `bench/${client}/${seq}`;
}

export function benchValue(client: number, seq: number): Uint8Array {
  const v = new Uint8Array(VALUE_BYTES);
  for (let i = 0; i < VALUE_BYTES; i++) v[i] = (client * 131 + seq * 31 + i * 7) & 0xff;
  return v;
}

// -- the shared workload --------------------------------------------------------------------------

export interface LoadResult {
  readonly clients: number;
  /** Length of the measured window (after the warm-up), in seconds. */
  readonly seconds: number;
  /** Writes whose answer arrived inside the window. */
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Failed writes (anywhere in the run); each failed write is retried by its client. */
  readonly errors: number;
  readonly firstError?: string;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The closed loop every row runs: `clients` concurrent clients, each calling `write(client)` and
 * awaiting it before the next, for `warmupSeconds` then `seconds`. A write counts, and its latency
 * (call to answer) is kept, when its answer arrives inside the measured window. A write that
 * throws is counted as an error and its client pauses 20 ms before the next call (`write` retries
 * what it has to). `onWindow` runs at the start and at the end of the window (counter snapshots).
 */
export async function closedLoop(o: {
  clients: number;
  seconds: number;
  warmupSeconds: number;
  write: (client: number) => Promise<void>;
  onWindow?: (edge: 'start' | 'end') => Promise<void>;
}): Promise<LoadResult> {
  const t0 = performance.now();
  const from = t0 + o.warmupSeconds * 1000;
  const to = from + o.seconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const at = (t: number, edge: 'start' | 'end') =>
    new Promise<void>((resolve, reject) =>
      setTimeout(
        () => (o.onWindow?.(edge) ?? Promise.resolve()).then(resolve, reject),
        t - performance.now(),
      ),
    );
  const edges = [at(from, 'start'), at(to, 'end')];
  for (const e of edges) e.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
  const client = async (c: number) => {
    while (performance.now() < to) {
      const start = performance.now();
      try {
        await o.write(c);
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
        await sleep(20);
        continue;
      }
      const end = performance.now();
      if (end >= from && end <= to) latencies.push(end - start);
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, c) => client(c)));
  await Promise.all(edges);
  latencies.sort((a, b) => a - b);
  return {
    clients: o.clients,
    seconds: o.seconds,
    ops: latencies.length,
    opsPerSec: latencies.length / o.seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    errors,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

/** Sum of every sample of a Prometheus metric (all label sets) in an exposition text. */
export function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) sum = (sum ?? 0) + Number(m[1]);
  return sum;
}

// -- interruption -------------------------------------------------------------------------------

const onInterrupt = new Set<() => void>();
let handlersInstalled = false;

/** Runs `cleanup` (synchronous: kill, rmSync) if the script is interrupted; returns the disposer. */
export function cleanupOnInterrupt(cleanup: () => void): () => void {
  if (!handlersInstalled) {
    handlersInstalled = true;
    for (const sig of ['SIGINT', 'SIGTERM'] as const)
      process.once(sig, () => {
        for (const fn of onInterrupt) fn();
        process.exit(130);
      });
  }
  onInterrupt.add(cleanup);
  return () => onInterrupt.delete(cleanup);
}

// -- etcd -------------------------------------------------------------------------------------

export const ETCD_HINT = 'etcd is not installed: `apt-get install etcd-server` (Debian/Ubuntu, etcd 3.4)';

/** The etcd binary on PATH (or /usr/bin/etcd), if any. */
export function findEtcd(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/local/bin'];
  for (const d of dirs) {
    const p = join(d, 'etcd');
    if (existsSync(p)) return p;
  }
  return undefined;
}

export interface EtcdResult extends LoadResult {
  readonly version: string;
  readonly members: number;
  /** Gateway path the puts went to (/v3/kv/put on 3.4; /v3beta/kv/put on older servers). */
  readonly putPath: string;
  /** Members' process CPU over the window, per write and member, in ms. */
  readonly cpuMsPerWritePerMember: number;
  /** Bytes the members sent one another (etcd_network_peer_sent_bytes_total) per write. */
  readonly peerBytesPerWrite: number;
}

const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');

/**
 * Starts three etcd members on loopback in a temp directory, waits for them, runs the closed
 * loop against them (client c talks to member c mod 3) and tears everything down.
 */
export async function runEtcdReference(o: {
  clients: number;
  seconds: number;
  warmupSeconds: number;
  /** Port slot (freeBasePort) so the members do not meet a Verity testnet's ports. */
  slot?: number;
  keep?: boolean;
  log?: (line: string) => void;
}): Promise<EtcdResult | 'skipped'> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const bin = findEtcd();
  if (bin === undefined) {
    console.log(`(etcd row skipped) ${ETCD_HINT}`);
    return 'skipped';
  }
  const versionText = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const version = /etcd Version:\s*(\S+)/.exec(versionText)?.[1] ?? 'unknown';
  const members = 3;
  const dir = await mkdtemp(join(tmpdir(), 'verity-bench-etcd-'));
  const procs: ChildProcess[] = [];
  const killAll = () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  };
  const dispose = cleanupOnInterrupt(() => {
    killAll();
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  });
  process.on('exit', killAll);
  try {
    const base = await freeBasePort(o.slot ?? 90, 2 * members);
    const clientUrl = (i: number) => `http://127.0.0.1:${base + i}`;
    const peerUrl = (i: number) => `http://127.0.0.1:${base + members + i}`;
    const cluster = Array.from({ length: members }, (_, i) => `m${i}=${peerUrl(i)}`).join(',');
    const died: string[] = [];
    for (let i = 0; i < members; i++) {
      const args = [
        '--name',
        `m${i}`,
        '--data-dir',
        join(dir, `m${i}`),
        '--listen-client-urls',
        clientUrl(i),
        '--advertise-client-urls',
        clientUrl(i),
        '--listen-peer-urls',
        peerUrl(i),
        '--initial-advertise-peer-urls',
        peerUrl(i),
        '--initial-cluster',
        cluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        `verity-bench-${process.pid}`,
      ];
      const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      appendOutputTo(p, join(dir, `m${i}.log`));
      p.once('exit', (code, signal) =>
        died.push(`etcd member m${i} exited (code ${code}, signal ${signal})`),
      );
      procs.push(p);
    }
    const logTail = () =>
      procs
        .map((_, i) => {
          try {
            return readFileSync(join(dir, `m${i}.log`), 'utf8')
              .trimEnd()
              .split('\n')
              .slice(-5)
              .join('\n');
          } catch {
            return '';
          }
        })
        .join('\n');
    // Healthy: every member answers /health with a leader elected.
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (died.length > 0) throw new Error(`${died.join('; ')}; last log lines:\n${logTail()}`);
      const ok = await Promise.all(
        procs.map((_, i) =>
          fetch(`${clientUrl(i)}/health`)
            .then((r) => r.json() as Promise<{ health?: string }>)
            .then(
              (j) => j.health === 'true',
              () => false,
            ),
        ),
      );
      if (ok.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error(`etcd cluster not healthy within 30 s:\n${logTail()}`);
      await sleep(200);
    }
    // The JSON gateway's path: /v3/kv/put from 3.4 on, /v3beta/kv/put before.
    let putPath = '';
    for (const path of ['/v3/kv/put', '/v3beta/kv/put']) {
      const r = await fetch(`${clientUrl(0)}${path}`, {
        method: 'POST',
        body: JSON.stringify({ key: b64('bench/probe'), value: b64('x') }),
      });
      await r.arrayBuffer();
      if (r.ok) {
        putPath = path;
        break;
      }
    }
    if (putPath === '') throw new Error('etcd accepts neither POST /v3/kv/put nor /v3beta/kv/put');
    log(`etcd ${version}: 3 members up on ${clientUrl(0)}..${base + members - 1}, puts to ${putPath}`);

    const scrape = async () => {
      let cpu = 0;
      let peerBytes = 0;
      for (let i = 0; i < members; i++) {
        const text = await fetch(`${clientUrl(i)}/metrics`).then(
          (r) => r.text(),
          () => '',
        );
        cpu += metricSum(text, 'process_cpu_seconds_total') ?? 0;
        peerBytes += metricSum(text, 'etcd_network_peer_sent_bytes_total') ?? 0;
      }
      return { cpu, peerBytes };
    };
    const snapshots: Record<'start' | 'end', { cpu: number; peerBytes: number }> = {
      start: { cpu: 0, peerBytes: 0 },
      end: { cpu: 0, peerBytes: 0 },
    };
    const seqs = new Array<number>(o.clients).fill(0);
    const load = await closedLoop({
      clients: o.clients,
      seconds: o.seconds,
      warmupSeconds: o.warmupSeconds,
      onWindow: async (edge) => {
        snapshots[edge] = await scrape();
      },
      write: async (c) => {
        const seq = seqs[c] as number;
        const r = await fetch(`${clientUrl(c % members)}${putPath}`, {
          method: 'POST',
          body: JSON.stringify({ key: b64(benchKey(c, seq)), value: b64(benchValue(c, seq)) }),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await r.text();
        if (!r.ok) throw new Error(`etcd put: HTTP ${r.status} ${text.slice(0, 200)}`);
        seqs[c] = seq + 1;
      },
    });
    if (died.length > 0) throw new Error(`${died.join('; ')}; last log lines:\n${logTail()}`);
    const writes = Math.max(1, load.ops);
    return {
      ...load,
      version,
      members,
      putPath,
      cpuMsPerWritePerMember: ((snapshots.end.cpu - snapshots.start.cpu) * 1000) / writes / members,
      peerBytesPerWrite: (snapshots.end.peerBytes - snapshots.start.peerBytes) / writes,
    };
  } finally {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            const force = setTimeout(() => p.kill('SIGKILL'), 5_000);
            p.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            p.kill('SIGTERM');
          }),
      ),
    );
    process.off('exit', killAll);
    dispose();
    if (o.keep) log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

// -- standalone ---------------------------------------------------------------------------------

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string, dflt: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
  };
  header('etcd reference: 3 members on loopback, default fsync, closed-loop clients writing small values');
  const r = await runEtcdReference({
    clients: Number(arg('clients', '16')),
    seconds: Number(arg('seconds', '10')),
    warmupSeconds: Number(arg('warmup', '2')),
    keep: process.argv.includes('--keep'),
  });
  if (r !== 'skipped')
    table([
      {
        system: `etcd ${r.version}`,
        members: r.members,
        clients: r.clients,
        'writes/s': fmt(r.opsPerSec, 0),
        'p50 ms': fmt(r.p50Ms, 1),
        'p99 ms': fmt(r.p99Ms, 1),
        'CPU ms/write/member': fmt(r.cpuMsPerWritePerMember, 3),
        'peer B/write': fmt(r.peerBytesPerWrite, 0),
        errors: r.errors,
      },
    ]);
}
