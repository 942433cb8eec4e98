/**
 * Key files: versioned JSON holding one key — its type, public key and secret — with the secret
 * optionally encrypted under a passphrase (scrypt → AES-256-GCM, both from node:crypto).
 *
 *   { "version": 1, "type": "ed25519", "publicKey": "<hex>",
 *     "secret": { "encoding": "plain", "secretKey": "<hex>" }
 *            | { "encoding": "scrypt-aes-256-gcm", "kdf": { "n", "r", "p", "salt" }, "iv", "ciphertext", "tag" } }
 *
 * The header (version, type, public key, extra) is the GCM associated data, so swapping the public
 * key of an encrypted file is detected. On decode the secret must re-derive the stated public key.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { fromHex, toHex } from './bytes.ts';
import { CryptoError } from './errors.ts';

export const KEYFILE_VERSION = 1;
export type KeyType = 'ed25519' | 'bls12-381' | 'bls12-381-threshold-share' | 'ecvrf-edwards25519';

export interface KeyMaterial {
  readonly type: KeyType;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
  /** Type-specific public data (e.g. a threshold share's index). */
  readonly extra?: Readonly<Record<string, string | number>>;
}

export interface KeyFileJson {
  readonly version: number;
  readonly type: KeyType;
  readonly publicKey: string;
  readonly extra?: Readonly<Record<string, string | number>>;
  readonly secret:
    | { readonly encoding: 'plain'; readonly secretKey: string }
    | {
        readonly encoding: 'scrypt-aes-256-gcm';
        readonly kdf: { readonly n: number; readonly r: number; readonly p: number; readonly salt: string };
        readonly iv: string;
        readonly ciphertext: string;
        readonly tag: string;
      };
}

export interface EncodeOptions {
  readonly passphrase?: string;
  /** scrypt cost parameter N (power of two). Default 2^15 (~100 ms); tests lower it. */
  readonly scryptN?: number;
}

/** Derives the public key of a secret so a decoded file can be checked; injected per key type. */
export type PublicKeyDeriver = (type: KeyType, secretKey: Uint8Array) => Uint8Array;

const KEY_TYPES: readonly KeyType[] = [
  'ed25519',
  'bls12-381',
  'bls12-381-threshold-share',
  'ecvrf-edwards25519',
];
const MAX_SCRYPT_N = 2 ** 20;

function aad(header: Omit<KeyFileJson, 'secret'>): Buffer {
  return Buffer.from(
    JSON.stringify([header.version, header.type, header.publicKey, header.extra ?? null]),
    'utf8',
  );
}

function deriveKey(passphrase: string, salt: Uint8Array, n: number, r: number, p: number): Buffer {
  return scryptSync(passphrase, salt, 32, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
}

function badArgument(reason: string): CryptoError {
  return new CryptoError('INVALID_ARGUMENT', `encodeKeyFile: ${reason}`);
}

/** Checks the caller's arguments (typed INVALID_ARGUMENT / INVALID_LENGTH errors, never a TypeError). */
function checkEncodeArgs(key: unknown, opts: unknown): asserts key is KeyMaterial {
  if (typeof key !== 'object' || key === null) throw badArgument('key must be an object');
  const k = key as Record<string, unknown>;
  if (typeof k.type !== 'string' || !KEY_TYPES.includes(k.type as KeyType)) {
    throw badArgument(`unknown key type ${JSON.stringify(String(k.type))}`);
  }
  if (!(k.publicKey instanceof Uint8Array) || !(k.secretKey instanceof Uint8Array)) {
    throw new CryptoError('INVALID_LENGTH', 'encodeKeyFile: publicKey and secretKey must be Uint8Arrays');
  }
  if (k.extra !== undefined) {
    if (typeof k.extra !== 'object' || k.extra === null || Array.isArray(k.extra)) {
      throw badArgument('extra must be an object');
    }
    for (const [name, v] of Object.entries(k.extra)) {
      if (typeof v !== 'string' && typeof v !== 'number')
        throw badArgument(`extra.${name} must be a string or number`);
    }
  }
  if (typeof opts !== 'object' || opts === null) throw badArgument('options must be an object');
  const o = opts as Record<string, unknown>;
  if (o.passphrase !== undefined && typeof o.passphrase !== 'string')
    throw badArgument('passphrase must be a string');
  if (o.scryptN !== undefined) {
    const n = o.scryptN;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n > MAX_SCRYPT_N || (n & (n - 1)) !== 0) {
      throw badArgument(`scryptN must be a power of two in [2, ${MAX_SCRYPT_N}]`);
    }
  }
}

/**
 * Encodes a key (plain, or encrypted when `opts.passphrase` is set). Wrong-type arguments →
 * CryptoError INVALID_ARGUMENT (INVALID_LENGTH for non-bytes keys).
 */
export function encodeKeyFile(key: KeyMaterial, opts: EncodeOptions = {}): KeyFileJson {
  checkEncodeArgs(key, opts);
  const header = {
    version: KEYFILE_VERSION,
    type: key.type,
    publicKey: toHex(key.publicKey),
    ...(key.extra === undefined ? {} : { extra: key.extra }),
  };
  if (opts.passphrase === undefined) {
    return { ...header, secret: { encoding: 'plain', secretKey: toHex(key.secretKey) } };
  }
  const n = opts.scryptN ?? 2 ** 15;
  const r = 8;
  const p = 1;
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(opts.passphrase, salt, n, r, p), iv);
  cipher.setAAD(aad(header));
  const ciphertext = Buffer.concat([cipher.update(key.secretKey), cipher.final()]);
  return {
    ...header,
    secret: {
      encoding: 'scrypt-aes-256-gcm',
      kdf: { n, r, p, salt: salt.toString('hex') },
      iv: iv.toString('hex'),
      ciphertext: ciphertext.toString('hex'),
      tag: cipher.getAuthTag().toString('hex'),
    },
  };
}

function malformed(reason: string): CryptoError {
  return new CryptoError('KEYFILE_MALFORMED', `malformed key file: ${reason}`);
}

function hexField(obj: Record<string, unknown>, field: string): Uint8Array {
  const v = obj[field];
  if (typeof v !== 'string') throw malformed(`"${field}" must be a hex string`);
  try {
    return fromHex(v);
  } catch {
    throw malformed(`"${field}" is not valid hex`);
  }
}

export function isEncryptedKeyFile(json: unknown): boolean {
  return (
    typeof json === 'object' &&
    json !== null &&
    (json as { secret?: { encoding?: unknown } }).secret?.encoding === 'scrypt-aes-256-gcm'
  );
}

/**
 * Parses and checks a key file. `derive` recomputes the public key from the secret; a mismatch
 * (corruption, or a file edited by hand) is an error, not a silently wrong identity.
 */
export function decodeKeyFile(json: unknown, derive: PublicKeyDeriver, passphrase?: string): KeyMaterial {
  if (typeof derive !== 'function') {
    throw new CryptoError('INVALID_ARGUMENT', 'decodeKeyFile: derive must be a function');
  }
  if (passphrase !== undefined && typeof passphrase !== 'string') {
    throw new CryptoError('INVALID_ARGUMENT', 'decodeKeyFile: passphrase must be a string');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw malformed('not a JSON object');
  const obj = json as Record<string, unknown>;
  if (obj.version !== KEYFILE_VERSION) {
    throw new CryptoError(
      'KEYFILE_UNSUPPORTED_VERSION',
      `unsupported key file version ${String(obj.version)}; this build reads version ${KEYFILE_VERSION}`,
    );
  }
  if (typeof obj.type !== 'string' || !KEY_TYPES.includes(obj.type as KeyType)) {
    throw malformed(`unknown key type ${JSON.stringify(obj.type)}`);
  }
  const type = obj.type as KeyType;
  const publicKey = hexField(obj, 'publicKey');
  let extra: Record<string, string | number> | undefined;
  if (obj.extra !== undefined) {
    if (typeof obj.extra !== 'object' || obj.extra === null || Array.isArray(obj.extra)) {
      throw malformed('"extra" must be an object');
    }
    extra = {};
    for (const [k, v] of Object.entries(obj.extra)) {
      if (typeof v !== 'string' && typeof v !== 'number')
        throw malformed(`"extra.${k}" must be a string or number`);
      extra[k] = v;
    }
  }
  const secret = obj.secret;
  if (typeof secret !== 'object' || secret === null) throw malformed('missing "secret"');
  const s = secret as Record<string, unknown>;
  let secretKey: Uint8Array;
  if (s.encoding === 'plain') {
    secretKey = hexField(s, 'secretKey');
  } else if (s.encoding === 'scrypt-aes-256-gcm') {
    if (passphrase === undefined) {
      throw new CryptoError(
        'KEYFILE_PASSPHRASE_REQUIRED',
        'this key file is encrypted: supply its passphrase (e.g. --passphrase-env VAR)',
      );
    }
    const kdf = s.kdf as Record<string, unknown> | undefined;
    if (typeof kdf !== 'object' || kdf === null) throw malformed('missing "secret.kdf"');
    const { n, r, p } = kdf as { n: unknown; r: unknown; p: unknown };
    if (
      typeof n !== 'number' ||
      typeof r !== 'number' ||
      typeof p !== 'number' ||
      !Number.isInteger(n) ||
      n < 2 ||
      n > MAX_SCRYPT_N ||
      (n & (n - 1)) !== 0 ||
      r !== 8 ||
      p < 1 ||
      p > 4
    ) {
      throw malformed('scrypt parameters out of range');
    }
    const salt = hexField(kdf, 'salt');
    const iv = hexField(s, 'iv');
    const ciphertext = hexField(s, 'ciphertext');
    const tag = hexField(s, 'tag');
    if (iv.length !== 12 || tag.length !== 16 || ciphertext.length > 1024) {
      throw malformed('bad iv, tag or ciphertext length');
    }
    const header = {
      version: KEYFILE_VERSION,
      type,
      publicKey: toHex(publicKey),
      ...(extra === undefined ? {} : { extra }),
    };
    try {
      const decipher = createDecipheriv('aes-256-gcm', deriveKey(passphrase, salt, n, r, p), iv);
      decipher.setAAD(aad(header));
      decipher.setAuthTag(tag);
      secretKey = new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
    } catch {
      throw new CryptoError(
        'KEYFILE_BAD_PASSPHRASE',
        'cannot decrypt the key file: wrong passphrase (or the file was modified)',
      );
    }
  } else {
    throw malformed(`unknown secret encoding ${JSON.stringify(s.encoding)}`);
  }
  let derived: Uint8Array;
  try {
    derived = derive(type, secretKey);
  } catch (e) {
    throw malformed(`secret key is not a valid ${type} key (${(e as Error).message})`);
  }
  if (toHex(derived) !== toHex(publicKey)) throw malformed('secret key does not match the public key');
  return { type, publicKey, secretKey, ...(extra === undefined ? {} : { extra }) };
}
