/**
 * Account addresses: the first 20 bytes of SHA-256 over a domain tag and the ed25519 public key.
 * Text form is Bech32m (BIP-350) with the human-readable part "verity": a checksum that detects
 * any error in up to 4 characters, and a visible prefix that cannot be mistaken for another chain.
 */
import { bech32m } from '@scure/base';
import { byteKey, concatBytes, utf8 } from '../crypto/bytes.ts';
import { VerityError } from '../crypto/errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { LruCache } from '../crypto/lru.ts';

export const ADDRESS_LENGTH = 20;
export const ADDRESS_HRP = 'verity';
const DOMAIN = utf8('verity-address-v1');

export class AddressError extends VerityError<'INVALID_ADDRESS'> {}

export function addressFromPublicKey(publicKey: Uint8Array): Uint8Array {
  return sha256(concatBytes(DOMAIN, publicKey)).subarray(0, ADDRESS_LENGTH);
}

/**
 * Text forms of recent addresses, by their bytes: the Bech32m checksum costs about 2 µs an address,
 * and the same few senders and recipients recur in every block the RPC renders (a block's JSON
 * names each transaction's from and to).
 */
const formatted = new LruCache<string>(8192);

export function formatAddress(address: Uint8Array): string {
  if (address.length !== ADDRESS_LENGTH) {
    throw new AddressError('INVALID_ADDRESS', `address must be ${ADDRESS_LENGTH} bytes`);
  }
  return formatted.getOrMake(byteKey(address), () => bech32m.encode(ADDRESS_HRP, bech32m.toWords(address)));
}

/** Parses the text form; a wrong prefix, a bad checksum or mixed case is an error. */
export function parseAddress(text: string): Uint8Array {
  if (typeof text !== 'string' || text.length > 90) {
    throw new AddressError('INVALID_ADDRESS', 'address must be a string of at most 90 characters');
  }
  let decoded: { prefix: string; words: number[] };
  try {
    decoded = bech32m.decode(text as `${string}1${string}`);
  } catch (e) {
    throw new AddressError(
      'INVALID_ADDRESS',
      `invalid address ${JSON.stringify(text)}: ${(e as Error).message}`,
    );
  }
  if (decoded.prefix !== ADDRESS_HRP) {
    throw new AddressError(
      'INVALID_ADDRESS',
      `address prefix must be "${ADDRESS_HRP}", got "${decoded.prefix}"`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = bech32m.fromWords(decoded.words);
  } catch (e) {
    throw new AddressError('INVALID_ADDRESS', `invalid address payload: ${(e as Error).message}`);
  }
  if (bytes.length !== ADDRESS_LENGTH) {
    throw new AddressError(
      'INVALID_ADDRESS',
      `address must encode ${ADDRESS_LENGTH} bytes, got ${bytes.length}`,
    );
  }
  return bytes;
}
