/**
 * npm run test:nemesis — Jepsen's approach against real `verity start` processes (4 validators,
 * libp2p, LevelDB with fsync): a client workload that records every acknowledged transaction, a
 * nemesis that runs one fault after another, and the history checker (history.ts) over what the
 * clients were told, what the nodes said while it ran, and every node's final chain.
 *
 *   node test/nemesis/nemesis.ts [--engines tendermint,pbft,…] [--faults kill,pause,…]
 *                                [--phase-seconds 15] [--accounts 12] [--json] [--keep]
 *                                [--net netns|loopback] [--quorum-kill K] [--no-cut]
 *
 * Faults, each for `--phase-seconds`, then healed (every process up, on its own clock):
 *  - kill:      kill -9 a random validator, relaunch it 2 s later, again and again;
 *  - pause:     SIGSTOP a random validator for 3 s, then SIGCONT, again and again;
 *  - partition: (each validator in its own network namespace, netns.ts) cut one validator off
 *               from three, or two from two, 5 s at a time;
 *  - skew:      one validator's clock 20 s ahead and one's 20 s behind (libfaketime);
 *  - corrupt:   kill -9 a random validator, flip the end of its consensus WAL's LevelDB log (a
 *               torn write), relaunch it, every 4 s;
 *  - disk:      the disk under one validator's data directory (a tmpfs mounted for the run) filled
 *               up: it must halt, exit non-zero with the STORAGE_FULL line and blame no peer;
 *               then the space freed and it relaunched;
 *  - quorum:    kill -9 as many validators as it takes to leave fewer than the engine's liveness
 *               core (2 of 4), hold, relaunch them.
 * Expected, and checked: commits continue while a quorum is up (something is acknowledged in
 * every phase but partition and quorum); nothing is committed while it is not (partition: a side
 * smaller than the liveness core holds its height, and some side holding it commits; quorum: no
 * node's height moves and no acknowledgement names a new height — not for an engine with
 * probabilistic finality, which has no quorum to lose and is not run by default); after healing
 * every node converges; and the history checker finds nothing: no acknowledged transaction lost
 * or doubled, no reported commit lost, no divergence of blocks or roots, supply conserved, no
 * evidence against anyone (every validator here is honest — a corrupted WAL must not make one
 * sign twice). Negative controls: `--quorum-kill 1` kills one validator too few and `--no-cut`
 * announces partitions without making them; each must fail its check.
 *
 * Without root (or iproute2) the nodes share loopback and the partition fault is skipped; without
 * faketime, the skew fault; without the right to mount a tmpfs, the disk fault; each says so on
 * stderr.
 *
 * Prints, per engine and fault: transactions acknowledged, lost (must be 0), p50/p99 latency of
 * the acknowledgements during the fault and in the 2 s (at least) after healing, and the time to
 * converge after healing. Exit 1 when any
 * check fails. `.ci/run` runs a short version (Tendermint, short phases) through
 * test/e2e/nemesis.e2e.test.ts.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEngine } from '../../consensus/registry.ts';
import { toHex } from '../../crypto/bytes.ts';
import { addressFromPublicKey, formatAddress } from '../../ledger/address.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import type { RpcClient } from '../../src/rpc/client.ts';
import {
  type Cluster,
  createCluster,
  fakeClock,
  heights,
  LIBFAKETIME,
  waitFor,
  waitUntilRunning,
} from '../e2e/helpers.ts';
import { runVerity } from '../helpers/cli.ts';
import { type Anomaly, checkHistory, type FinalBlock, type History, type NodeFinal } from './history.ts';
import { available, createNetns, type NetnsNet } from './netns.ts';

const USAGE = `usage: node test/nemesis/nemesis.ts [--engines tendermint,pbft,…] [--faults kill,pause,…]
         [--phase-seconds 15] [--accounts 12] [--json] [--keep]
         [--net netns|loopback] [--quorum-kill K] [--no-cut]
Runs 4 real validators per engine through each fault (kill, pause, partition, skew, corrupt,
disk, quorum) for --phase-seconds, with clients recording every acknowledgement, then checks the
history. Exit 1 when a check fails. See the head of this file for what each fault does.`;
const VALUED = ['--engines', '--faults', '--phase-seconds', '--accounts', '--net', '--quorum-kill'];
const FLAGS = ['--json', '--keep', '--no-cut'];
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i] as string;
  if (VALUED.includes(a)) i++;
  else if (!FLAGS.includes(a)) {
    process.stderr.write(`nemesis: unknown argument "${a}"\n${USAGE}\n`);
    process.exit(2);
  }
}
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const ENGINES = arg('engines', 'tendermint,pbft,hotstuff,raft,multipaxos,algorand,pos').split(',');
const FAULTS = arg('faults', 'kill,pause,partition,skew,corrupt,disk,quorum').split(',') as Fault[];
const PHASE_MS = Number(arg('phase-seconds', '15')) * 1000;
const ACCOUNTS = Number(arg('accounts', '12'));
const JSON_OUT = process.argv.includes('--json');
const KEEP = process.argv.includes('--keep');
const N = 4;
/** Negative control of the partition check: splits are announced and checked, never made. */
const NO_CUT = process.argv.includes('--no-cut');
const QUORUM_KILL = process.argv.includes('--quorum-kill') ? Number(arg('quorum-kill', '')) : undefined;
/** Engine parameters that keep a run short (the e2e suite's: one-second slots, four-slot epochs). */
const PARAMS: Record<string, Record<string, number>> = { pos: { slotMs: 1000, slotsPerEpoch: 4 } };

type Fault = 'kill' | 'pause' | 'partition' | 'skew' | 'corrupt' | 'disk' | 'quorum';
const ALL_FAULTS: readonly Fault[] = ['kill', 'pause', 'partition', 'skew', 'corrupt', 'disk', 'quorum'];
for (const f of FAULTS)
  if (!ALL_FAULTS.includes(f)) throw new Error(`unknown fault "${f}" (${ALL_FAULTS.join(', ')})`);
const NET = arg('net', 'netns');
if (NET !== 'netns' && NET !== 'loopback') throw new Error('--net netns|loopback');
for (const e of ENGINES) if (getEngine(e) === undefined) throw new Error(`unknown engine "${e}"`);
if (!(PHASE_MS >= 3000 && ACCOUNTS >= 1)) throw new Error('--phase-seconds ≥ 3, --accounts ≥ 1');
if (QUORUM_KILL !== undefined && !(Number.isInteger(QUORUM_KILL) && QUORUM_KILL >= 1 && QUORUM_KILL <= N))
  throw new Error(`--quorum-kill: 1 to ${N} validators`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Ack {
  readonly id: string;
  readonly node: number;
  readonly height: number;
  readonly at: number;
  readonly latencyMs: number;
}

interface PhaseReport {
  readonly fault: Fault | 'none';
  readonly acknowledged: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly convergeMs: number | null;
  /** Acknowledgements in the AFTER_MS (or more) after healing, and their latency. */
  readonly after: {
    readonly acknowledged: number;
    readonly p50Ms: number | null;
    readonly p99Ms: number | null;
  };
  readonly checks: string[];
}

/** How long after healing the acknowledgements count as "after" the fault (at least). */
const AFTER_MS = 2000;

interface EngineReport {
  readonly engine: string;
  readonly phases: PhaseReport[];
  readonly acknowledged: number;
  readonly lost: number;
  readonly finalHeight: number;
  readonly anomalies: Anomaly[];
  readonly ok: boolean;
}

function percentile(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
}

/** Flips the last 64 bytes of every non-empty LevelDB log of a node's consensus WAL. */
function damageWal(home: string): void {
  const dir = join(home, 'data', 'wal');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.log'))) {
    const b = readFileSync(join(dir, f));
    if (b.length === 0) continue;
    for (let i = Math.max(0, b.length - 64); i < b.length; i++) b[i] = (b[i] as number) ^ 0x5a;
    writeFileSync(join(dir, f), b);
  }
}

/** The disk fault's tmpfs: mounted under one validator's data directory for the whole run. */
const DISK_VICTIM = N - 1;
const mounted = new Set<string>();
function mountTmpfs(dir: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512m', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return (r.stderr || r.error?.message || 'mount failed').trim();
  mounted.add(dir);
  return undefined;
}
function unmountAll(): void {
  for (const dir of mounted) spawnSync('umount', ['-l', dir]);
  mounted.clear();
}
/** Writes a file until the device is full (ENOSPC); returns its path. */
function fillDisk(dir: string): string {
  const file = join(dir, 'nemesis-filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  return file;
}

let current: Cluster | undefined;
let net: NetnsNet | undefined;
function killAllNow(): void {
  for (const p of current?.procs ?? [])
    if (p !== undefined && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  unmountAll();
  net?.teardown();
  net = undefined;
}
process.on('exit', killAllNow);

async function runEngine(engine: string, slot: number): Promise<EngineReport> {
  const dir = await mkdtemp(join(tmpdir(), `verity-nemesis-${engine}-`));
  const c = await createCluster({
    dir,
    validators: N,
    engine,
    slot,
    accounts: ACCOUNTS + 1, // the last one sends the partition fault's probes
    ...(PARAMS[engine] === undefined ? {} : { engineParams: PARAMS[engine] }),
    ...(net === undefined ? {} : { hosts: net.hosts, wrapper: (i: number) => net?.wrapper(i) ?? [] }),
  });
  current = c;
  const module = getEngine(engine);
  const probabilistic = module?.confirmations !== undefined;
  const core = module?.faultModel.livenessCore(N) ?? N;
  // How long a client waits for its commit before asking another node: a few seconds, as a real
  // client would (a node cut off from the quorum holds the request), or what finality takes.
  const commitWaitMs = Math.max(5000, 3 * (module?.finalityDelayMs?.({ ...PARAMS[engine] }) ?? 0));
  const t0 = performance.now();
  const t = () => performance.now() - t0;
  const down = new Set<number>(); // killed or stopped: not asked, not expected to answer
  const paused = new Set<number>();
  let keep = false; // the homes are kept when they hold a finding
  const diskDir = join(c.manifest.nodes[DISK_VICTIM]?.home as string, 'data');
  if (faults.includes('disk')) {
    const why = mountTmpfs(diskDir);
    if (why !== undefined) throw new Error(`the disk fault needs a tmpfs at ${diskDir}: ${why}`);
  }
  try {
    for (let i = 0; i < N; i++) c.start(i);
    await waitUntilRunning(c, engine);
    const keys = await Promise.all(c.manifest.accounts.map((a) => loadKey(a.keyFile)));
    const sink = addressFromPublicKey(new Uint8Array(32).fill(7));
    const watched = [...keys.map((k) => addressFromPublicKey(k.publicKey)), sink];
    const supplyAt = async (client: RpcClient) => {
      let sum = 0n;
      for (const a of watched)
        sum += BigInt(
          (await client.get<{ balance: string }>(`/account?address=${formatAddress(a)}`)).balance,
        );
      return sum;
    };
    const genesisSupply = await supplyAt(c.clients[0] as RpcClient);

    // The workload: one client per account, one transaction in flight each, sent to a random node
    // that is up and re-sent (the same bytes) elsewhere until some node acknowledges its commit.
    const acks: Ack[] = [];
    let working = true;
    const up = () => [...Array(N).keys()].filter((i) => !down.has(i));
    type Key = (typeof keys)[number];
    const transfer = (key: Key, nonce: number) =>
      signTransaction(
        { chainId: 'e2e', sender: key.publicKey, nonce, op: { type: 'transfer', to: sink, amount: 1n } },
        key.secretKey,
      );
    /** Sends a transaction to a node and waits for its commit: true once acknowledged (recorded). */
    const commitVia = async (
      tx: ReturnType<typeof transfer>,
      node: number,
      sentAt: number,
    ): Promise<boolean> => {
      try {
        const res = await fetch(`${c.manifest.nodes[node]?.rpc}/tx?mode=commit`, {
          method: 'POST',
          body: JSON.stringify({ tx: toHex(tx.bytes) }),
          headers: { 'content-type': 'application/json' },
          signal: AbortSignal.timeout(commitWaitMs),
        });
        const body = (await res.json()) as { height?: number };
        if (!res.ok || typeof body.height !== 'number') return false;
        acks.push({ id: toHex(tx.id), node, height: body.height, at: t(), latencyMs: t() - sentAt });
        return true;
      } catch {
        // Unreachable, timed out, killed mid-answer: the outcome is unknown.
        return false;
      }
    };
    const client = async (key: Key) => {
      for (let nonce = 0; working; nonce++) {
        const tx = transfer(key, nonce);
        const sentAt = t();
        for (;;) {
          if (!working) return;
          const choices = up();
          // Unanswered: ask another node (the same bytes: it commits at most once).
          if (await commitVia(tx, choices[Math.floor(Math.random() * choices.length)] ?? 0, sentAt)) break;
          await sleep(200);
        }
      }
    };
    const probeKey = keys.at(-1) as Key;
    const clients = keys.slice(0, -1).map((key) => client(key));
    // The partition fault's probe: one transaction at a time, re-sent until acknowledged.
    let probe = { nonce: 0, tx: transfer(probeKey, 0) };

    // What nodes say while it runs: their heads, twice a second.
    const observed: History['observed'][number][] = [];
    let observing = true;
    const observer = (async () => {
      while (observing) {
        await Promise.all(
          up().map(async (i) => {
            try {
              const s = await (c.clients[i] as RpcClient).status();
              if (!down.has(i)) observed.push({ node: i, height: s.height, hash: s.latestHash });
            } catch {
              // down or busy: nothing said
            }
          }),
        );
        await sleep(500);
      }
    })();

    const upHeights = async () => {
      const hs = await Promise.all(
        up().map((i) =>
          (c.clients[i] as RpcClient).status().then(
            (s) => s.height,
            () => -1,
          ),
        ),
      );
      return Math.max(...hs);
    };
    const relaunch = async (i: number) => {
      c.start(i);
      down.delete(i);
    };
    const phases: PhaseReport[] = [];
    const phase = async (fault: Fault | 'none') => {
      const from = t();
      const checks: string[] = [];
      const end = from + PHASE_MS;
      if (fault === 'kill')
        while (t() < end - 2500) {
          const v = Math.floor(Math.random() * N);
          down.add(v);
          await c.kill(v, 'SIGKILL');
          await sleep(2000);
          await relaunch(v);
          await sleep(2000);
        }
      else if (fault === 'pause')
        while (t() < end - 3500) {
          const v = Math.floor(Math.random() * N);
          down.add(v);
          paused.add(v);
          c.procs[v]?.kill('SIGSTOP');
          await sleep(3000);
          c.procs[v]?.kill('SIGCONT');
          paused.delete(v);
          down.delete(v);
          await sleep(1000);
        }
      else if (fault === 'skew') {
        // One validator 20 s ahead and one 20 s behind (libfaketime), relaunched onto their own
        // clocks for the phase, then back.
        const [ahead, behind] = [...Array(N).keys()].sort(() => Math.random() - 0.5) as [number, number];
        for (const [v, offset] of [
          [ahead, '+20'],
          [behind, '-20'],
        ] as const) {
          down.add(v);
          await c.kill(v);
          c.start(v, [...(net?.wrapper(v) ?? []), ...fakeClock(offset)]);
          down.delete(v);
        }
        await sleep(Math.max(0, end - t()));
        for (const v of [ahead, behind]) {
          down.add(v);
          await c.kill(v);
          await relaunch(v);
        }
      } else if (fault === 'corrupt') {
        // kill -9, then the end of the consensus WAL's LevelDB log flipped (what a torn write
        // leaves), then relaunched: the node must notice, refuse what it may have signed, and
        // rejoin — never sign twice (the history checker looks for evidence against it).
        while (t() < end - 4000) {
          const v = Math.floor(Math.random() * N);
          down.add(v);
          await c.kill(v, 'SIGKILL');
          damageWal(c.manifest.nodes[v]?.home as string);
          await relaunch(v);
          await sleep(4000);
        }
      } else if (fault === 'disk') {
        // The victim's disk fills up: it must stop on its own, saying why and blaming no peer,
        // while the others go on; then space comes back and it is relaunched.
        const v = DISK_VICTIM;
        const home = c.manifest.nodes[v]?.home as string;
        const logBefore = readFileSync(join(home, 'node.log'), 'utf8').length;
        const proc = c.procs[v];
        const exited = new Promise<number | null>((resolve) => {
          if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null)
            resolve(proc?.exitCode ?? null);
          else proc.once('exit', (code) => resolve(code));
        });
        c.expectExit(v);
        down.add(v);
        const filler = fillDisk(diskDir);
        const code = await Promise.race([
          exited,
          sleep(Math.max(3000, end - t() - 1000)).then(() => 'running' as const),
        ]);
        const said = readFileSync(join(home, 'node.log'), 'utf8').slice(logBefore);
        if (code === 'running') {
          checks.push(`validator ${v} kept running on a full disk`);
          await c.kill(v, 'SIGKILL');
        } else {
          if (code === 0) checks.push(`validator ${v} exited 0 on a full disk`);
          if (!/no space left on the device holding .*\[STORAGE_FULL\]/.test(said))
            checks.push(`validator ${v} stopped on a full disk without the STORAGE_FULL line`);
        }
        if (/penaliz|banned|failed validation/i.test(said))
          checks.push(`validator ${v} blamed its peers for its own full disk`);
        await sleep(Math.max(0, end - t()));
        rmSync(filler);
        await relaunch(v);
      } else if (fault === 'partition' && net !== undefined) {
        // Splits of one against three and two against two, 5 s or more each, then healed for
        // 1 s. A side holding the liveness core commits: a probe transaction sent to it 1.5 s in
        // must be acknowledged while the split lasts (it lasts until then, up to the commit
        // wait). A side short of it decides nothing: none of its nodes passes the highest height
        // any node had 2 s in (what was decided before the cut may still reach it).
        while (t() < end - 5000) {
          const order = [...Array(N).keys()].sort(() => Math.random() - 0.5);
          const at = Math.random() < 0.5 ? 1 : 2;
          const groups = [order.slice(0, at), order.slice(at)];
          const splitAt = t();
          if (!NO_CUT) net.partition(groups);
          const minority = groups.filter((g) => g.length < core).flat();
          const majority = groups.find((g) => g.length >= core);
          await sleep(1500);
          const probed =
            majority === undefined
              ? undefined
              : commitVia(
                  probe.tx,
                  majority[Math.floor(Math.random() * majority.length)] as number,
                  t(),
                ).then((ok) => {
                  if (ok) probe = { nonce: probe.nonce + 1, tx: transfer(probeKey, probe.nonce + 1) };
                  return ok;
                });
          await sleep(500);
          const ceiling = Math.max(...(await heights(c, [...Array(N).keys()])));
          await sleep(Math.max(0, splitAt + 5000 - t()));
          const committed = probed === undefined ? undefined : await probed;
          const after = await heights(c, minority);
          net.heal();
          if (!probabilistic && after.some((h) => h > ceiling))
            checks.push(
              `nodes ${minority.join(', ')}, cut off from a quorum, reached heights ${after.join('/')} above ${ceiling}, the highest 2 s into the split`,
            );
          if (committed === false && !probabilistic)
            checks.push(
              `nodes ${majority?.join(', ')}, holding a quorum, did not commit a probe within the split`,
            );
          await sleep(1000);
        }
      } else if (fault === 'quorum' && !probabilistic) {
        const victims = [...Array(N).keys()]
          .sort(() => Math.random() - 0.5)
          .slice(0, QUORUM_KILL ?? N - core + 1);
        for (const v of victims) {
          down.add(v);
          await c.kill(v, 'SIGKILL');
        }
        // Blocks decided before the loss may still land for a moment; from 2 s on, nothing.
        await sleep(2000);
        const frozenAt = t();
        const frozen = await upHeights();
        await sleep(Math.max(0, end - t()));
        const after = await upHeights();
        const acked = acks.filter((a) => a.at > frozenAt && a.height > frozen);
        if (after !== frozen) checks.push(`quorum lost, yet height moved ${frozen} → ${after}`);
        if (acked.length > 0)
          checks.push(`quorum lost, yet ${acked.length} transactions were acknowledged at new heights`);
        for (const v of victims) await relaunch(v);
      } else await sleep(Math.max(0, end - t()));
      const during = acks.filter((a) => a.at >= from && a.at < t());
      if (fault !== 'partition' && fault !== 'quorum' && during.length === 0)
        checks.push(`nothing acknowledged during "${fault}" although a quorum was up`);
      // Heal: every process up; converged when every node reaches the highest height seen now.
      const healedAt = t();
      const target = await upHeights();
      let convergeMs: number | null = null;
      try {
        await waitFor(
          'every node at the height reached before healing',
          async () => ((await heights(c, [...Array(N).keys()])).every((h) => h >= target) ? true : undefined),
          60_000,
        );
        convergeMs = t() - healedAt;
      } catch (e) {
        checks.push(`did not converge within 60 s of healing "${fault}": ${(e as Error).message}`);
      }
      // And the chain moves again before the next fault: a fault's aftermath (a block from a
      // clock 20 s ahead is held until the others' clocks near it) must not be charged to the next.
      await waitFor(
        'a new block after healing',
        async () => ((await upHeights()) > target ? true : undefined),
        30_000,
      ).catch(() => checks.push(`no new block within 30 s of healing "${fault}"`));
      await sleep(Math.max(0, healedAt + AFTER_MS - t()));
      const afterAcks = acks.filter((a) => a.at >= healedAt && a.at < t()).map((a) => a.latencyMs);
      const after = {
        acknowledged: afterAcks.length,
        p50Ms: percentile(afterAcks, 0.5),
        p99Ms: percentile(afterAcks, 0.99),
      };
      const lat = during.map((a) => a.latencyMs);
      phases.push({
        fault,
        acknowledged: during.length,
        p50Ms: percentile(lat, 0.5),
        p99Ms: percentile(lat, 0.99),
        convergeMs,
        after,
        checks,
      });
      log(
        `  ${engine} ${fault.padEnd(9)} acknowledged ${during.length}, p50 ${percentile(lat, 0.5)?.toFixed(0) ?? '–'} ms, p99 ${percentile(lat, 0.99)?.toFixed(0) ?? '–'} ms, converged ${convergeMs === null ? 'never' : `${(convergeMs / 1000).toFixed(1)} s`} after healing; after: ${after.acknowledged}, p50 ${after.p50Ms?.toFixed(0) ?? '–'} ms, p99 ${after.p99Ms?.toFixed(0) ?? '–'} ms${checks.length ? ` — ${checks.join('; ')}` : ''}`,
      );
    };

    await phase('none');
    for (const f of faults) await phase(f);

    // Stop the workload (in-flight requests finish or time out), then read every node's chain.
    working = false;
    await Promise.all(clients);
    observing = false;
    await observer;
    const top = Math.max(...(await heights(c, [...Array(N).keys()])));
    const finalChecks: string[] = [];
    await waitFor(
      `every node at height ${top}`,
      async () => ((await heights(c, [...Array(N).keys()])).every((h) => h >= top) ? true : undefined),
      60_000,
    ).catch((e: Error) => finalChecks.push(e.message));
    const finals: NodeFinal[] = [];
    for (let i = 0; i < N; i++) {
      const rpc = c.clients[i] as RpcClient;
      const blocks: FinalBlock[] = [];
      for (let h = 1; h <= top; h++) {
        const b = await rpc
          .get<{ hash: string; header: { stateRoot: string; logRoot: string }; txs: Array<{ id: string }> }>(
            `/block?height=${h}`,
          )
          .catch(() => undefined);
        if (b === undefined) break;
        blocks.push({
          height: h,
          hash: b.hash,
          txIds: b.txs.map((x) => x.id),
          stateRoot: b.header.stateRoot,
          logRoot: b.header.logRoot,
        });
      }
      const evidence = await rpc.get<{ evidence: Array<{ validator: number; evidence: string }> }>(
        '/evidence',
      );
      for (const [k, e] of evidence.evidence.entries()) {
        // Kept with the homes, and printed as `verity evidence verify` reads it: the finding
        // must be readable after the run.
        const file = join(dir, `evidence-node${i}-${k}.json`);
        writeFileSync(file, JSON.stringify(e));
        const verified = await runVerity([
          'evidence',
          'verify',
          file,
          '--genesis',
          join(c.manifest.nodes[0]?.home as string, 'genesis.json'),
        ]);
        log(`  ${engine} node ${i} holds evidence against validator ${e.validator} (${file}):`);
        for (const line of `${verified.stdout}${verified.stderr}`.trim().split('\n')) log(`    ${line}`);
        keep = true;
      }
      finals.push({
        node: i,
        blocks,
        supply: await supplyAt(rpc),
        evidenceAgainst: evidence.evidence.map((e) => e.validator),
      });
    }
    const anomalies = checkHistory({
      acks,
      observed: observed.filter((o) => o.height <= top),
      finals,
      genesisSupply,
      honest: [...Array(N).keys()],
    });
    const ackIds = new Set(acks.map((a) => a.id));
    const lost = [...ackIds].filter((id) =>
      finals.some((f) => !f.blocks.some((b) => b.txIds.includes(id))),
    ).length;
    const phaseChecks = phases.flatMap((p) => p.checks);
    const ok =
      anomalies.length === 0 && phaseChecks.length === 0 && finalChecks.length === 0 && acks.length > 0;
    for (const a of anomalies) log(`  ${engine} ANOMALY ${a.kind}: ${a.detail}`);
    for (const x of [...phaseChecks, ...finalChecks]) log(`  ${engine} FAILED: ${x}`);
    return { engine, phases, acknowledged: acks.length, lost, finalHeight: top, anomalies, ok };
  } finally {
    for (const v of paused) c.procs[v]?.kill('SIGCONT');
    const stopped = c.stopAll();
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000).unref());
    if ((await Promise.race([stopped, timeout])) === 'timeout') killAllNow();
    current = undefined;
    unmountAll();
    if (KEEP || keep) log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    killAllNow();
    process.exit(130);
  });

let faults = FAULTS;
if (NET === 'netns') {
  const why = available();
  if (why === undefined) net = createNetns(N);
  else {
    log(`note: nodes share loopback, and the partition fault is skipped: ${why}`);
    faults = FAULTS.filter((f) => f !== 'partition');
  }
} else faults = FAULTS.filter((f) => f !== 'partition');
if (faults.includes('disk')) {
  const probe = join(tmpdir(), `verity-nemesis-tmpfs-probe-${process.pid}`);
  const why = mountTmpfs(probe);
  unmountAll();
  rmSync(probe, { recursive: true, force: true });
  if (why !== undefined) {
    log(`note: the disk fault is skipped: mounting a tmpfs needs root (${why})`);
    faults = faults.filter((f) => f !== 'disk');
  }
}
if (faults.includes('skew') && LIBFAKETIME === undefined) {
  log('note: the skew fault is skipped: it needs libfaketime (Debian: apt-get install faketime)');
  faults = faults.filter((f) => f !== 'skew');
}

const reports: EngineReport[] = [];
let slot = 80;
for (const engine of ENGINES) {
  log(
    `nemesis: ${engine}, ${N} validators ${net === undefined ? 'on loopback' : 'in network namespaces'}, faults ${faults.join(', ')} (${PHASE_MS / 1000} s each), ${ACCOUNTS} clients`,
  );
  reports.push(await runEngine(engine, slot++));
}
net?.teardown();
net = undefined;
if (JSON_OUT) console.log(JSON.stringify(reports, null, 2));
else
  for (const r of reports)
    console.log(
      `${r.ok ? 'ok  ' : 'FAIL'} ${r.engine}: ${r.acknowledged} acknowledged, ${r.lost} lost, final height ${r.finalHeight}; ` +
        r.phases
          .map(
            (p) =>
              `${p.fault} ${p.acknowledged} acks p50 ${p.p50Ms?.toFixed(0) ?? '–'} ms p99 ${p.p99Ms?.toFixed(0) ?? '–'} ms converge ${p.convergeMs === null ? '–' : `${(p.convergeMs / 1000).toFixed(1)} s`} after ${p.after.acknowledged} p99 ${p.after.p99Ms?.toFixed(0) ?? '–'} ms`,
          )
          .join(' | '),
    );
const passed = reports.filter((r) => r.ok).length;
// (With --json, stdout is the JSON alone.)
(JSON_OUT ? log : console.log)(`${passed} passed, ${reports.length - passed} failed`);
if (passed !== reports.length) process.exitCode = 1;
