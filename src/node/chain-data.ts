/**
 * Dropping a home's consensus WAL without letting its validator sign anything twice: what
 * `verity reset` (cli/commands/reset.ts) and `verity snapshot restore` (cli/commands/snapshot.ts)
 * share. Both replace the chain a home holds — reset with nothing (the node syncs again), restore
 * with a snapshot's — and the WAL refers to the chain being replaced (the engine's votes, locks and
 * log entries, and the slot-by-slot double-sign guard), so it goes too.
 *
 * What must stay is the sign fence keys/sign-fence.{0,1}: the validator's record of the highest
 * slots it ever signed, beside the key (sign-fence.ts). Before the WAL goes the fence is sealed, so
 * that it alone holds what the WAL knew about signing (see sealSignFence); a node that then starts
 * with no WAL beside a fence that counted signing refuses every slot up to the fence until its
 * chain has moved past them (signing-guard.ts). Neither command ever writes the fence back to an
 * older value or removes it. In the dropped WAL's place goes a new one holding only a mark of the
 * fence it was dropped at, so that start says "after `verity reset`" at warning level instead of
 * reporting a lost WAL as an error (the refusal is the same).
 *
 * The one case neither can help: a home holding the only validator of its chain once it has signed.
 * No peer holds its blocks to sync back from, and the fence keeps it from signing those heights
 * again, so a chain reset (or restored to below what it signed) could never grow (loneValidator).
 *
 * Modules that touch LevelDB or parse genesis are loaded inside the functions, so that the command
 * table (cli/main.ts), which imports reset.ts, does not load them.
 */
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex, toHex } from '../../crypto/bytes.ts';
import { StorageError } from '../../ledger/kv.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import { silentLogger } from '../runtime/ports.ts';
import type { SignFence } from '../runtime/sign-fence.ts';
import type { HomePaths } from './home.ts';
import { nodeRunningError, posixLockHolder } from './home-lock.ts';

/** The sign fence's file store (it loads LevelDB's error mapping: not with the command table). */
export async function fenceStore(paths: HomePaths) {
  const { FileSignFence } = await import('../storage/sign-fence-file.ts');
  return new FileSignFence(paths.signFence);
}

/** Bytes a file or directory tree takes (what reset and restore say they replace). */
export async function diskSize(path: string): Promise<number> {
  const st = await lstat(path);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of await readdir(path)) total += await diskSize(join(path, name));
  return total;
}

/** The public key a key file names (read from its header: no passphrase needed). */
async function publicKeyOf(path: string): Promise<Uint8Array | undefined> {
  try {
    const json = JSON.parse(await readFile(path, 'utf8')) as { publicKey?: unknown };
    return typeof json.publicKey === 'string' ? fromHex(json.publicKey) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The refusal for a home whose validator is its chain's only one and has signed: undefined if the
 * home is not that (or its genesis cannot be read: then no node can start in it anyway). `action`
 * names what would be done to its chain ("a reset chain", "a restored chain").
 */
export async function loneValidator(
  paths: HomePaths,
  fence: SignFence | undefined,
  action: string,
): Promise<string | undefined> {
  const signed = (fence !== undefined && fence.seq > 0) || existsSync(paths.walDb);
  if (!signed) return undefined;
  let validators: ValidatorSet;
  let chainId: string;
  try {
    const { parseGenesis } = await import('../../ledger/genesis.ts');
    const g = parseGenesis(JSON.parse(await readFile(paths.genesis, 'utf8')));
    validators = g.validators;
    chainId = g.chainId;
  } catch {
    return undefined;
  }
  const key = await publicKeyOf(paths.ed25519Key);
  const only = validators.at(0);
  if (validators.size !== 1 || key === undefined || only === undefined) return undefined;
  if (toHex(only.publicKey) !== toHex(key)) return undefined;
  return [
    `${paths.home} holds the only validator of chain "${chainId}": its blocks exist nowhere else to sync`,
    `back from, and its sign fence${fence === undefined ? '' : ` (signed up to height ${fence.maxHeight})`} keeps it from signing those heights again, so ${action}`,
    `could never grow. To start a new chain instead: verity init --home ${paths.home} --force (new keys and genesis)`,
  ].join('\n');
}

/**
 * Makes the sign fence alone hold what the consensus WAL knows about signing, before the WAL goes
 * (see the module comment). Returns the fence as it stays (undefined: this key never signed).
 * A WAL or fence too damaged to tell what was signed is a StorageError: nothing is removed then.
 *
 * The signing guard is loaded from the WAL once, as a start would (a fence missing or behind the
 * WAL is rebuilt from it), and the fence is raised to any bound the WAL kept from an earlier loss.
 * (A start that finds no WAL beside a fence that counted signing treats it as lost: signing-guard.ts.)
 */
export async function sealSignFence(paths: HomePaths): Promise<SignFence | undefined> {
  const [store, { LevelKvStore }, { SigningGuard }, { CheckedWal }] = await Promise.all([
    fenceStore(paths),
    import('../storage/level-kv.ts'),
    import('../runtime/signing-guard.ts'),
    import('../runtime/wal-records.ts'),
  ]);
  try {
    let bound: { upToHeight: number; upToViewRound: number } | undefined;
    if (existsSync(paths.walDb)) {
      let kv: Awaited<ReturnType<typeof LevelKvStore.open>>;
      try {
        kv = await LevelKvStore.open(paths.walDb, { sync: true });
      } catch (e) {
        if (e instanceof StorageError && e.code === 'STORAGE_LOCKED')
          throw nodeRunningError(paths.home, posixLockHolder(join(paths.walDb, 'LOCK')));
        throw e;
      }
      try {
        const wal = new CheckedWal(kv);
        await wal.open();
        const guard = new SigningGuard({ wal, fence: store, logger: silentLogger });
        // As a start would: a fence missing or behind the WAL is rebuilt from it (written to the
        // store); a WAL behind the fence, or a bound kept from an earlier loss, is a bound.
        await guard.load(0);
        bound = guard.refusing();
      } finally {
        await kv.close();
      }
    }
    const { fence, damaged } = await store.load();
    if (fence === undefined) {
      if (damaged > 0)
        throw new StorageError(
          'STORAGE_CORRUPT',
          `both copies of the sign fence (${store.where}) are damaged, so nothing would tell what this validator signed; see \`verity config check --home ${paths.home}\``,
          { path: store.where },
        );
      return undefined;
    }
    const sealed: SignFence = {
      seq: fence.seq,
      maxHeight: Math.max(fence.maxHeight, bound?.upToHeight ?? 0),
      maxViewRound: Math.max(fence.maxViewRound, bound?.upToViewRound ?? 0),
      chainHeight: fence.chainHeight,
    };
    const raised = sealed.maxHeight > fence.maxHeight || sealed.maxViewRound > fence.maxViewRound;
    if (raised) {
      // Into the other copy (seq + 1): a torn write leaves the current one intact.
      const next = { ...sealed, seq: fence.seq + 1 };
      await store.write(next);
      return next;
    }
    return fence;
  } finally {
    await store.close();
  }
}

/**
 * Seals the sign fence (when the home has a validator key), then removes `dirs` (the WAL among
 * them, when it exists). Returns the fence as it stays (undefined: no key, or it never signed). A fence that
 * cannot be sealed throws before anything is removed.
 */
export async function removeAfterSealing(
  paths: HomePaths,
  dirs: readonly string[],
): Promise<SignFence | undefined> {
  const fence = existsSync(paths.ed25519Key) ? await sealSignFence(paths) : undefined;
  for (const p of dirs) await rm(p, { recursive: true, force: true });
  if (fence !== undefined && fence.seq > 0 && dirs.includes(paths.walDb)) await beginMarkedWal(paths, fence);
  return fence;
}

/** Whether the home's WAL is one beginMarkedWal left and nothing has used since (nothing to drop). */
export async function walOnlyMarked(paths: HomePaths): Promise<boolean> {
  if (!existsSync(paths.walDb)) return false;
  const [{ LevelKvStore }, { walHoldsOnlyResetMark }] = await Promise.all([
    import('../storage/level-kv.ts'),
    import('../runtime/signing-guard.ts'),
  ]);
  const kv = await LevelKvStore.open(paths.walDb, { sync: true });
  try {
    return await walHoldsOnlyResetMark(kv);
  } finally {
    await kv.close();
  }
}

/**
 * A new WAL saying it was begun on purpose, at this fence: the first start then recovers from the
 * fence with a warning, not the error a lost WAL is (signing-guard.ts markWalReset). It refuses
 * exactly the same slots either way; a command cut short before this leaves the error, which errs
 * on the loud side.
 */
async function beginMarkedWal(paths: HomePaths, fence: SignFence): Promise<void> {
  const [{ LevelKvStore }, { CheckedWal }, { markWalReset }] = await Promise.all([
    import('../storage/level-kv.ts'),
    import('../runtime/wal-records.ts'),
    import('../runtime/signing-guard.ts'),
  ]);
  const kv = await LevelKvStore.open(paths.walDb, { sync: true });
  try {
    const wal = new CheckedWal(kv);
    await wal.open();
    await markWalReset(wal, fence);
  } finally {
    await kv.close();
  }
}
