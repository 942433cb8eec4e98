/**
 * The explorer's browser build gives the node's answers: crypto/ed25519.ts and crypto/hash.ts,
 * bundled with the browser shims exactly as explorer/build.ts does (node:crypto → @noble), are
 * differentially tested against the same modules on node:crypto / OpenSSL — including the
 * cases where plain @noble verification (cofactored) would accept more (test/unit/ed25519.test.ts,
 * "the known split") — and the Buffer shim against Node's Buffer.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { ed25519 as noble } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatBytes } from '../../crypto/bytes.ts';
import * as nodeEd from '../../crypto/ed25519.ts';
import * as nodeHash from '../../crypto/hash.ts';
import { browserBuildOptions } from '../../explorer/build.ts';
import { seededBytes } from '../helpers/seeded.ts';

type Ed = typeof nodeEd;
type Hash = typeof nodeHash;

let dir: string;
let browser: { ed: Ed; hash: Hash; Buffer: typeof Buffer };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verity-explorer-shims-'));
  const entry = join(dir, 'entry.ts');
  const root = join(import.meta.dirname, '../..');
  await writeFile(
    entry,
    [
      `export * as ed from ${JSON.stringify(join(root, 'crypto/ed25519.ts'))};`,
      `export * as hash from ${JSON.stringify(join(root, 'crypto/hash.ts'))};`,
      `export { Buffer } from ${JSON.stringify(join(root, 'explorer/shims/buffer.ts'))};`,
    ].join('\n'),
  );
  const out = join(dir, 'bundle.mjs');
  const r = await build({ ...browserBuildOptions(entry), outfile: out, metafile: true });
  // The browser modules really replaced node:crypto.
  const inputs = Object.keys(r.metafile.inputs);
  expect(inputs.some((p) => p.endsWith('explorer/shims/node-crypto.ts'))).toBe(true);
  browser = await import(pathToFileURL(out).href);
  expect(browser.Buffer).not.toBe(globalThis.Buffer);
});

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const Point = noble.Point;

function challenge(R: Uint8Array, A: Uint8Array, msg: Uint8Array): bigint {
  return bytesToNumberLE(nodeHash.sha512(concatBytes(R, A, msg))) % L;
}
function sigOf(R: EdwardsPoint, s: bigint): Uint8Array {
  return concatBytes(R.toBytes(), numberToBytesLE(((s % L) + L) % L, 32));
}

/** The browser verdict equals the node's, for every case given. */
function agree(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean {
  const ours = nodeEd.verify(sig, msg, pk);
  expect(browser.ed.verify(sig, msg, pk)).toBe(ours);
  return ours;
}

describe('browser build of crypto/ (explorer/shims) vs the node build', () => {
  const rand = seededBytes('explorer-shims');

  it('hashes agree (SHA-256, SHA-512, Keccak-256)', () => {
    for (let i = 0; i < 50; i++) {
      const data = rand(i * 13);
      expect(browser.hash.sha256(data)).toEqual(nodeHash.sha256(data));
      expect(browser.hash.sha512(data)).toEqual(nodeHash.sha512(data));
      expect(browser.hash.keccak256(data)).toEqual(nodeHash.keccak256(data));
    }
  });

  it('ed25519 keys and signatures are identical and verify in both', () => {
    for (let i = 0; i < 30; i++) {
      const seed = rand(32);
      const msg = rand(i * 5);
      expect(browser.ed.keygen(seed).publicKey).toEqual(nodeEd.keygen(seed).publicKey);
      const sig = browser.ed.sign(msg, seed);
      expect(sig).toEqual(nodeEd.sign(msg, seed));
      expect(agree(sig, msg, nodeEd.keygen(seed).publicKey)).toBe(true);
    }
  });

  it('ed25519 verdicts agree on every single-bit corruption and on garbage', () => {
    const seed = rand(32);
    const msg = rand(40);
    const { publicKey } = nodeEd.keygen(seed);
    const sig = nodeEd.sign(msg, seed);
    for (let bit = 0; bit < 512; bit++) {
      const bad = sig.slice();
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(agree(bad, msg, publicKey)).toBe(false);
    }
    for (let bit = 0; bit < 256; bit++) {
      const badPk = publicKey.slice();
      badPk[bit >> 3] = (badPk[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(agree(sig, msg, badPk)).toBe(false);
    }
    for (let i = 0; i < 100; i++) agree(rand(64), rand(16), rand(32));
  });

  // Where cofactored verification (noble's own verify) would say yes and the node says no.
  const { scalar: a, point: A } = noble.utils.getExtendedPublicKey(rand(32));
  const aBytes = A.toBytes();
  const T8 = (() => {
    for (;;) {
      try {
        const p = Point.fromBytes(rand(32));
        const t = p.multiplyUnsafe(L - 1n).add(p);
        if (!t.multiplyUnsafe(4n).is0()) return t;
      } catch {
        // not a point; draw again
      }
    }
  })();

  it('mixed-order key A + T: accepted exactly when 8 | k, as on the node (cofactorless)', () => {
    const mixed = A.add(T8).toBytes();
    const seen = new Set<boolean>();
    for (let i = 0; i < 48; i++) {
      const msg = rand(20);
      const r = bytesToNumberLE(rand(64)) % L;
      const R = Point.BASE.multiply(r);
      const k = challenge(R.toBytes(), mixed, msg);
      const verdict = agree(sigOf(R, r + k * a), msg, mixed);
      expect(verdict).toBe(k % 8n === 0n);
      seen.add(verdict);
    }
    expect(seen.size).toBe(2);
  });

  it('mixed-order R and small-order R: rejected, as on the node', () => {
    const msg = rand(12);
    const r = bytesToNumberLE(rand(64)) % L;
    const R = Point.BASE.multiply(r).add(T8);
    expect(agree(sigOf(R, r + challenge(R.toBytes(), aBytes, msg) * a), msg, aBytes)).toBe(false);
    const Z = Point.ZERO;
    expect(agree(sigOf(Z, challenge(Z.toBytes(), aBytes, msg) * a), msg, aBytes)).toBe(false);
    for (let j = 1; j < 8; j++) {
      const T = T8.multiplyUnsafe(BigInt(j));
      expect(agree(sigOf(T, challenge(T.toBytes(), aBytes, msg) * a), msg, aBytes)).toBe(false);
      expect(agree(sigOf(Point.BASE, 1n), new Uint8Array(0), T.toBytes())).toBe(false);
    }
  });
});

describe('Buffer shim vs Node Buffer', () => {
  it('hex, latin1 and UTF-8 conversions match', () => {
    const B = browser.Buffer;
    const rand = seededBytes('explorer-buffer');
    for (let i = 0; i < 50; i++) {
      const bytes = rand(i * 3);
      const hex = Buffer.from(bytes).toString('hex');
      expect(B.from(bytes).toString('hex')).toBe(hex);
      expect(new Uint8Array(B.from(hex, 'hex'))).toEqual(new Uint8Array(Buffer.from(hex, 'hex')));
      expect(B.from(bytes).toString('latin1')).toBe(Buffer.from(bytes).toString('latin1'));
      expect(B.from(bytes).toString('utf8')).toBe(Buffer.from(bytes).toString('utf8'));
      const latin = Buffer.from(bytes).toString('latin1');
      expect(new Uint8Array(B.from(latin, 'latin1'))).toEqual(bytes);
    }
    for (const s of ['', 'héllo', '\u{1f600}', '\ud800x']) {
      expect(B.byteLength(s, 'utf8')).toBe(Buffer.byteLength(s, 'utf8'));
      expect(new Uint8Array(B.from(s))).toEqual(new Uint8Array(Buffer.from(s)));
    }
    expect(new Uint8Array(B.from('abzz', 'hex'))).toEqual(new Uint8Array(Buffer.from('abzz', 'hex')));
    expect(B.from([1, 2]).equals(Uint8Array.from([1, 2]))).toBe(true);
  });
});
