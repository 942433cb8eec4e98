/**
 * Key files on disk (the format lives in crypto/keyfile.ts). Written with mode 0600 and atomically
 * (temp file + rename) so a crash never leaves half a key — and by default never over an existing
 * file: a key silently replaced is an identity, or the funds it controls, lost for good.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { bls } from '../crypto/bls/index.ts';
import { ed25519 } from '../crypto/ed25519.ts';
import { CryptoError, VerityError } from '../crypto/errors.ts';
import {
  decodeKeyFile,
  type EncodeOptions,
  encodeKeyFile,
  type KeyMaterial,
  type KeyType,
} from '../crypto/keyfile.ts';
import { derivePublicKey } from '../crypto/keys.ts';

/**
 * A write refused because the file exists. `meta.usage` marks it as the caller's choice to fix
 * (the CLI exits 2 and suggests --force); `meta.path` names the file.
 */
export class FileExistsError extends VerityError<'FILE_EXISTS'> {}

export function fileExists(path: string): FileExistsError {
  return new FileExistsError('FILE_EXISTS', `${path} already exists (refusing to overwrite it)`, {
    path,
    usage: true,
  });
}

export interface WriteOptions {
  /** Fail with FileExistsError instead of replacing an existing file (atomic: no race window). */
  readonly exclusive?: boolean;
}

/**
 * Writes via a temp file in the same directory, then renames it into place — or, with
 * `exclusive`, hard-links it into place, which fails atomically if `path` exists.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
  opts: WriteOptions = {},
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data, { mode });
  if (!opts.exclusive) {
    await rename(tmp, path);
    return;
  }
  try {
    await link(tmp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      await unlink(tmp).catch(() => {});
      throw fileExists(path);
    }
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') {
      await unlink(tmp).catch(() => {});
      throw e;
    }
    // No hard links on this filesystem: exclusive create, then the data (not crash-atomic).
    await unlink(tmp).catch(() => {});
    try {
      await writeFile(path, data, { mode, flag: 'wx' });
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') throw fileExists(path);
      throw e2;
    }
    return;
  }
  await unlink(tmp);
}

export function generateKey(type: 'ed25519' | 'bls12-381'): KeyMaterial {
  if (type === 'ed25519') return { type, ...ed25519.keygen() };
  return { type, ...bls.keygen(new Uint8Array(randomBytes(32))) };
}

export interface SaveKeyOptions extends EncodeOptions {
  /** Replace an existing file. Default false: an existing file is a FileExistsError. */
  readonly overwrite?: boolean;
}

export async function saveKey(path: string, key: KeyMaterial, opts: SaveKeyOptions = {}): Promise<void> {
  const { overwrite, ...encode } = opts;
  await writeFileAtomic(path, `${JSON.stringify(encodeKeyFile(key, encode), null, 2)}\n`, 0o600, {
    exclusive: overwrite !== true,
  });
}

export async function loadKey(
  path: string,
  opts: { passphrase?: string; expect?: KeyType } = {},
): Promise<KeyMaterial> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CryptoError(
      'KEYFILE_MALFORMED',
      `cannot read key file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CryptoError('KEYFILE_MALFORMED', `key file ${path} is not valid JSON`);
  }
  const key = decodeKeyFile(json, derivePublicKey, opts.passphrase);
  if (opts.expect !== undefined && key.type !== opts.expect) {
    throw new CryptoError(
      'KEYFILE_MALFORMED',
      `key file ${path} holds a ${key.type} key, expected ${opts.expect}`,
    );
  }
  return key;
}

/**
 * Reads a passphrase from the environment variable named by the user (never from argv). An unset
 * variable is the invocation's mistake: the error carries `meta.usage` (the CLI exits 2).
 */
export function passphraseFromEnv(variable: string | undefined): string | undefined {
  if (variable === undefined) return undefined;
  const value = process.env[variable];
  if (value === undefined) {
    throw new CryptoError('KEYFILE_PASSPHRASE_REQUIRED', `environment variable ${variable} is not set`, {
      variable,
      usage: true,
    });
  }
  return value;
}
