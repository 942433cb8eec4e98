/**
 * Key files on disk (the format lives in crypto/keyfile.ts). Written with mode 0600 and atomically
 * (temp file + rename) so a crash never leaves half a key.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { bls } from '../crypto/bls/index.ts';
import { ed25519 } from '../crypto/ed25519.ts';
import { CryptoError } from '../crypto/errors.ts';
import {
  decodeKeyFile,
  type EncodeOptions,
  encodeKeyFile,
  type KeyMaterial,
  type KeyType,
} from '../crypto/keyfile.ts';
import { derivePublicKey } from '../crypto/keys.ts';

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

export function generateKey(type: 'ed25519' | 'bls12-381'): KeyMaterial {
  if (type === 'ed25519') return { type, ...ed25519.keygen() };
  return { type, ...bls.keygen(new Uint8Array(randomBytes(32))) };
}

export async function saveKey(path: string, key: KeyMaterial, opts: EncodeOptions = {}): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(encodeKeyFile(key, opts), null, 2)}\n`, 0o600);
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

/** Reads a passphrase from the environment variable named by the user (never from argv). */
export function passphraseFromEnv(variable: string | undefined): string | undefined {
  if (variable === undefined) return undefined;
  const value = process.env[variable];
  if (value === undefined) {
    throw new CryptoError('KEYFILE_PASSPHRASE_REQUIRED', `environment variable ${variable} is not set`);
  }
  return value;
}
