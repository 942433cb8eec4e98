// The node-setup CLI (`verity testnet`, `verity init`, `verity start` argument checks) end to end:
// real processes, real files. No node is started.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGenesis } from '../../ledger/genesis.ts';
import { loadKey } from '../../src/keystore.ts';
import { loadConfig } from '../../src/node/config.ts';
import type { TestnetManifest } from '../../src/node/testnet.ts';
import { LevelKvStore } from '../../src/storage/level-kv.ts';
import { parseJsonOutput, runVerity } from '../helpers/cli.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verity-node-cli-'));
});

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
});

async function snapshot(paths: readonly string[]): Promise<string[]> {
  return Promise.all(paths.map((p) => readFile(p, 'utf8')));
}

describe('verity testnet', () => {
  it('lays out genesis, homes, accounts and a testnet.json manifest', async () => {
    const out = join(dir, 'net');
    const r = await runVerity([
      'testnet',
      '--validators',
      '4',
      '--out',
      out,
      '--base-port',
      '31000',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const m = parseJsonOutput<TestnetManifest>(r);
    expect(JSON.parse(await readFile(join(out, 'testnet.json'), 'utf8'))).toEqual(m);
    expect(m).toMatchObject({ version: 1, chainId: 'verity-testnet', engine: 'hotstuff' });
    const genesis = parseGenesis(JSON.parse(await readFile(m.genesis, 'utf8')));
    expect(genesis.validators.size).toBe(4);
    expect(genesis.engine.name).toBe('hotstuff');

    expect(m.nodes).toHaveLength(4);
    for (const [i, n] of m.nodes.entries()) {
      expect(Object.keys(n).sort()).toEqual(['address', 'home', 'name', 'p2p', 'peerId', 'rpc']);
      expect(n).toMatchObject({
        name: `node${i}`,
        home: join(out, `node${i}`),
        rpc: `http://127.0.0.1:${31000 + 2 * i + 1}`,
        p2p: `/ip4/127.0.0.1/tcp/${31000 + 2 * i}`,
      });
      expect(n.address).toMatch(/^verity1/);
      expect(n.peerId).toMatch(/^12D3KooW/);
      // Each home: its config (ports, the other three as peers), the genesis, its keys.
      const cfg = await loadConfig(join(n.home, 'config.toml'));
      expect(cfg.rpc.listen).toBe(`127.0.0.1:${31000 + 2 * i + 1}`);
      expect(cfg.p2p.listen).toBe(n.p2p);
      expect(cfg.p2p.peers.sort()).toEqual(
        m.nodes
          .filter((_, j) => j !== i)
          .map((p) => `${p.peerId}@${p.p2p}`)
          .sort(),
      );
      expect(await readFile(join(n.home, 'genesis.json'), 'utf8')).toBe(await readFile(m.genesis, 'utf8'));
      const ed = await loadKey(join(n.home, 'keys', 'ed25519.json'), { expect: 'ed25519' });
      expect(genesis.validators.at(i)?.publicKey).toEqual(ed.publicKey);
      expect(existsSync(join(n.home, 'keys', 'bls.json'))).toBe(true);
    }

    expect(m.accounts).toHaveLength(4);
    for (const a of m.accounts) {
      expect(Object.keys(a).sort()).toEqual(['address', 'balance', 'keyFile']);
      expect(a.address).toMatch(/^verity1/);
      expect(existsSync(a.keyFile)).toBe(true);
      expect(genesis.accounts.some((g) => g.balance.toString() === a.balance)).toBe(true);
    }
  });

  it('refuses a directory that holds a testnet (exit 2, nothing changed) unless --force', async () => {
    const out = join(dir, 'net2');
    const args = ['testnet', '--validators', '2', '--accounts', '1', '--out', out];
    expect((await runVerity([...args, '--json'])).code).toBe(0);
    const files = [
      join(out, 'testnet.json'),
      join(out, 'genesis.json'),
      join(out, 'node0', 'keys', 'ed25519.json'),
      join(out, 'node1', 'config.toml'),
      join(out, 'accounts', 'account0.json'),
    ];
    const before = await snapshot(files);
    await mkdir(join(out, 'node0', 'data', 'chain'), { recursive: true }); // the old chain's data

    const [again, otherSize] = await Promise.all([
      runVerity(args),
      runVerity(['testnet', '--validators', '3', '--out', out]),
    ]);
    for (const r of [again, otherSize]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('--force');
    }
    expect(await snapshot(files)).toEqual(before);
    expect(existsSync(join(out, 'node2'))).toBe(false);

    const forced = await runVerity([...args, '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    const after = await snapshot(files);
    for (const [i, f] of files.entries()) {
      if (f.endsWith('config.toml')) continue; // same ports, same text apart from the peer ids
      expect(after[i], f).not.toBe(before[i]);
    }
    expect(existsSync(join(out, 'node0', 'data'))).toBe(false); // stale chain data is gone
  });

  it('a partial testnet (files but no manifest) is refused too, by testnet and by start-local', async () => {
    const out = join(dir, 'partial');
    const key = join(out, 'node0', 'keys', 'ed25519.json');
    await mkdir(join(out, 'node0', 'keys'), { recursive: true });
    await writeFile(key, 'precious');
    const [t, local] = await Promise.all([
      runVerity(['testnet', '--validators', '2', '--out', out]),
      runVerity(['start-local', '--dir', out]),
    ]);
    expect(t.code, t.stderr).toBe(2);
    expect(local.code, local.stderr).toBe(2);
    expect(local.stderr).toContain('--force');
    expect(await readFile(key, 'utf8')).toBe('precious');
    expect(existsSync(join(out, 'testnet.json'))).toBe(false);
  });

  it('an unknown engine, bad engine parameters, a bad chain id, port or count: exit 2, nothing written', async () => {
    const cases = [
      ['--engine', 'nope'],
      ['--engine', 'hotstuff:qc=bogus'],
      ['--engine', 'tendermint:nope=1'],
      ['--engine', 'Bad Name'],
      ['--chain-id', 'x'.repeat(65)],
      ['--base-port', '80'],
      ['--accounts', '-1'],
    ];
    const runs = await Promise.all(
      cases.map((extra, i) =>
        runVerity(['testnet', '--validators', '2', '--out', join(dir, `bad-${i}`), ...extra]),
      ),
    );
    for (const [i, r] of runs.entries()) {
      expect(r.code, `${cases[i]?.join(' ')}: ${r.stderr}`).toBe(2);
      expect(existsSync(join(dir, `bad-${i}`)), cases[i]?.join(' ')).toBe(false);
    }
    expect(runs[0]?.stderr).toContain('unknown engine "nope"');
  });
});

describe('verity init', () => {
  it('creates a single-validator dev home; refuses it again unless --force; checks every option first', async () => {
    const home = join(dir, 'home');
    const r = await runVerity(['init', '--home', home, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const info = parseJsonOutput<{
      home: string;
      config: string;
      genesis: string;
      account: { keyFile: string };
    }>(r);
    expect(info).toMatchObject({
      home,
      config: join(home, 'config.toml'),
      genesis: join(home, 'genesis.json'),
    });
    const genesis = parseGenesis(JSON.parse(await readFile(info.genesis, 'utf8')));
    expect(genesis.validators.size).toBe(1);
    expect(genesis.engine.name).toBe('hotstuff');
    expect(genesis.chainId).toBe('verity-dev');
    const ed = await loadKey(join(home, 'keys', 'ed25519.json'), { expect: 'ed25519' });
    expect(genesis.validators.at(0)?.publicKey).toEqual(ed.publicKey);
    expect(existsSync(join(home, 'keys', 'bls.json'))).toBe(true);
    expect(info.account.keyFile).toBe(join(home, 'accounts', 'account0.json'));
    expect(existsSync(info.account.keyFile)).toBe(true);
    expect(existsSync(join(home, '.init'))).toBe(false);
    await loadConfig(info.config);

    const files = [info.config, info.genesis, join(home, 'keys', 'ed25519.json'), info.account.keyFile];
    const before = await snapshot(files);
    const [again, otherEngine] = await Promise.all([
      runVerity(['init', '--home', home]),
      runVerity(['init', '--home', home, '--engine', 'tendermint']),
    ]);
    for (const x of [again, otherEngine]) {
      expect(x.code, x.stderr).toBe(2);
      expect(x.stderr).toContain('--force');
    }
    expect(await snapshot(files)).toEqual(before);

    await mkdir(join(home, 'data', 'chain'), { recursive: true });
    const forced = await runVerity(['init', '--home', home, '--force', '--engine', 'tendermint']);
    expect(forced.code, forced.stderr).toBe(0);
    const after = await snapshot(files);
    for (const [i, f] of files.entries())
      if (!f.endsWith('config.toml')) expect(after[i], f).not.toBe(before[i]);
    expect(parseGenesis(JSON.parse(after[1] as string)).engine.name).toBe('tendermint');
    expect(existsSync(join(home, 'data'))).toBe(false);
  });

  it('an unknown engine, an over-long chain id or a bad --genesis: exit 2 and no home created', async () => {
    const cases = [
      ['--engine', 'nope'],
      ['--engine', 'pbft:bogus=1'],
      ['--chain-id', 'x'.repeat(65)],
      ['--genesis', join(dir, 'does-not-exist.json')],
      ['--genesis', join(dir, 'whatever.json'), '--engine', 'pbft'],
    ];
    const runs = await Promise.all(
      cases.map((extra, i) => runVerity(['init', '--home', join(dir, `bad-home-${i}`), ...extra])),
    );
    for (const [i, r] of runs.entries()) {
      expect(r.code, `${cases[i]?.join(' ')}: ${r.stderr}`).toBe(2);
      expect(existsSync(join(dir, `bad-home-${i}`)), cases[i]?.join(' ')).toBe(false);
    }
  });

  it('joins an existing genesis as a full node (no keys written)', async () => {
    const source = join(dir, 'net', 'genesis.json'); // from the testnet test above
    const home = join(dir, 'full-node');
    const r = await runVerity(['init', '--home', home, '--genesis', source]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(home, 'genesis.json'), 'utf8')).toBe(await readFile(source, 'utf8'));
    expect(existsSync(join(home, 'keys'))).toBe(false);
    expect(existsSync(join(home, 'config.toml'))).toBe(true);
  });
});

describe('verity start (argument checks only)', () => {
  it('a bad --set or an unset --passphrase-env is a usage error (exit 2), before any node starts', async () => {
    const home = join(dir, 'net', 'node0');
    const runs = await Promise.all([
      runVerity(['start', '--home', home, '--set', 'p2p.nope=1']),
      runVerity(['start', '--home', home, '--set', 'rpc.commit_timeout_ms=soon']),
      runVerity(['start', '--home', home, '--log-format', 'xml']),
      runVerity(['start', '--home', home, '--passphrase-env', 'VERITY_SURELY_UNSET_VARIABLE']),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(2);
    expect(runs[0]?.stderr).toContain('p2p.nope');
    expect(existsSync(join(home, 'data'))).toBe(false);
  });

  it('a chain store held by another process (no node.pid): one plain line naming it, exit 2, no stack', async () => {
    const home = join(dir, 'locked-home');
    expect((await runVerity(['init', '--home', home])).code).toBe(0);
    const chainDb = join(home, 'data', 'chain');
    const held = await LevelKvStore.open(chainDb); // this test process plays the running node
    try {
      const r = await runVerity(['start', '--home', home]);
      expect(r.code, r.stderr).toBe(2);
      // LevelDB's lock is the backstop behind HOME/node.pid; /proc/locks names its holder on Linux.
      const pid = existsSync('/proc/locks') ? String(process.pid) : 'unknown';
      expect(r.stderr).toBe(`error: a node is already running in ${home} (pid ${pid})\n`);
      expect(existsSync(join(home, 'node.pid'))).toBe(false);
    } finally {
      await held.close();
    }
  });
});
