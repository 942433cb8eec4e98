/**
 * Hash functions. SHA-2 goes through node:crypto (OpenSSL, hardware-accelerated). OpenSSL as
 * bundled with Node does not expose Ethereum's Keccak-256 (pre-NIST padding), so that one runs on
 * hash-wasm's WebAssembly build (7–10× @noble/hashes here on trie-node sizes, npm run bench:crypto;
 * the state trie hashes every node it stores, loads and addresses), or on @noble/hashes where
 * WebAssembly cannot start. Both compute the same function: test/unit/hash.test.ts compares them
 * across the sponge's block boundaries, and the Ethereum trie vectors pass on either.
 */
import { hash as nodeHash } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { createKeccak, type IHasher } from 'hash-wasm';
import { bytesFromKey } from './bytes.ts';
import { CryptoError } from './errors.ts';

/** Bytes only: node:crypto would silently hash a string's UTF-8, noble throws a raw TypeError. */
function input(data: unknown, fn: string): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array))
    throw new CryptoError('INVALID_LENGTH', `${fn}: data must be a Uint8Array`);
}

function view(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * SHA-256 as one character per byte: the digest's `byteKey`, for maps keyed by hash. Also the
 * cheapest form node:crypto returns: a 'buffer' digest allocates an ArrayBuffer outside V8's heap
 * per call, most of a small input's cost (65 bytes: about 0.9 µs, against 0.3 µs as this string
 * and 0.4 µs as bytes made from it; `npm run bench:crypto`).
 */
export function sha256Key(data: Uint8Array): string {
  input(data, 'sha256');
  return nodeHash('sha256', data, 'binary');
}

export function sha256(data: Uint8Array): Uint8Array {
  return bytesFromKey(sha256Key(data));
}

export function sha512(data: Uint8Array): Uint8Array {
  input(data, 'sha512');
  return view(nodeHash('sha512', data, 'buffer'));
}

export type KeccakBackendName = 'wasm' | 'noble';

// One hasher for the thread, reused: each call runs init → update → digest with no yield between,
// and digest('binary') returns a fresh array (not a view of the WebAssembly memory).
const wasmKeccak: IHasher | undefined = await createKeccak(256).catch(() => undefined);

/** The Keccak-256 in use in this process: WebAssembly when it started, else noble. */
export const keccakBackend: KeccakBackendName = wasmKeccak === undefined ? 'noble' : 'wasm';

const keccakOn: Record<KeccakBackendName, ((data: Uint8Array) => Uint8Array) | undefined> = {
  noble: keccak_256,
  wasm:
    wasmKeccak === undefined
      ? undefined
      : (data) => {
          wasmKeccak.init();
          wasmKeccak.update(data);
          return wasmKeccak.digest('binary');
        },
};

/**
 * Keccak-256 on the named backend, whatever the process uses (tests and benchmarks compare them);
 * 'wasm' throws CryptoError KECCAK_BACKEND_UNAVAILABLE where WebAssembly did not start.
 */
export function keccak256On(backend: KeccakBackendName): (data: Uint8Array) => Uint8Array {
  const f = keccakOn[backend];
  if (f === undefined)
    throw new CryptoError('KECCAK_BACKEND_UNAVAILABLE', `the ${backend} Keccak-256 did not start here`);
  return (data) => {
    input(data, 'keccak256');
    return f(data);
  };
}

const keccakChosen = keccakOn[keccakBackend] as (data: Uint8Array) => Uint8Array;

/** Ethereum Keccak-256 (original Keccak padding 0x01), not FIPS-202 SHA3-256. */
export function keccak256(data: Uint8Array): Uint8Array {
  input(data, 'keccak256');
  return keccakChosen(data);
}
