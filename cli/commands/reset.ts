/**
 * `verity reset --home DIR`: drops a node's chain data so that it syncs the chain again from its
 * peers, keeping its identity, its configuration and — above all — the record of what its
 * validator key has signed.
 *
 * Dropped: HOME/data/chain (blocks, certificates, state, log: all of it can be fetched again from
 * peers) and HOME/data/wal (the consensus WAL: the engine's votes, locks and log entries, and the
 * slot-by-slot double-sign guard, which refer to the chain being dropped). For a validator that
 * has signed, a new WAL takes the old one's place holding only a mark of the reset, so that the
 * next start reports the recovery from the fence as a warning, not as a lost WAL (chain-data.ts).
 *
 * Kept: config.toml, genesis.json, keys/ — the validator key, the BLS key or share, and the sign
 * fence keys/sign-fence.{0,1} — and anything else in the home (accounts/, node.log).
 *
 * Why the fence must stay: it is the validator's record of the highest slots it ever signed, kept
 * beside the key precisely so that wiping HOME/data cannot make it sign twice (sign-fence.ts). A
 * node that starts with a WAL behind its fence refuses every slot up to the fence until the chain,
 * synced from its peers, has moved past them; only then does it sign again. Before the WAL goes,
 * the fence is sealed so that this holds in every case: the signing guard is loaded from the WAL
 * once, as a start would (a fence missing or behind the WAL is rebuilt from it), and the fence is
 * raised to any bound the WAL kept from an earlier loss. (A start that finds no WAL beside a fence
 * that counted signing treats it as lost: signing-guard.ts.) That sealing, and the refusal of a lone
 * validator below, are shared with `verity snapshot restore` (src/node/chain-data.ts).
 *
 * Refused (exit 2, nothing touched): a node running in the home (its HomeLock, or LevelDB's lock),
 * no confirmation (not a terminal and no --yes), and a home holding the only validator of its chain
 * once it has signed: there are no peers to sync its blocks back from, and the fence keeps it from
 * signing those heights again, so the chain could never grow (start a new one with `verity init
 * --force`). Not a way to restart a chain either: reset every validator of a chain and none of them
 * signs the heights it signed before.
 */
import { existsSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { VerityError } from '../../crypto/errors.ts';
import { StorageError } from '../../ledger/kv.ts';
import {
  diskSize,
  fenceStore,
  loneValidator,
  removeAfterSealing,
  walOnlyMarked,
} from '../../src/node/chain-data.ts';
import { NodeRunningError } from '../../src/node/errors.ts';
import { type HomePaths, homePaths } from '../../src/node/home.ts';
import { HomeLock, nodeRunningError, posixLockHolder } from '../../src/node/home-lock.ts';
import {
  type Command,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  type Output,
  required,
  UsageError,
} from '../framework.ts';

/** How the command talks to its user: a terminal it may ask, or not. */
export interface ResetIo {
  readonly isTTY: boolean;
  /** Asks on the terminal; '' when the user gives up (Ctrl-C, Ctrl-D). */
  ask(question: string): Promise<string>;
}

function askOnTerminal(question: string): Promise<string> {
  return new Promise((resolveAnswer) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    let done = false;
    const finish = (answer: string) => {
      if (done) return;
      done = true;
      rl.close();
      resolveAnswer(answer);
    };
    rl.on('SIGINT', () => {
      process.stderr.write('\n');
      finish('');
    });
    rl.on('close', () => finish(''));
    rl.question(question, finish);
  });
}

export const terminalIo = (): ResetIo => ({ isTTY: process.stdin.isTTY === true, ask: askOnTerminal });

/** The directories a reset removes: everything the node can get back from its peers. */
export function chainDataDirs(paths: HomePaths): string[] {
  return [paths.chainDb, paths.walDb];
}

function humanSize(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** What stays in the home: every entry but the chain data and the pid file (keys/ file by file). */
async function keptEntries(paths: HomePaths): Promise<string[]> {
  const dropped = new Set([...chainDataDirs(paths), paths.pidFile]);
  const out: string[] = [];
  const walk = async (dir: string, expand: ReadonlySet<string>) => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name);
      if (dropped.has(p)) continue;
      if (expand.has(p) && (await lstat(p)).isDirectory()) await walk(p, expand);
      else out.push(relative(paths.home, p));
    }
  };
  await walk(paths.home, new Set([paths.keys, join(paths.home, 'data')]));
  return out;
}

export interface ResetResult {
  readonly ok: true;
  readonly home: string;
  readonly removed: ReadonlyArray<{ readonly path: string; readonly bytes: number }>;
  readonly kept: readonly string[];
  /** What this validator signed, which it will not sign again (null: nothing, or no validator key). */
  readonly signFence: { readonly maxHeight: number; readonly maxViewRound: number } | null;
}

function describe(r: ResetResult): string {
  if (r.removed.length === 0) return `nothing to reset in ${r.home}: it holds no chain data`;
  const width = Math.max(...r.removed.map((x) => x.path.length));
  const lines = [
    `reset ${r.home}: removed`,
    ...r.removed.map((x) => `  ${x.path.padEnd(width)}  ${humanSize(x.bytes)}`),
    `kept: ${r.kept.join(', ')}`,
  ];
  if (r.signFence !== null)
    lines.push(
      `sign fence kept: this validator signed up to height ${r.signFence.maxHeight}${r.signFence.maxViewRound > 0 ? ` (view ${r.signFence.maxViewRound})` : ''}; it signs nothing at or below that again, and`,
      '  signs once it has synced past it from its peers (until then /health reports it)',
    );
  lines.push(`start it again with: verity start --home ${r.home}`);
  return lines.join('\n');
}

/** A refusal that touched nothing: the message alone (no usage text), exit 2 — as `verity start`. */
function refused(out: Output, code: string, message: string): number {
  if (out.json) process.stdout.write(`${JSON.stringify({ ok: false, code, error: message })}\n`);
  else process.stderr.write(`error: ${message}\n`);
  return EXIT_USAGE;
}

async function runReset(home: string, yes: boolean, io: ResetIo, out: Output): Promise<number> {
  const paths = homePaths(home);
  if (!existsSync(paths.config)) throw new UsageError(`${home} is not a node home (it has no config.toml)`);
  if (!yes && !io.isTTY)
    throw new UsageError(
      `not resetting ${home} without confirmation: standard input is not a terminal, so pass --yes`,
    );
  // Held until the end: no node starts in the home while its data goes.
  const lock = HomeLock.acquire(home);
  try {
    for (const dir of chainDataDirs(paths)) {
      const pid = posixLockHolder(join(dir, 'LOCK'));
      if (pid !== undefined) throw nodeRunningError(home, pid);
    }
    let present = chainDataDirs(paths).filter((p) => existsSync(p));
    // What an earlier reset left (a WAL holding only its mark) is not chain data.
    if (present.length === 1 && present[0] === paths.walDb && (await walOnlyMarked(paths))) present = [];
    const fenceNow = existsSync(paths.ed25519Key)
      ? (await (await fenceStore(paths)).load()).fence
      : undefined;
    if (present.length > 0) {
      const lone = await loneValidator(paths, fenceNow, 'a reset chain');
      if (lone !== undefined) return refused(out, 'ONLY_VALIDATOR', lone);
    }
    const removed = await Promise.all(
      present.map(async (p) => ({ path: relative(home, p), bytes: await diskSize(p) })),
    );
    if (present.length > 0 && !yes) {
      process.stderr.write(
        [
          `verity reset will delete the chain data of ${home}:`,
          ...removed.map((r) => `  ${r.path} (${humanSize(r.bytes)})`),
          'and keep its config, genesis and keys, with the sign fence (what its key signed).',
          'The node syncs the chain again from its peers when it starts.',
          '',
        ].join('\n'),
      );
      const answer = await io.ask(`Type the home directory's name (${basename(home)}) to confirm: `);
      if (answer.trim() !== basename(home)) {
        process.stderr.write('not confirmed: nothing was removed\n');
        return EXIT_FAILED;
      }
    }
    const fence = present.length > 0 ? await removeAfterSealing(paths, present) : fenceNow;
    const result: ResetResult = {
      ok: true,
      home,
      removed,
      kept: await keptEntries(paths),
      signFence:
        fence === undefined || fence.seq === 0
          ? null
          : { maxHeight: fence.maxHeight, maxViewRound: fence.maxViewRound },
    };
    out.result(result, () => describe(result));
    return EXIT_OK;
  } finally {
    lock.release();
  }
}

export function resetCommand(io: () => ResetIo = terminalIo): Command {
  return {
    name: 'reset',
    summary:
      "delete a node's chain data to sync it again from its peers; keeps keys, config and the sign fence",
    synopsis: '--home DIR [--yes]',
    description: [
      'Removes HOME/data/chain (blocks, state, log: block sync fetches them again from peers) and',
      "HOME/data/wal (the consensus write-ahead log: this node's votes, locks and log entries for the",
      'chain being dropped), and prints what it removed. Keeps config.toml, genesis.json, keys/ (the',
      'node and validator keys) and the rest of the home (accounts/, node.log).',
      '',
      'The sign fence (keys/sign-fence.{0,1}) is kept on purpose: it records the highest heights the',
      'validator key ever signed. Started again, the node refuses to sign at or below them until it',
      'has synced past them from its peers, so a reset cannot make it sign one height twice (which',
      'peers would prove as equivocation). Before the WAL goes, what it knows about signing is',
      'folded into the fence.',
      '',
      'On a terminal it asks you to type the home directory name (a wrong answer removes nothing,',
      'exit 1); otherwise --yes is required.',
      'Refused, with nothing touched (exit 2): a node running in the home, no confirmation, or a',
      'home holding the only validator of its chain once it has signed (no peer could give its',
      'blocks back; start a new chain with `verity init --home DIR --force`). It does not restart a',
      'chain: reset every validator and none signs the heights it already signed. A WAL or fence too',
      'damaged to tell what was signed stops it too (exit 1).',
    ].join('\n'),
    options: {
      home: { type: 'string', valueName: 'DIR', description: 'node home directory' },
      yes: {
        type: 'boolean',
        short: 'y',
        description: 'do not ask for confirmation (required without a terminal)',
      },
    },
    examples: [
      'verity reset --home .verity/testnet/node2        # asks, then removes node2/data',
      'verity reset --home /srv/verity --yes --json     # scripts: no question, JSON report',
    ],
    async run({ values, out }) {
      const home = resolve(required(values, 'home'));
      try {
        return await runReset(home, values.yes === true, io(), out);
      } catch (e) {
        if (e instanceof NodeRunningError) return refused(out, e.code, e.message);
        if (e instanceof VerityError && e.code === 'STORAGE_CORRUPT')
          throw new StorageError('STORAGE_CORRUPT', `${e.message}. Nothing was removed.`, e.meta);
        throw e;
      }
    },
  };
}

export const reset: Command = resetCommand();
