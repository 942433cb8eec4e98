/**
 * Hash functions. SHA-2 goes through node:crypto (OpenSSL, hardware-accelerated); OpenSSL as
 * bundled with Node does not expose Ethereum's Keccak-256 (pre-NIST padding), so that one is
 * @noble/hashes.
 */
import { hash as nodeHash } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';

function view(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function sha256(data: Uint8Array): Uint8Array {
  return view(nodeHash('sha256', data, 'buffer'));
}

export function sha512(data: Uint8Array): Uint8Array {
  return view(nodeHash('sha512', data, 'buffer'));
}

/** Ethereum Keccak-256 (original Keccak padding 0x01), not FIPS-202 SHA3-256. */
export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}
