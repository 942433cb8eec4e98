// Keccak-256 on WebAssembly (hash-wasm, the node's) and on @noble/hashes (the fallback) compute
// the same function: published values, every length across three sponge blocks (rate 136 bytes),
// a large input, and results that stay put when the one reused hasher runs again.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { byteKey, toHex, utf8 } from '../../crypto/bytes.ts';
import { CryptoError } from '../../crypto/errors.ts';
import { keccak256, keccak256On, keccakBackend, sha256, sha256Key } from '../../crypto/hash.ts';
import { seededBytes } from '../helpers/seeded.ts';

const wasm = keccak256On('wasm');
const noble = keccak256On('noble');

describe('keccak256 backends', () => {
  it('the process uses WebAssembly (Node 24 always has it)', () => {
    expect(keccakBackend).toBe('wasm');
  });

  it('published values: Keccak-256 of "" and "abc", not FIPS-202 SHA3-256', () => {
    for (const f of [wasm, noble, keccak256]) {
      expect(toHex(f(new Uint8Array(0)))).toBe(
        'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
      );
      expect(toHex(f(utf8('abc')))).toBe('4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45');
    }
    expect(toHex(wasm(utf8('abc')))).not.toBe(createHash('sha3-256').update('abc').digest('hex'));
  });

  it('agree on every length from 0 to 420 bytes and on 1 MiB', () => {
    const rand = seededBytes('keccak-backends');
    for (let n = 0; n <= 420; n++) {
      const data = rand(n);
      expect(toHex(wasm(data)), `length ${n}`).toBe(toHex(noble(data)));
    }
    const big = rand(1 << 20);
    expect(toHex(wasm(big))).toBe(toHex(noble(big)));
    // A view into a larger buffer hashes only its own bytes.
    const backing = rand(300);
    expect(toHex(wasm(backing.subarray(17, 200)))).toBe(toHex(noble(backing.slice(17, 200))));
  });

  it('each result is its own array: hashing again does not change an earlier one', () => {
    const first = wasm(utf8('first'));
    const copy = toHex(first);
    wasm(utf8('second'));
    expect(toHex(first)).toBe(copy);
    expect(first.buffer.byteLength).toBe(32);
  });

  it('refuses a non-bytes input with a CryptoError on either backend', () => {
    for (const f of [wasm, noble, keccak256]) {
      expect(() => f('abc' as unknown as Uint8Array)).toThrow(CryptoError);
    }
  });
});

describe("sha256 (from node:crypto's latin1 digest)", () => {
  it('equals the Buffer digest on every length to 300 bytes, as bytes and as a key', () => {
    const rand = seededBytes('sha256 forms');
    for (let n = 0; n <= 300; n++) {
      const data = rand(n);
      const expected = createHash('sha256').update(data).digest();
      expect(sha256(data)).toEqual(new Uint8Array(expected));
      expect(sha256Key(data)).toBe(byteKey(expected));
    }
    expect(toHex(sha256(utf8('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('refuses a non-bytes input with a CryptoError', () => {
    for (const bad of ['abc', [1, 2], undefined]) expect(() => sha256Key(bad as never)).toThrow(CryptoError);
  });
});
