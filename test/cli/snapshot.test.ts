// `verity snapshot save` and `verity snapshot restore`, run through the CLI framework in this
// process (each spawned CLI costs seconds on a small machine), plus one refusal through the real
// binary. The homes come from createTestnet: a two-validator Tendermint chain whose nodes run in
// this process (LevelDB, real timers) on one in-process network and commit real blocks; a second,
// single-validator chain with the same chain id is "another chain". Every refusal checks the home
// it was pointed at file by file afterwards.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init } from '../../cli/commands/node.ts';
import { snapshotRestoreCommand, snapshotSave } from '../../cli/commands/snapshot.ts';
import type { Command } from '../../cli/framework.ts';
import { COMMANDS } from '../../cli/main.ts';
import { fromUtf8, toHex, utf8 } from '../../crypto/bytes.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { parseGenesis } from '../../ledger/genesis.ts';
import { StagedKvStore } from '../../ledger/kv.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import { walOnlyMarked } from '../../src/node/chain-data.ts';
import { defaultConfig } from '../../src/node/config.ts';
import { homePaths } from '../../src/node/home.ts';
import { VerityNode } from '../../src/node/node.ts';
import {
  encodeSnapshotPrefix,
  SNAPSHOT_PREFIX_BYTES,
  type SnapshotHeader,
  type SnapshotRestored,
  type SnapshotSaved,
} from '../../src/node/snapshot-file.ts';
import { createTestnet, type TestnetManifest } from '../../src/node/testnet.ts';
import { RpcClient } from '../../src/rpc/client.ts';
import { silentLogger } from '../../src/runtime/ports.ts';
import type { SignFence } from '../../src/runtime/sign-fence.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../../src/schemes.ts';
import { LevelKvStore } from '../../src/storage/level-kv.ts';
import { FileSignFence } from '../../src/storage/sign-fence-file.ts';
import { runVerity } from '../helpers/cli.ts';
import { runInProcess as cli, jsonOf as json, scriptedTerminal } from '../helpers/cli-inprocess.ts';
import { InProcessHub } from '../helpers/inprocess-network.ts';
import { singleValidatorTestnet, startSingleNode } from '../helpers/single-node.ts';

const CHAIN_ID = 'snapshot-test';

/** A restore command whose terminal answers `answers` in turn (or that has no terminal). */
function restoreWith(io: { isTTY: boolean; answers?: string[] }): { cmd: Command; asked: string[] } {
  const t = scriptedTerminal(io);
  return { cmd: snapshotRestoreCommand(() => t.io), asked: t.asked };
}

const save = (home: string, out: string, ...more: string[]) =>
  cli([snapshotSave], ['snapshot', 'save', '--home', home, '--out', out, ...more]);
const restore = (file: string, home: string, ...more: string[]) =>
  cli([restoreWith({ isTTY: false }).cmd], ['snapshot', 'restore', file, '--home', home, ...more]);

async function fenceOf(home: string): Promise<SignFence | undefined> {
  const store = new FileSignFence(homePaths(home).signFence);
  try {
    return (await store.load()).fence;
  } finally {
    await store.close();
  }
}

async function waitFor(what: string, f: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every file under `dir` (relative path → SHA-256), directories included (→ 'dir'). */
async function treeOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const rel = p.slice(dir.length + 1);
      if ((await lstat(p)).isDirectory()) {
        out[rel] = 'dir';
        await walk(p);
      } else
        out[rel] = createHash('sha256')
          .update(await readFile(p))
          .digest('hex');
    }
  };
  await walk(dir);
  return out;
}

/** A home's chain head, height and a record, read from its store (LevelDB compacts: not before treeOf). */
async function headOf(home: string, record?: string) {
  const paths = homePaths(home);
  const genesis = parseGenesis(JSON.parse(await readFile(paths.genesis, 'utf8')));
  const kv = await LevelKvStore.open(paths.chainDb);
  try {
    const chain = await ChainStore.open(new StagedKvStore(kv), genesis, { schemes: ALL_CERTIFICATE_SCHEMES });
    const value =
      record === undefined ? undefined : (await (await chain.stateAt()).getRecord(utf8(record)))?.value;
    return {
      height: chain.height,
      headHash: toHex(chain.headHash),
      stateRoot: toHex(chain.head.stateRoot),
      record: value === undefined ? undefined : fromUtf8(value),
    };
  } finally {
    await kv.close();
  }
}

/** The parts of a snapshot file (format 1), to tamper with it. */
async function readSnapshot(file: string): Promise<{ header: SnapshotHeader; data: Uint8Array[] }> {
  const bytes = await readFile(file);
  const n = bytes.readUInt32BE(12);
  const header = JSON.parse(
    bytes.subarray(SNAPSHOT_PREFIX_BYTES, SNAPSHOT_PREFIX_BYTES + n).toString(),
  ) as SnapshotHeader;
  let at = SNAPSHOT_PREFIX_BYTES + n;
  const data = header.files.map((f) => {
    const d = bytes.subarray(at, at + f.size);
    at += f.size;
    return d;
  });
  return { header, data };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A snapshot file with every checksum right (each file's and the whole file's) for what it holds. */
async function writeSnapshot(
  file: string,
  header: Omit<SnapshotHeader, 'files'>,
  files: ReadonlyArray<{ path: string; data: Uint8Array }>,
): Promise<void> {
  const full: SnapshotHeader = {
    ...header,
    files: files.map((f) => ({ path: f.path, size: f.data.length, sha256: sha256(f.data) })),
  };
  const body = Buffer.concat([encodeSnapshotPrefix(full), ...files.map((f) => f.data)]);
  await writeFile(file, Buffer.concat([body, createHash('sha256').update(body).digest()]));
}

let dir: string;
let net: TestnetManifest;
let running: VerityNode[] = [];

/** Starts the testnet's nodes `which` in this process, on one in-process network. */
async function start(m: TestnetManifest, which: number[]): Promise<VerityNode[]> {
  const hub = new InProcessHub();
  for (const i of which) {
    const config = defaultConfig(`node${i}`);
    config.rpc.listen = '127.0.0.1:0';
    running.push(
      await VerityNode.start({
        home: m.nodes[i]?.home as string,
        config,
        logger: silentLogger,
        network: hub.factory(),
      }),
    );
  }
  return running.slice(-which.length);
}

async function stopAll(): Promise<void> {
  const nodes = running;
  running = [];
  for (const n of nodes) await n.stop();
}

/** Commits a record `key = value` put by account 0 with `nonce`, through node `n`'s RPC. */
async function put(n: VerityNode, nonce: number, key: string, value: string): Promise<void> {
  const k = await loadKey(net.accounts[0]?.keyFile as string);
  const op = { type: 'put', key: utf8(key), value: utf8(value) } as const;
  const etx = signTransaction({ chainId: CHAIN_ID, sender: k.publicKey, nonce, op }, k.secretKey);
  expect((await new RpcClient(n.rpcUrl).submitTx(toHex(etx.bytes), 'commit')).receipt).toEqual({ ok: true });
}

const home = (i: number) => net.nodes[i]?.home as string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verity-snapshot-'));
  net = await createTestnet({
    dir: join(dir, 'net'),
    validators: 2,
    engine: 'tendermint',
    engineParams: { timeoutProposeMs: 200, emptyBlockIntervalMs: 100 },
    accounts: 1,
    basePort: 32_500,
    chainId: CHAIN_ID,
  });
});

afterAll(async () => {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
});

/** Saved once (test 1) and tampered with by the tests after it. */
let saved: { file: string; head: Awaited<ReturnType<typeof headOf>> };

describe('verity snapshot save / restore', () => {
  it('saves a stopped home with committed blocks (refused while it runs), restores it after the chain moved on: head, state root and state come back, the fence does not go back, the WAL goes', async () => {
    const h = home(1);
    const paths = homePaths(h);
    const file = join(dir, 'node1.snap');
    const [n0, n1] = await start(net, [0, 1]);
    await put(n0 as VerityNode, 0, 'greeting', 'hello');
    const committed = (n0 as VerityNode).chain.height;
    await waitFor('node1 to commit the put', () => (n1 as VerityNode).chain.height >= committed);

    // While the node runs: refused, nothing written.
    const busy = await save(h, file, '--json');
    expect(busy.code).toBe(2);
    expect(json<{ ok: boolean; code: string }>(busy)).toMatchObject({ ok: false, code: 'NODE_RUNNING' });
    expect(existsSync(file) || existsSync(`${file}.tmp`)).toBe(false);
    await stopAll();

    const head = await headOf(h, 'greeting');
    expect(head.record).toBe('hello');
    const r = await save(h, file, '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = json<SnapshotSaved>(r);
    expect(s).toMatchObject({
      ok: true,
      file,
      chainId: CHAIN_ID,
      height: head.height,
      headHash: head.headHash,
      stateRoot: head.stateRoot,
    });
    expect(s.bytes).toBe(readFileSync(file).length);
    expect(existsSync(`${file}.tmp`)).toBe(false);
    // Only the chain store: no key, fence, config or WAL file, and not LevelDB's lock.
    const { header } = await readSnapshot(file);
    expect(header.files.length).toBe(s.files);
    expect(header.files.map((f) => f.path)).toContain('CURRENT');
    expect(header.files.some((f) => /LOCK|sign-fence|json|toml/.test(f.path))).toBe(false);
    // A second save to the same file needs --force; the human output names height and head.
    const again = await save(h, file);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    const human = await save(h, file, '--force');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`chain "${CHAIN_ID}" at height ${head.height}`);
    expect(human.stdout).toContain(head.headHash);
    saved = { file, head };

    // The chain moves on: the record changes, node1 signs well past the snapshot.
    const fenceAtSave = (await fenceOf(h)) as SignFence;
    const [m0, m1] = await start(net, [0, 1]);
    await put(m0 as VerityNode, 1, 'greeting', 'changed');
    await waitFor('node1 to move on', () => (m1 as VerityNode).chain.height >= head.height + 3);
    // While the node runs, restore is refused too.
    const busyRestore = await restore(file, h, '--yes', '--json');
    expect(busyRestore.code).toBe(2);
    expect(json<{ code: string }>(busyRestore).code).toBe('NODE_RUNNING');
    await stopAll();
    const moved = await headOf(h, 'greeting');
    expect(moved.record).toBe('changed');
    const signed = (await fenceOf(h)) as SignFence;
    expect(signed.maxHeight).toBeGreaterThan(fenceAtSave.maxHeight);
    expect(signed.maxHeight).toBeGreaterThan(head.height);
    const keep = [paths.config, paths.genesis, paths.ed25519Key, paths.blsKey].map((p) => readFileSync(p));

    // On a terminal, a wrong name changes nothing (exit 1).
    const before = await treeOf(h);
    const wrong = restoreWith({ isTTY: true, answers: ['node0'] });
    const declined = await cli([wrong.cmd], ['snapshot', 'restore', file, '--home', h]);
    expect(declined.code).toBe(1);
    expect(wrong.asked).toEqual([`Type the home directory's name (${basename(h)}) to confirm: `]);
    expect(declined.stderr).toContain(`at height ${head.height}`);
    expect(declined.stderr).toContain('nothing was changed');
    expect(await treeOf(h)).toEqual(before);

    const right = restoreWith({ isTTY: true, answers: [basename(h)] });
    const done = await cli([right.cmd], ['snapshot', 'restore', file, '--home', h, '--json']);
    expect(done.code, done.stderr).toBe(0);
    const result = json<SnapshotRestored>(done);
    expect(result).toMatchObject({
      ok: true,
      chainId: CHAIN_ID,
      height: head.height,
      headHash: head.headHash,
      stateRoot: head.stateRoot,
      headCertified: true,
      signFence: { maxHeight: signed.maxHeight, maxViewRound: signed.maxViewRound },
    });
    expect(result.replaced.map((x) => x.path)).toEqual(['data/chain', 'data/wal']);
    // The WAL is gone (a new one holds only the mark that says so on purpose), no staging
    // directory is left, keys and config are as they were.
    expect(await walOnlyMarked(paths)).toBe(true);
    expect((await readdir(join(h, 'data'))).sort()).toEqual(['chain', 'wal']);
    expect(existsSync(paths.pidFile)).toBe(false);
    expect([paths.config, paths.genesis, paths.ed25519Key, paths.blsKey].map((p) => readFileSync(p))).toEqual(
      keep,
    );
    // The fence is where it was — not back at what it was when the snapshot was saved.
    const after = (await fenceOf(h)) as SignFence;
    expect(after.maxHeight).toBe(signed.maxHeight);
    expect(after.maxViewRound).toBe(signed.maxViewRound);
    expect(after.seq).toBeGreaterThanOrEqual(signed.seq);

    // The node starts on the restored chain — and will not sign what it signed after the snapshot.
    const [back] = await start(net, [1]);
    expect((back as VerityNode).chain.height).toBe(head.height);
    expect(toHex((back as VerityNode).chain.headHash)).toBe(head.headHash);
    expect((back as VerityNode).runtime.signingFence()).toEqual({
      upToHeight: signed.maxHeight,
      upToViewRound: signed.maxViewRound,
    });
    await stopAll();
    expect(await headOf(h, 'greeting')).toEqual(head);
  });

  it('restores into a new full node of the chain (`verity init --genesis`): it starts at the snapshot head with its state', async () => {
    const fresh = join(dir, 'full');
    const made = await cli([init], ['init', '--home', fresh, '--genesis', net.genesis]);
    expect(made.code, made.stderr).toBe(0);
    const r = await restore(saved.file, fresh, '--yes');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `restored ${fresh} from ${saved.file}: chain "${CHAIN_ID}" at height ${saved.head.height}`,
    );
    expect(r.stdout).not.toContain('sign fence kept');
    expect(await headOf(fresh, 'greeting')).toEqual(saved.head);
    const config = defaultConfig('full');
    config.rpc.listen = '127.0.0.1:0';
    const node = await VerityNode.start({
      home: fresh,
      config,
      logger: silentLogger,
      network: new InProcessHub().factory(),
    });
    try {
      expect(node.chain.height).toBe(saved.head.height);
      expect(toHex(node.chain.head.stateRoot)).toBe(saved.head.stateRoot);
    } finally {
      await node.stop();
    }
  });

  it('a damaged snapshot is refused (exit 1) with the home untouched: a flipped byte, its checksum redone, a changed header, a truncation', async () => {
    const h = home(1);
    const before = await treeOf(h);
    const { header } = await readSnapshot(saved.file);
    const bytes = await readFile(saved.file);
    const n = bytes.readUInt32BE(12);
    const biggest = header.files.reduce((a, f, i) => (f.size > (header.files[a]?.size ?? 0) ? i : a), 0);
    const target = header.files[biggest] as SnapshotHeader['files'][number];
    let offset = SNAPSHOT_PREFIX_BYTES + n;
    for (let i = 0; i < biggest; i++) offset += header.files[i]?.size ?? 0;
    const cases: Array<{ name: string; file: Uint8Array; code: string; says: string }> = [];

    // One byte in the middle of the largest file; the whole-file checksum left as it was.
    const flipped = Buffer.from(bytes);
    const at = offset + Math.floor(target.size / 2);
    flipped[at] = (flipped[at] as number) ^ 0x01;
    cases.push({ name: 'flipped', file: flipped, code: 'SNAPSHOT_CORRUPT', says: target.path });
    // The same byte, and the whole-file checksum recomputed: the file's own SHA-256 catches it.
    const body = flipped.subarray(0, flipped.length - 32);
    const redone = Buffer.concat([body, createHash('sha256').update(body).digest()]);
    cases.push({ name: 'redone', file: redone, code: 'SNAPSHOT_CORRUPT', says: target.path });
    // The header's height changed (same length): only the whole-file checksum sees it…
    const digits = String(header.height);
    const otherHeight = String((Number(digits[0]) % 9) + 1) + digits.slice(1);
    const lied = Buffer.from(
      bytes.toString('latin1').replace(`"height":${digits},`, `"height":${otherHeight},`),
      'latin1',
    );
    expect(lied.equals(bytes)).toBe(false);
    cases.push({ name: 'header', file: lied, code: 'SNAPSHOT_CORRUPT', says: 'SHA-256 of the whole file' });
    // …and with that checksum redone too, the restored store's head is not the header's.
    const liedBody = lied.subarray(0, lied.length - 32);
    const liedRedone = Buffer.concat([liedBody, createHash('sha256').update(liedBody).digest()]);
    cases.push({
      name: 'header-redone',
      file: liedRedone,
      code: 'SNAPSHOT_INVALID',
      says: 'not what its header says',
    });
    cases.push({
      name: 'truncated',
      file: bytes.subarray(0, bytes.length - 100),
      code: 'SNAPSHOT_CORRUPT',
      says: 'truncated',
    });
    cases.push({
      name: 'not-a-snapshot',
      file: utf8('{"hello": 1}'.padEnd(100)),
      code: 'SNAPSHOT_FORMAT',
      says: 'not a Verity snapshot',
    });

    for (const c of cases) {
      const file = join(dir, `${c.name}.snap`);
      await writeFile(file, c.file);
      const r = await restore(file, h, '--yes', '--json');
      expect(r.code, `${c.name}: ${r.stdout}${r.stderr}`).toBe(1);
      const e = json<{ ok: boolean; code: string; error: string }>(r);
      expect(e.code, c.name).toBe(c.code);
      expect(e.error, c.name).toContain(c.says);
      expect(await treeOf(h), c.name).toEqual(before);
    }
    const missing = await restore(join(dir, 'nowhere.snap'), h, '--yes');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read the snapshot');
  });

  it('file paths that leave the chain directory are refused before anything is written', async () => {
    const h = home(1);
    const before = await treeOf(h);
    const { header, data } = await readSnapshot(saved.file);
    const real = header.files.map((f, i) => ({ path: f.path, data: data[i] as Uint8Array }));
    const { files: _files, ...rest } = header;
    for (const path of [
      '../evil',
      '../../evil',
      'x/../../evil',
      '/tmp/evil',
      '..',
      './evil',
      '.evil',
      'a\\..\\evil',
      'CURRENT/evil',
    ]) {
      const file = join(dir, 'traversal.snap');
      // Every checksum right: only the path is wrong.
      await writeSnapshot(file, rest, [...real, { path, data: utf8('pwned') }]);
      const r = await restore(file, h, '--yes', '--json');
      expect(r.code, `${path}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(json<{ code: string }>(r).code, path).toBe('SNAPSHOT_BAD_PATH');
      expect(await treeOf(h), path).toEqual(before);
      expect(
        existsSync(join(h, 'data', 'evil')) || existsSync(join(h, 'evil')) || existsSync('/tmp/evil'),
      ).toBe(false);
    }
    // A path twice is refused too; the same files under their own names restore (the control).
    await writeSnapshot(join(dir, 'twice.snap'), rest, [
      ...real,
      real[0] as { path: string; data: Uint8Array },
    ]);
    const twice = await restore(join(dir, 'twice.snap'), h, '--yes', '--json');
    expect(json<{ code: string }>(twice).code).toBe('SNAPSHOT_BAD_PATH');
    await writeSnapshot(join(dir, 'control.snap'), rest, real);
    const control = await restore(join(dir, 'control.snap'), h, '--yes');
    expect(control.code, control.stderr).toBe(0);
  });

  it('a snapshot of another chain (even one with the same chain id) is refused, and so is the only validator of a chain', async () => {
    const other = await singleValidatorTestnet({ chainId: CHAIN_ID, accounts: 0 });
    const lone = other.nodes[0]?.home as string;
    const node = await startSingleNode(other);
    await waitFor('a block', () => node.chain.height >= 2);
    await node.stop();
    const file = join(dir, 'other.snap');
    expect((await save(lone, file)).code).toBe(0);

    const h = home(1);
    const before = await treeOf(h);
    const r = await restore(file, h, '--yes', '--json');
    expect(r.code).toBe(1);
    const e = json<{ code: string; error: string }>(r);
    expect(e.code).toBe('SNAPSHOT_OTHER_CHAIN');
    expect(e.error).toContain('another chain named');
    expect(await treeOf(h)).toEqual(before);

    // Its own snapshot back into the lone validator's home: refused (exit 2), nothing touched.
    const loneBefore = await treeOf(lone);
    const refused = await restore(file, lone, '--yes', '--json');
    expect(refused.code).toBe(2);
    const why = json<{ code: string; error: string }>(refused);
    expect(why.code).toBe('ONLY_VALIDATOR');
    expect(why.error).toContain('a restored chain');
    expect(await treeOf(lone)).toEqual(loneBefore);
    await rm(join(lone, '..'), { recursive: true, force: true });
  });

  it('is in the command table with its help; the real binary refuses a restore without --yes off a terminal', async () => {
    const root = await cli(COMMANDS, ['--help']);
    expect(root.stdout).toContain('snapshot save');
    expect(root.stdout).toContain('snapshot restore');
    const saveHelp = await cli([snapshotSave], ['snapshot', 'save', '--help']);
    for (const s of ['HOME/data/chain', 'SHA-256', 'keys/', 'data/wal', '--force', 'Examples:'])
      expect(saveHelp.stdout).toContain(s);
    const restoreHelp = await cli([snapshotRestoreCommand()], ['snapshot', 'restore', '--help']);
    for (const s of ['keys/sign-fence.{0,1}', 'HOME/data/wal', '--yes', 'only validator', 'Examples:'])
      expect(restoreHelp.stdout).toContain(s);
    const h = home(1);
    const before = await treeOf(h);
    const r = await runVerity(['snapshot', 'restore', saved.file, '--home', h]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass --yes');
    expect(await treeOf(h)).toEqual(before);
    expect((await cli([snapshotSave], ['snapshot', 'save', '--home', h])).code).toBe(2);
  });
});
