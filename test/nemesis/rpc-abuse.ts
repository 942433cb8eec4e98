/**
 * RPC abuse against a real node (`npm run test:rpc-abuse`): one `verity start` validator, a well-
 * behaved client asking GET /status over a fresh connection every 50 ms from another loopback
 * address (127.0.0.2), and, in turn, attacks from 127.0.0.1:
 *   - connections: thousands of connections opened and held silent (re-opened when closed);
 *   - slowloris:   hundreds of connections trickling a header byte a second, never finishing;
 *   - bodies:      concurrent uploads declaring 8 MiB, far over rpc.max_body_bytes;
 *   - nested:      JSON nested hundreds of thousands of levels deep, within the size cap;
 *   - numbers:     huge, negative, fractional and malformed numbers in query parameters;
 *   - flood:       keep-alive loops asking for a block as fast as the node answers.
 * Per attack: the good client's p50/p99 latency and failures, the attacker's answers by status,
 * the node's peak RSS. Checks (exit 1 when one fails): every answer the attacker got to a bad
 * request is a 4xx with a JSON error code (never a 5xx); the good client keeps being served (at
 * most 1% failures, p99 under 1 s); the node's RSS stays under 1 GiB; afterwards /health is ok and
 * the node's log has no error line. `--seconds S` per attack (default 10), `--json`,
 * `--attacks a,b,…`, `--set section.key=value` (repeatable: written into the node's config.toml —
 * `--set rpc.max_connections_per_ip=0` is the connection attack's negative control).
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createCluster, errorLines, waitFor } from '../e2e/helpers.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const ATTACKS = ['connections', 'slowloris', 'bodies', 'nested', 'numbers', 'flood'] as const;
type Attack = (typeof ATTACKS)[number];
const SELECTED = arg('attacks', ATTACKS.join(',')).split(',') as Attack[];
const SECONDS = Number(arg('seconds', '10'));
const JSON_OUT = process.argv.includes('--json');
const log = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The good client's source address: another loopback address, so per-address budgets tell it apart. */
const GOOD_FROM = '127.0.0.2';
const RSS_LIMIT = 1024 * 1024 * 1024;
const P99_LIMIT_MS = 1000;

export interface AttackReport {
  attack: Attack | 'none';
  good: { asked: number; failed: number; p50Ms: number | null; p99Ms: number | null };
  /** The attacker's answers by HTTP status ('reset', 'refused': no answer). */
  answers: Record<string, number>;
  peakRssMiB: number;
  checks: string[];
}

function percentile(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

/** One request over a fresh connection; the status and JSON body, or the error's code. */
function ask(
  host: string,
  port: number,
  path: string,
  opts: {
    method?: string;
    body?: Buffer | string;
    headers?: Record<string, string>;
    from?: string;
    timeoutMs?: number;
  } = {},
): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host,
        port,
        path,
        method: opts.method ?? 'GET',
        agent: false,
        ...(opts.from === undefined ? {} : { localAddress: opts.from }),
        headers: opts.headers ?? {},
        timeout: opts.timeoutMs ?? 5_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(opts.body);
  });
}

/** A 4xx with `{ error: { code } }`: the answer a bad request must get. */
function typedRefusal(r: { status: number; body: string }): boolean {
  if (r.status < 400 || r.status >= 500) return false;
  try {
    return typeof (JSON.parse(r.body) as { error?: { code?: unknown } }).error?.code === 'string';
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'verity-rpc-abuse-'));
  const c = await createCluster({ dir, validators: 1, engine: 'tendermint', slot: 90 });
  const reports: AttackReport[] = [];
  try {
    const configFile = join(c.manifest.nodes[0]?.home as string, 'config.toml');
    let config = readFileSync(configFile, 'utf8');
    for (const [i, a] of process.argv.entries()) {
      if (a !== '--set') continue;
      const m = /^([a-z_]+)\.([a-z_]+)=(.+)$/.exec(process.argv[i + 1] ?? '');
      if (m === null) throw new Error(`--set wants section.key=value, got ${process.argv[i + 1]}`);
      config = config
        .replace(new RegExp(`^${m[2]} = .*\n`, 'm'), '')
        .replace(`[${m[1]}]\n`, `[${m[1]}]\n${m[2]} = ${m[3]}\n`);
    }
    writeFileSync(configFile, config);
    c.start(0);
    await waitFor('the node commits', async () =>
      ((await c.clients[0]?.status())?.height ?? 0) >= 2 ? true : undefined,
    );
    const url = new URL(c.manifest.nodes[0]?.rpc as string);
    const host = url.hostname;
    const port = Number(url.port);
    const pid = c.procs[0]?.pid as number;

    const run = async (attack: Attack | 'none'): Promise<AttackReport> => {
      const answers: Record<string, number> = {};
      const checks: string[] = [];
      const count = (k: string) => {
        answers[k] = (answers[k] ?? 0) + 1;
      };
      let going = true;
      let peakRss = 0;
      const sockets = new Set<Socket>();
      const sampler = (async () => {
        while (going) {
          peakRss = Math.max(peakRss, rssOf(pid));
          await sleep(200);
        }
      })();
      // The good client runs on its own thread: sharing the attacker's event loop, it would
      // measure the attacker's own backlog as the node's latency.
      const good = new Worker(new URL(import.meta.url), {
        workerData: { host, port } satisfies GoodClientJob,
      });
      const goodResult = new Promise<{ latencies: number[]; asked: number; failed: number }>(
        (resolve, reject) => {
          good.once('message', resolve);
          good.once('error', reject);
        },
      );
      /** A bad request's answer: a typed 4xx, or a failure to count. */
      const judge = (what: string, r: { status: number; body: string } | { error: string }) => {
        if ('error' in r) return count(r.error);
        count(String(r.status));
        if (!typedRefusal(r) && checks.length < 5)
          checks.push(
            `${what}: answered ${r.status} ${r.body.slice(0, 120)} (expected a 4xx with a JSON error code)`,
          );
      };
      const postTx = (body: Buffer | string) =>
        ask(host, port, '/tx', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      const loops: Array<Promise<void>> = [];
      const loop = (n: number, body: () => Promise<void>) => {
        for (let i = 0; i < n; i++)
          loops.push(
            (async () => {
              while (going) await body();
            })(),
          );
      };
      const hold = (onConnect?: (s: Socket) => void) =>
        new Promise<void>((resolve) => {
          const s = connect({ host, port });
          sockets.add(s);
          s.on('connect', () => {
            count('connected');
            onConnect?.(s);
          });
          s.on('error', (e: NodeJS.ErrnoException) => count(e.code ?? 'error'));
          s.on('close', () => {
            sockets.delete(s);
            resolve();
          });
        });
      if (attack === 'connections') loop(3000, () => hold().then(() => sleep(100)));
      else if (attack === 'slowloris')
        loop(500, () =>
          hold((s) => {
            s.write('GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: ');
            const drip = setInterval(() => (s.writable ? s.write('a') : clearInterval(drip)), 1000);
            s.once('close', () => clearInterval(drip));
          }).then(() => sleep(100)),
        );
      else if (attack === 'bodies')
        loop(50, async () => judge('an 8 MiB body', await postTx(Buffer.alloc(8 * 1024 * 1024, 0x61))));
      else if (attack === 'nested') {
        const depth = 100_000;
        const bodies = [
          `{"tx":${'['.repeat(depth)}${']'.repeat(depth)}}`,
          `${'{"a":'.repeat(depth / 5)}1${'}'.repeat(depth / 5)}`,
        ];
        loop(8, async () => {
          for (const body of bodies) judge('deeply nested JSON', await postTx(body));
        });
      } else if (attack === 'numbers') {
        const big = '9'.repeat(400);
        const paths = [
          `/block?height=${big}`,
          '/block?height=1e400',
          '/block?height=-1',
          '/block?height=1.5',
          '/block?height=0x10',
          '/block?height=NaN',
          `/block?height=${'1'.repeat(5000)}`,
          `/txs?from=1&to=${big}`,
          '/txs?from=-5&to=2',
          `/validators?height=${big}`,
          `/proof?key=${'zz'.repeat(10)}&height=${big}`,
          `/tx?id=${'0'.repeat(10_000)}`,
          `/account?address=${'verity1'.repeat(2000)}`,
          `/block?height=${big}&height=2`,
        ];
        loop(8, async () => {
          for (const p of paths) judge(`GET ${p.slice(0, 40)}…`, await ask(host, port, p));
        });
      } else if (attack === 'flood')
        loop(16, async () => {
          const r = await ask(host, port, '/block?height=1');
          count('error' in r ? r.error : String(r.status));
        });
      await sleep(SECONDS * 1000);
      going = false;
      good.postMessage('stop');
      const { latencies, asked, failed } = await goodResult;
      await good.terminate();
      for (const s of sockets) s.destroy();
      await Promise.all([sampler, ...loops]);
      const p99 = percentile(latencies, 0.99);
      if (failed > asked * 0.01)
        checks.push(`the good client failed ${failed} of ${asked} requests (at most 1% allowed)`);
      if (p99 !== null && p99 > P99_LIMIT_MS)
        checks.push(`the good client's p99 was ${p99.toFixed(0)} ms (at most ${P99_LIMIT_MS})`);
      if (peakRss > RSS_LIMIT) checks.push(`the node's RSS reached ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
      const health = await ask(host, port, '/health', { from: GOOD_FROM });
      if ('error' in health || health.status !== 200)
        checks.push(`/health after the attack: ${JSON.stringify(health)}`);
      const report: AttackReport = {
        attack,
        good: { asked, failed, p50Ms: percentile(latencies, 0.5), p99Ms: p99 },
        answers,
        peakRssMiB: Math.round(peakRss / 2 ** 20),
        checks,
      };
      log(
        `  ${attack.padEnd(11)} good client: ${asked} asked, ${failed} failed, p50 ${report.good.p50Ms?.toFixed(1) ?? '–'} ms, p99 ${p99?.toFixed(1) ?? '–'} ms; node RSS ≤ ${report.peakRssMiB} MiB; attacker got ${JSON.stringify(answers)}`,
      );
      for (const x of checks) log(`    FAILED: ${x}`);
      await sleep(1000);
      return report;
    };

    log(
      `rpc abuse: one tendermint validator at ${host}:${port}, ${SECONDS} s per attack, the good client from ${GOOD_FROM}`,
    );
    reports.push(await run('none'));
    for (const a of SELECTED) reports.push(await run(a));
    const errors = errorLines(
      readFileSync(join(c.manifest.nodes[0]?.home as string, 'node.log'), 'utf8').split('\n'),
    );
    if (errors.length > 0)
      (reports.at(-1) as AttackReport).checks.push(
        `error lines in the node's log: ${errors.slice(0, 3).join(' | ')}`,
      );
  } finally {
    await c.stopAll();
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  }
  const failed = reports.filter((r) => r.checks.length > 0).length;
  if (JSON_OUT) console.log(JSON.stringify(reports, null, 2));
  (JSON_OUT ? log : console.log)(`${reports.length - failed} passed, ${failed} failed`);
  if (failed > 0) process.exitCode = 1;
}

interface GoodClientJob {
  host: string;
  port: number;
}

/** The good client (a worker thread): GET /status over a fresh connection every 50 ms until told to stop. */
async function goodClient(job: GoodClientJob): Promise<void> {
  let going = true;
  parentPort?.once('message', () => {
    going = false;
  });
  const latencies: number[] = [];
  let asked = 0;
  let failed = 0;
  await sleep(500); // let the attack build up first
  while (going) {
    const t0 = performance.now();
    const r = await ask(job.host, job.port, '/status', { from: GOOD_FROM, timeoutMs: 5_000 });
    asked++;
    if ('error' in r || r.status !== 200) failed++;
    else latencies.push(performance.now() - t0);
    await sleep(50);
  }
  parentPort?.postMessage({ latencies, asked, failed });
}

if (isMainThread) await main();
else await goodClient(workerData as GoodClientJob);
