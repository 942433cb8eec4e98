// `verity testnet logs`: every node's HOME/node.log merged in time order. The merge and the
// rendering in-process; the command through the real binary over a testnet directory whose node
// logs are written by the test (no node needs to run).
import { spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatLogLine, mergeByTime, parseLogLine } from '../../cli/commands/testnet-logs.ts';
import { runVerity, VERITY } from '../helpers/cli.ts';

const T0 = Date.UTC(2026, 11, 2, 17, 0, 0);
const rec = (ms: number, level: number, msg: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ level, time: T0 + ms, name: 'n', msg, ...extra });

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true, maxRetries: 3 });
});

async function testnetDir(logs: Record<string, string[]>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'verity-logs-'));
  dirs.push(dir);
  const nodes = [];
  for (const [name, lines] of Object.entries(logs)) {
    const home = join(dir, name);
    await mkdir(home);
    await writeFile(join(home, 'node.log'), lines.map((l) => `${l}\n`).join(''));
    nodes.push({ name, home, rpc: 'http://127.0.0.1:9', p2p: '', peerId: '', address: '' });
  }
  const manifest = { version: 1, chainId: 'c', engine: 'tendermint', genesis: '', nodes, accounts: [] };
  await writeFile(join(dir, 'testnet.json'), JSON.stringify(manifest));
  return dir;
}

describe('merging node logs', () => {
  it('orders records of several nodes by time; a line without a time stays after the one before it', () => {
    const a = [
      parseLogLine('node0', rec(10, 30, 'a1')),
      parseLogLine('node0', 'Error: boom'),
      parseLogLine('node0', rec(30, 30, 'a2')),
    ];
    const b = [parseLogLine('node1', rec(5, 30, 'b1')), parseLogLine('node1', rec(20, 40, 'b2'))];
    const merged = mergeByTime([...a, ...b]).map((l) => l.record?.msg ?? l.raw);
    expect(merged).toEqual(['b1', 'a1', 'Error: boom', 'b2', 'a2']);
  });

  it('renders time, node, level, message and the other fields; colours only when asked', () => {
    const l = parseLogLine('node1', rec(1234, 40, 'slow peer', { peer: 'x', ms: 5 }));
    expect(formatLogLine(l, 6, false)).toBe('17:00:01.234 node1  WARN  slow peer {"peer":"x","ms":5}');
    const coloured = formatLogLine(l, 6, true);
    expect(coloured.startsWith('\x1b[33m17:00:01.234 ')).toBe(true);
    expect(coloured.endsWith('\x1b[0m')).toBe(true);
    expect(formatLogLine(parseLogLine('node1', 'plain text'), 5, false)).toBe(
      `${' '.repeat(12)} node1 plain text`,
    );
  });
});

describe('verity testnet logs', () => {
  it('the last --lines of each node, merged; --level and --node filter; --json adds the node', async () => {
    const dir = await testnetDir({
      node0: [rec(0, 30, 'old0'), rec(10, 20, 'debug0'), rec(30, 50, 'error0')],
      node1: [rec(5, 30, 'old1'), rec(20, 40, 'warn1')],
    });
    const [all, warn, json, one, bad] = await Promise.all([
      runVerity(['testnet', 'logs', '--dir', dir, '--lines', '2']),
      runVerity(['testnet', 'logs', '--dir', dir, '--level', 'warn']),
      runVerity(['testnet', 'logs', '--dir', dir, '--json', '--node', 'node1']),
      runVerity(['testnet', 'logs', '--dir', dir, '--node', 'node9']),
      runVerity(['testnet', 'logs', '--dir', dir, '--level', 'loud']),
    ]);
    expect(all.code, all.stderr).toBe(0);
    const msgs = (r: { stdout: string }) =>
      r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split(/\s+/)[3]);
    expect(msgs(all)).toEqual(['old1', 'debug0', 'warn1', 'error0']);
    expect(msgs(warn)).toEqual(['warn1', 'error0']);
    expect(json.code).toBe(0);
    expect(
      json.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { node: 'node1', level: 30, time: T0 + 5, name: 'n', msg: 'old1' },
      { node: 'node1', level: 40, time: T0 + 20, name: 'n', msg: 'warn1' },
    ]);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/no node "node9".*node0, node1/);
    expect(bad.code).toBe(2);
  }, 120_000);

  it('--follow prints lines appended after it started, and a line only once it is complete', async () => {
    const dir = await testnetDir({ node0: [rec(0, 30, 'before')], node1: [] });
    const child = spawn(process.execPath, [VERITY, 'testnet', 'logs', '--dir', dir, '--follow', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const until = async (test: () => boolean) => {
      for (let i = 0; i < 300 && !test(); i++) await new Promise((r) => setTimeout(r, 100));
    };
    try {
      await until(() => out.includes('before'));
      await appendFile(
        join(dir, 'node1', 'node.log'),
        `${rec(50, 30, 'after')}\n${rec(60, 30, 'half').slice(0, 20)}`,
      );
      await until(() => out.includes('after'));
      await new Promise((r) => setTimeout(r, 600)); // several polls: the half line must not show
      expect(out).not.toContain('half');
      await appendFile(join(dir, 'node1', 'node.log'), `${rec(60, 30, 'half').slice(20)}\n`);
      await until(() => out.includes('half'));
    } finally {
      // Stopped before its directory is removed (afterAll): SIGINT, and SIGKILL if it lingers.
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      if (child.exitCode === null && child.signalCode === null) await exited;
      clearTimeout(timer);
    }
    const msgs = out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { node: string; msg: string });
    expect(msgs.map((m) => `${m.node}:${m.msg}`)).toEqual(['node0:before', 'node1:after', 'node1:half']);
  }, 120_000);
});
