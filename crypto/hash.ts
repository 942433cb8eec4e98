/**
 * Hash functions. SHA-2 goes through node:crypto (OpenSSL, hardware-accelerated); OpenSSL as
 * bundled with Node does not expose Ethereum's Keccak-256 (pre-NIST padding), so that one is
 * @noble/hashes.
 */
import { hash as nodeHash } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { CryptoError } from './errors.ts';

/** Bytes only: node:crypto would silently hash a string's UTF-8, noble throws a raw TypeError. */
function input(data: unknown, fn: string): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array))
    throw new CryptoError('INVALID_LENGTH', `${fn}: data must be a Uint8Array`);
}

function view(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function sha256(data: Uint8Array): Uint8Array {
  input(data, 'sha256');
  return view(nodeHash('sha256', data, 'buffer'));
}

export function sha512(data: Uint8Array): Uint8Array {
  input(data, 'sha512');
  return view(nodeHash('sha512', data, 'buffer'));
}

/** Ethereum Keccak-256 (original Keccak padding 0x01), not FIPS-202 SHA3-256. */
export function keccak256(data: Uint8Array): Uint8Array {
  input(data, 'keccak256');
  return keccak_256(data);
}
