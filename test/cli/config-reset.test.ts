// `verity config check` and `verity reset`: run in this process through the CLI framework (each
// spawned CLI costs seconds on a small machine), plus one pair through the real binary for the
// command table and the exit codes. Homes come from createTestnet; the state reset acts on comes
// from a real node (LevelDB, real timers) run in this process: a validator of a two-validator
// Tendermint chain alone signs (its fence advances) but commits nothing.
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configCheck, type HomeCheck } from '../../cli/commands/config.ts';
import { type ResetResult, resetCommand } from '../../cli/commands/reset.ts';
import type { Command } from '../../cli/framework.ts';
import { walOnlyMarked } from '../../src/node/chain-data.ts';
import { homePaths } from '../../src/node/home.ts';
import type { VerityNode } from '../../src/node/node.ts';
import { createTestnet, type TestnetManifest } from '../../src/node/testnet.ts';
import type { SignFence } from '../../src/runtime/sign-fence.ts';
import { FileSignFence } from '../../src/storage/sign-fence-file.ts';
import { runVerity } from '../helpers/cli.ts';
import { runInProcess as cli, jsonOf as json, scriptedTerminal } from '../helpers/cli-inprocess.ts';
import { singleValidatorTestnet, startSingleNode } from '../helpers/single-node.ts';

/** A reset whose terminal answers `answers` in turn (or is no terminal at all). */
function resetWith(io: { isTTY: boolean; answers?: string[] }): { cmd: Command; asked: string[] } {
  const t = scriptedTerminal(io);
  return { cmd: resetCommand(() => t.io), asked: t.asked };
}

async function fenceOf(home: string): Promise<SignFence | undefined> {
  const store = new FileSignFence(homePaths(home).signFence);
  try {
    return (await store.load()).fence;
  } finally {
    await store.close();
  }
}

async function waitFor(what: string, f: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let dir: string;
let net: TestnetManifest;
let node: VerityNode | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verity-config-reset-'));
  // Short timeouts: node0, alone, prevotes (signs) within a fraction of a second.
  net = await createTestnet({
    dir: join(dir, 'net'),
    validators: 2,
    engine: 'tendermint',
    engineParams: { timeoutProposeMs: 100, emptyBlockIntervalMs: 0 },
    accounts: 0,
    basePort: 31_900,
    chainId: 'config-reset',
  });
});

afterAll(async () => {
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
});

const home = (i: number) => net.nodes[i]?.home as string;

describe('verity config check', () => {
  it('a valid home: exit 0 with a summary; through the real binary too (reset refused without a terminal)', async () => {
    const r = await cli([configCheck], ['config', 'check', '--home', home(1), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const c = json<HomeCheck>(r);
    expect(c).toMatchObject({
      ok: true,
      path: join(home(1), 'config.toml'),
      problems: [],
      chainId: 'config-reset',
      engine: 'tendermint',
      validators: 2,
      role: 'validator',
      validator: { index: 1 },
      peers: 1,
      listen: { rpc: net.nodes[1]?.rpc.replace('http://', '') },
      signFence: null,
    });

    // The real binary: both commands are in its table. A reset without --yes and without a
    // terminal (the child's stdin is not one) is a usage error that touches nothing.
    await cp(home(1), join(dir, 'copy'), { recursive: true });
    await writeFile(join(dir, 'copy', 'data-marker'), 'x');
    const [check, reset] = await Promise.all([
      runVerity(['config', 'check', '--home', home(1)]),
      runVerity(['reset', '--home', join(dir, 'copy')]),
    ]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain(`config OK: ${join(home(1), 'config.toml')}`);
    expect(check.stdout).toMatch(/chain: +config-reset \(tendermint, 2 validators\)/);
    expect(check.stdout).toMatch(/p2p: +\/ip4\/127\.0\.0\.1\/tcp\/\d+, 1 peer configured/);
    expect(reset.code).toBe(2);
    expect(reset.stderr).toContain('pass --yes');
    expect(existsSync(join(dir, 'copy', 'data-marker'))).toBe(true);
    expect(existsSync(join(dir, 'copy', 'node.pid'))).toBe(false);
  });

  it('bad values, unknown keys and a broken genesis: every problem named with its key and a fix, exit 1', async () => {
    const bad = join(dir, 'bad');
    await cp(home(1), bad, { recursive: true });
    const config = join(bad, 'config.toml');
    const text = readFileSync(config, 'utf8')
      .replace(/^listen = "127\.0\.0\.1:\d+"$/m, 'listen = "8080"')
      .replace(/^max_txs = \d+$/m, 'max_txs = -1')
      .replace('[storage]', '[storage]\nfsync = true');
    await writeFile(config, text);
    const r = await cli([configCheck], ['config', 'check', '--home', bad, '--json']);
    expect(r.code).toBe(1);
    const c = json<HomeCheck>(r);
    expect(c.ok).toBe(false);
    expect(c.problems.map((p) => p.key)).toEqual(['mempool.max_txs', 'storage.fsync', 'rpc.listen']);
    expect(c.problems[0]?.message).toBe('must be a non-negative integer');
    expect(c.problems[0]?.fix).toContain('20000');
    expect(c.problems[2]?.message).toBe('must be host:port');

    const human = await cli([configCheck], ['config', 'check', '--home', bad]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`config INVALID: ${config} (3 problems)`);
    expect(human.stdout).toContain('  rpc.listen: must be host:port\n    fix: set rpc.listen in');
    expect(human.stdout).toContain('storage.fsync: unknown key (known: sync)');

    // A genesis that is not the chain's, and a BLS key that is not this validator's.
    await writeFile(join(bad, 'genesis.json'), '{"chainId": 5}');
    const g = json<HomeCheck>(await cli([configCheck], ['config', 'check', '--home', bad, '--json']));
    expect(g.problems.map((p) => p.key)).toContain('genesis.json');
    await cp(join(home(1), 'genesis.json'), join(bad, 'genesis.json'));
    await cp(join(home(0), 'keys', 'bls.json'), join(bad, 'keys', 'bls.json'));
    const k = json<HomeCheck>(await cli([configCheck], ['config', 'check', '--home', bad, '--json']));
    expect(k.problems.find((p) => p.key === 'keys/bls.json')?.message).toContain("not validator 1's BLS key");
  });

  it('a validator whose p2p.peers leaves out another validator: named, with the entry to add', async () => {
    const lone = join(dir, 'lone');
    await cp(home(1), lone, { recursive: true });
    const config = join(lone, 'config.toml');
    const before = readFileSync(config, 'utf8');
    const v0 = net.nodes[0]?.peerId as string;
    expect(before).toContain(v0); // (the testnet lists it: the control, exit 0, is the valid home above)
    await writeFile(config, before.replace(/^peers = \[.*\]$/m, 'peers = []'));
    const r = await cli([configCheck], ['config', 'check', '--home', lone, '--json']);
    expect(r.code).toBe(1);
    const c = json<HomeCheck>(r);
    expect(c.problems.map((p) => p.key)).toEqual(['p2p.peers']);
    expect(c.problems[0]?.message).toMatch(/^does not list validator 0 /);
    expect(c.problems[0]?.fix).toContain(`"${v0}@<its p2p address>"`);
  });

  it('a missing config file or home is invalid (exit 1); no --home is a usage error (exit 2)', async () => {
    const empty = join(dir, 'empty');
    await cp(home(1), empty, { recursive: true });
    await rm(join(empty, 'config.toml'));
    const r = await cli([configCheck], ['config', 'check', '--home', empty, '--json']);
    expect(r.code).toBe(1);
    const c = json<HomeCheck>(r);
    expect(c.problems).toEqual([
      expect.objectContaining({ key: 'config.toml', message: expect.stringContaining('ENOENT') }),
    ]);
    expect(c.problems[0]?.fix).toContain('verity init');
    // Everything else is still checked and summarised.
    expect(c).toMatchObject({ chainId: 'config-reset', role: 'validator' });

    const nowhere = await cli([configCheck], ['config', 'check', '--home', join(dir, 'nowhere')]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stdout).toContain('config.toml: cannot read');
    expect((await cli([configCheck], ['config', 'check'])).code).toBe(2);
  });
});

describe('verity reset', () => {
  it('drops chain data and WAL, keeps keys, config and the sign fence; the node then refuses what it signed', async () => {
    const h = home(0);
    const paths = homePaths(h);
    node = await startSingleNode(net);
    await waitFor('node0 to sign', async () => ((await fenceOf(h))?.seq ?? 0) > 0);

    // While it runs: refused, nothing touched.
    const running = await cli([resetWith({ isTTY: false }).cmd], ['reset', '--home', h, '--yes', '--json']);
    expect(running.code).toBe(2);
    expect(json<{ ok: boolean; code: string }>(running)).toMatchObject({ ok: false, code: 'NODE_RUNNING' });
    expect(existsSync(paths.chainDb) && existsSync(paths.walDb)).toBe(true);
    await node.stop();
    node = undefined;

    const before = (await fenceOf(h)) as SignFence;
    const keyFiles = [paths.config, paths.genesis, paths.ed25519Key, paths.blsKey];
    const bytes = keyFiles.map((p) => readFileSync(p));

    // Not a terminal and no --yes: refused. On a terminal, a wrong answer removes nothing.
    const noTty = await cli([resetWith({ isTTY: false }).cmd], ['reset', '--home', h]);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toContain('pass --yes');
    const wrong = resetWith({ isTTY: true, answers: ['node1'] });
    const declined = await cli([wrong.cmd], ['reset', '--home', h]);
    expect(declined.code).toBe(1);
    expect(wrong.asked).toEqual([`Type the home directory's name (${basename(h)}) to confirm: `]);
    expect(declined.stderr).toContain('data/chain');
    expect(declined.stderr).toContain('nothing was removed');
    expect(existsSync(paths.chainDb) && existsSync(paths.walDb)).toBe(true);

    const right = resetWith({ isTTY: true, answers: [basename(h)] });
    const r = await cli([right.cmd], ['reset', '--home', h, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = json<ResetResult>(r);
    expect(result.removed.map((x) => x.path)).toEqual(['data/chain', 'data/wal']);
    expect(result.removed.every((x) => x.bytes > 0)).toBe(true);
    expect(result.kept).toEqual(expect.arrayContaining(['config.toml', 'genesis.json', 'keys/ed25519.json']));
    expect(result.kept.some((k) => k.startsWith('keys/sign-fence.'))).toBe(true);
    expect(result.signFence).toEqual({ maxHeight: before.maxHeight, maxViewRound: before.maxViewRound });
    expect(existsSync(paths.chainDb) || existsSync(paths.pidFile)).toBe(false);
    // The WAL in its place holds only the mark that says it was dropped on purpose (so the next
    // start warns instead of reporting a loss).
    expect(await walOnlyMarked(paths)).toBe(true);
    expect(keyFiles.map((p) => readFileSync(p))).toEqual(bytes);
    // The fence stays: never below what was signed, and still counting the signing batches, so
    // that a start with the emptied WAL treats every slot under it as signed.
    const after = (await fenceOf(h)) as SignFence;
    expect(after.maxHeight).toBe(before.maxHeight);
    expect(after.maxViewRound).toBe(before.maxViewRound);
    expect(after.seq).toBeGreaterThanOrEqual(before.seq);

    // It starts again — and will not sign at or below the heights it signed before the reset.
    node = await startSingleNode(net);
    expect(node.runtime.signingFence()).toEqual({
      upToHeight: before.maxHeight,
      upToViewRound: before.maxViewRound,
    });
    expect(node.health().problems.join()).toContain('the consensus WAL lost records: not signing until past');
    await node.stop();
    node = undefined;
    // That start counted its recovery in the fence (a batch a later torn tail could lose too),
    // and signed nothing more.
    const recovered = (await fenceOf(h)) as SignFence;
    expect(recovered).toEqual({ ...after, seq: after.seq + 1 });

    // Reset again (that start made a chain store and a WAL): the fence stays as it is. Then
    // nothing is left to drop: exit 0, nothing asked.
    const again = await cli([resetWith({ isTTY: false }).cmd], ['reset', '--home', h, '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^reset .*: removed\n {2}data\/chain +\S+ \S+\n {2}data\/wal /);
    expect(again.stdout).toContain(`sign fence kept: this validator signed up to height ${before.maxHeight}`);
    expect(await fenceOf(h)).toEqual(recovered);
    const idle = resetWith({ isTTY: true });
    const nothing = await cli([idle.cmd], ['reset', '--home', h]);
    expect(nothing.code, nothing.stderr).toBe(0);
    expect(nothing.stdout).toContain('nothing to reset');
    expect(idle.asked).toEqual([]);
  });

  it('refuses the only validator of a chain once it has signed, and a directory that is not a home; --help says what is kept', async () => {
    const lone = await singleValidatorTestnet({ chainId: 'config-reset-lone', accounts: 0 });
    const h = lone.nodes[0]?.home as string;
    node = await startSingleNode(lone);
    const started = node;
    await waitFor('a block', () => started.chain.height >= 1);
    await node.stop();
    node = undefined;
    const r = await cli([resetWith({ isTTY: false }).cmd], ['reset', '--home', h, '--yes', '--json']);
    expect(r.code).toBe(2);
    const refusal = json<{ ok: boolean; code: string; error: string }>(r);
    expect(refusal).toMatchObject({ ok: false, code: 'ONLY_VALIDATOR' });
    expect(refusal.error).toContain('verity init --home');
    expect(existsSync(homePaths(h).chainDb) && existsSync(homePaths(h).walDb)).toBe(true);
    await rm(join(h, '..'), { recursive: true, force: true });

    const notHome = await cli([resetWith({ isTTY: false }).cmd], ['reset', '--home', dir, '--yes']);
    expect(notHome.code).toBe(2);
    expect(notHome.stderr).toContain('is not a node home');

    const help = await cli([resetCommand()], ['reset', '--help']);
    expect(help.code).toBe(0);
    for (const s of ['HOME/data/chain', 'HOME/data/wal', 'keys/sign-fence.{0,1}', '--yes', 'Examples:'])
      expect(help.stdout).toContain(s);
  });
});
