/**
 * `verity snapshot save --home DIR --out FILE` and `verity snapshot restore FILE --home DIR`: a
 * stopped node's chain store as one checked file, and back (src/node/snapshot-file.ts has the format
 * and every check). Restore is `verity reset` with a chain put back instead of nothing: it keeps
 * config, genesis, keys and the sign fence, drops the consensus WAL the way reset does, and refuses
 * what reset refuses (a running node, no confirmation, the only validator of its chain).
 */
import { basename, resolve } from 'node:path';
import { VerityError } from '../../crypto/errors.ts';
import {
  type Command,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  forceOption,
  type Output,
  required,
  UsageError,
} from '../framework.ts';
import { type ResetIo, terminalIo } from './reset.ts';

function humanSize(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * A refusal that touched nothing — a node running in the home, or a code the snapshot module marks
 * `refusal` — is the message alone, exit 2, as `verity reset` and `verity start` print it.
 */
function refusal(e: unknown, out: Output): number | undefined {
  if (!(e instanceof VerityError) || (e.code !== 'NODE_RUNNING' && e.meta.refusal !== true)) return undefined;
  if (out.json) process.stdout.write(`${JSON.stringify({ ok: false, code: e.code, error: e.message })}\n`);
  else process.stderr.write(`error: ${e.message}\n`);
  return EXIT_USAGE;
}

export const snapshotSave: Command = {
  name: 'snapshot save',
  summary: "write a stopped node's chain data (blocks, state, log) to one checked snapshot file",
  synopsis: '--home DIR --out FILE [--force]',
  description: [
    'Copies HOME/data/chain (the LevelDB store of blocks, certificates, indexes, state trie and',
    'logs) into FILE: a header (format version, chain id, genesis hash, head height, head block',
    'hash and state root, when it was made, and every file with its size and SHA-256), the files,',
    "and a SHA-256 of the whole. It is written to FILE.tmp, fsynced, then renamed. The chain store's",
    'own integrity checks run first: a damaged chain is not saved (exit 1).',
    '',
    'Not saved: keys/ (the node and validator keys and the sign fence), config.toml, genesis.json',
    'and HOME/data/wal (the consensus WAL). A snapshot holds only what any node of the chain could',
    'give back; restore it with `verity snapshot restore FILE --home DIR`.',
    '',
    'Refused, with nothing written (exit 2): a node running in the home (stop it first: the files',
    'of a running store are not a consistent copy), a home without chain data, or FILE existing',
    '(--force replaces it).',
  ].join('\n'),
  options: {
    home: { type: 'string', valueName: 'DIR', description: 'node home directory (its node stopped)' },
    out: { type: 'string', valueName: 'FILE', description: 'the snapshot file to write' },
    ...forceOption,
  },
  examples: [
    'verity snapshot save --home .verity/testnet/node2 --out node2-backup.snap',
    'verity snapshot save --home /srv/verity --out /backup/verity-$(date +%F).snap --json',
  ],
  async run({ values, out }) {
    const home = resolve(required(values, 'home'));
    const file = required(values, 'out');
    const { saveSnapshot } = await import('../../src/node/snapshot-file.ts');
    try {
      const r = await saveSnapshot({
        home,
        out: file,
        createdAt: new Date().toISOString(),
        force: values.force === true,
      });
      out.result(r, () =>
        [
          `saved ${r.file}: chain "${r.chainId}" at height ${r.height}, ${r.files} files, ${humanSize(r.bytes)}`,
          `  head        ${r.headHash}`,
          `  state root  ${r.stateRoot}`,
          `restore it with: verity snapshot restore ${r.file} --home DIR`,
        ].join('\n'),
      );
      return EXIT_OK;
    } catch (e) {
      const code = refusal(e, out);
      if (code !== undefined) return code;
      throw e;
    }
  },
};

export function snapshotRestoreCommand(io: () => ResetIo = terminalIo): Command {
  return {
    name: 'snapshot restore',
    summary: "replace a stopped node's chain data by a snapshot's; keeps keys, config and the sign fence",
    synopsis: 'FILE --home DIR [--yes]',
    positionals: ['FILE'],
    description: [
      'Checks FILE completely before touching the home: its format and size limits, every path',
      '(relative, plain names under the chain directory), every SHA-256 and the whole file, and that',
      "it is of the home's chain (genesis hash). It is then extracted into a new directory inside",
      "HOME/data and that chain store opened: its head must be the header's (height and hash), and",
      "on a chain without staking the head's commit certificate must verify against genesis.",
      'Only then are HOME/data/wal (the consensus WAL, which refers to the chain being replaced)',
      'removed and HOME/data/chain swapped for the new store, in one rename.',
      '',
      'As with `verity reset`, the sign fence (keys/sign-fence.{0,1}) is kept on purpose, never rolled',
      'back: before the WAL goes, what it knows about signing is folded into the fence. Restored to an',
      'older height, the node refuses to sign at or below the heights it signed before until it has',
      'synced past them from its peers, so a restore cannot make it sign one height twice.',
      '',
      'On a terminal it asks you to type the home directory name (a wrong answer changes nothing,',
      'exit 1); otherwise --yes is required.',
      'Refused, with nothing touched (exit 2): a node running in the home, no confirmation, or a home',
      'holding the only validator of its chain once it has signed (no peer could give it the blocks',
      'it signed after the snapshot, and the fence keeps it from signing them again). A damaged',
      'snapshot, one of another chain, or one whose store does not hold what it says: exit 1, the',
      'home untouched.',
    ].join('\n'),
    options: {
      home: { type: 'string', valueName: 'DIR', description: 'node home directory (its node stopped)' },
      yes: {
        type: 'boolean',
        short: 'y',
        description: 'do not ask for confirmation (required without a terminal)',
      },
    },
    examples: [
      'verity snapshot restore node2-backup.snap --home .verity/testnet/node2   # asks, then restores',
      'verity snapshot restore /backup/verity.snap --home /srv/verity --yes --json',
    ],
    async run({ values, positionals, out }) {
      const home = resolve(required(values, 'home'));
      const file = positionals[0] as string;
      const yes = values.yes === true;
      const terminal = io();
      if (!yes && !terminal.isTTY)
        throw new UsageError(
          `not restoring into ${home} without confirmation: standard input is not a terminal, so pass --yes`,
        );
      const { restoreSnapshot } = await import('../../src/node/snapshot-file.ts');
      try {
        const r = await restoreSnapshot({
          home,
          file,
          confirm: async (plan) => {
            if (yes) return true;
            const h = plan.header;
            process.stderr.write(
              [
                `verity snapshot restore will put the chain of ${plan.file} into ${home}:`,
                `  chain "${h.chainId}" at height ${h.height} (head ${h.headHash.slice(0, 16)}…, saved ${h.createdAt})`,
                ...(plan.replaced.length === 0
                  ? []
                  : ['replacing:', ...plan.replaced.map((x) => `  ${x.path} (${humanSize(x.bytes)})`)]),
                'and keep its config, genesis and keys, with the sign fence (what its key signed).',
                '',
              ].join('\n'),
            );
            const answer = await terminal.ask(
              `Type the home directory's name (${basename(home)}) to confirm: `,
            );
            return answer.trim() === basename(home);
          },
        });
        if (r === undefined) {
          process.stderr.write('not confirmed: nothing was changed\n');
          return EXIT_FAILED;
        }
        out.result(r, () => {
          const lines = [
            `restored ${r.home} from ${r.file}: chain "${r.chainId}" at height ${r.height} (saved ${r.createdAt})`,
            `  head        ${r.headHash}${r.headCertified ? ' (its commit certificate verified)' : ''}`,
            `  state root  ${r.stateRoot}`,
          ];
          if (r.replaced.length > 0)
            lines.push(`replaced: ${r.replaced.map((x) => `${x.path} (${humanSize(x.bytes)})`).join(', ')}`);
          if (r.signFence !== null)
            lines.push(
              `sign fence kept: this validator signed up to height ${r.signFence.maxHeight}${r.signFence.maxViewRound > 0 ? ` (view ${r.signFence.maxViewRound})` : ''}; it signs nothing at or below that again, and`,
              '  signs once its chain has synced past it from its peers (until then /health reports it)',
            );
          lines.push(`start it again with: verity start --home ${r.home}`);
          return lines.join('\n');
        });
        return EXIT_OK;
      } catch (e) {
        const code = refusal(e, out);
        if (code !== undefined) return code;
        if (e instanceof VerityError && e.code === 'STORAGE_CORRUPT')
          throw new VerityError(e.code, `${e.message}. Nothing was restored.`, e.meta);
        throw e;
      }
    },
  };
}

export const snapshotRestore: Command = snapshotRestoreCommand();
