/**
 * npm run bench:crypto — operations/s for every primitive Verity's hot paths use, with the
 * baselines measured in the same run: ed25519 verification on libsodium vs OpenSSL (node:crypto)
 * vs @noble/curves, and through the node's verification pool at 1, 2 and every core's worker
 * threads vs on this thread (the raw rate per thread count); BLS on blst vs
 * noble, and aggregate verification against a single verification (it should cost about one
 * pairing check whatever the number of signers); Keccak-256 on WebAssembly vs @noble/hashes;
 * SHA-256's digest as a Buffer vs as a latin1 string (crypto/hash.ts); Noise's
 * frame cipher with the default's per-frame key import vs Verity's cached key; insertion into a full
 * bounded cache (crypto/lru.ts) vs one Map evicting with keys().next().
 *   --quick   shorter measurement windows (a quick look; the figures quoted come from full runs)
 */

import { hash as nodeHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import { ed25519 as nobleEd } from '@noble/curves/ed25519.js';
import { blstAvailable, createBls } from '../../crypto/bls/index.ts';
import { ed25519, ed25519Backend, sodiumAvailable, verifierFor } from '../../crypto/ed25519.ts';
import { type KeccakBackendName, keccak256On, keccakBackend, sha256, sha256Key } from '../../crypto/hash.ts';
import { LruCache } from '../../crypto/lru.ts';
import { type BatchVerifier, inThreadVerifier, type SignatureCheck } from '../../crypto/signature-batch.ts';
import { proverFor, vrf, vrfProver } from '../../crypto/vrf.ts';
import { noiseCrypto } from '../../src/net/noise-crypto.ts';
import { VerifyPool } from '../../src/runtime/verify-pool.ts';
import { seededBytes } from '../helpers/seeded.ts';
import { fmt, header, measure, table } from './harness.ts';

const quick = process.argv.includes('--quick');
const minMs = quick ? 200 : 1000;
const rand = seededBytes('bench-crypto');

header('Verity crypto benchmark');

// ed25519 ------------------------------------------------------------------------------------
{
  const msg = rand(100);
  const { secretKey, publicKey } = ed25519.keygen(rand(32));
  const sig = ed25519.sign(msg, secretKey);
  const sign = measure('sign', () => ed25519.sign(msg, secretKey), { minMs });
  const nobleSign = measure('sign', () => nobleEd.sign(msg, secretKey), { minMs });
  const nobleVerify = measure('verify', () => nobleEd.verify(sig, msg, publicKey, { zip215: false }), {
    minMs,
  });
  // Many distinct keys: OpenSSL's KeyObject cache does not help (transaction senders).
  const keys = Array.from({ length: 5000 }, () => ed25519.keygen(rand(32)));
  const sigs = keys.map((k) => ed25519.sign(msg, k.secretKey));
  // Every verification backend, same rule (prechecks included), side by side.
  const verifiers = sodiumAvailable() ? (['sodium', 'openssl'] as const) : (['openssl'] as const);
  const rows = verifiers.map((backend) => {
    const verify = verifierFor(backend);
    let i = 0;
    return {
      backend,
      hot: measure(`verify ${backend}`, () => verify(sig, msg, publicKey), { minMs }),
      cold: measure(
        `verify ${backend} (5000 keys)`,
        () => {
          const k = keys[i % keys.length] as (typeof keys)[number];
          verify(sigs[i % keys.length] as Uint8Array, msg, k.publicKey);
          i++;
        },
        { minMs },
      ),
    };
  });
  const openssl = rows.find((r) => r.backend === 'openssl') as (typeof rows)[number];
  console.log(`## ed25519 (100-byte message; verification in use: ${ed25519Backend})`);
  table([
    {
      op: 'sign (node:crypto)',
      'ops/s': fmt(sign.opsPerSec),
      '5000 keys ops/s': '',
      'noble ops/s': fmt(nobleSign.opsPerSec),
      'vs OpenSSL': '',
    },
    ...rows.map((r) => ({
      op: `verify (${r.backend === 'sodium' ? 'libsodium' : 'OpenSSL'})`,
      'ops/s': fmt(r.hot.opsPerSec),
      '5000 keys ops/s': fmt(r.cold.opsPerSec),
      'noble ops/s': fmt(nobleVerify.opsPerSec),
      'vs OpenSSL': `${fmt(r.cold.opsPerSec / openssl.cold.opsPerSec, 2)}×`,
    })),
  ]);
}

// ed25519 on worker threads -----------------------------------------------------------------
{
  // The node's verification pool (src/runtime/verify-pool.ts, `node.verify_threads`): a batch is
  // split into chunks, one per worker, each crossing to its worker as one buffer. The rate per
  // thread count, beside the same checks verified on this thread: the ceiling with every core
  // verifying (a node's `auto` leaves one core to its event loop).
  const BATCH = 256;
  const msg = rand(150); // a transfer's signed bytes are about this long
  // More keys than OpenSSL's key cache holds (4,096), as in the rows above: distinct senders.
  const keys = Array.from({ length: 20 * BATCH }, () => ed25519.keygen(rand(32)));
  const checks: SignatureCheck[] = keys.map((k) => ({
    signature: ed25519.sign(msg, k.secretKey),
    message: msg,
    publicKey: k.publicKey,
  }));
  const batches = Array.from({ length: checks.length / BATCH }, (_, b) =>
    checks.slice(b * BATCH, (b + 1) * BATCH),
  );
  // A forged signature must still be refused: a benchmark that verified nothing would be fastest.
  const forged = { ...(checks[0] as SignatureCheck), message: rand(150) };
  const allValid = (answers: boolean[]) => {
    if (!answers.every(Boolean)) throw new Error('bench:crypto: a valid signature was refused');
  };
  const rate = async (verifier: BatchVerifier, inFlight: number) => {
    if ((await verifier.verifyMany([forged]))[0] !== false)
      throw new Error('bench:crypto: a forged signature verified');
    // Warm-up: every lane (so every worker) once.
    await Promise.all(
      Array.from({ length: inFlight }, async (_, k) =>
        allValid(await verifier.verifyMany(batches[k % batches.length] as SignatureCheck[])),
      ),
    );
    let done = 0;
    let next = 0;
    const start = performance.now();
    const lane = async () => {
      while (performance.now() - start < minMs) {
        const batch = batches[next++ % batches.length] as SignatureCheck[];
        allValid(await verifier.verifyMany(batch));
        done += batch.length;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    return done / ((performance.now() - start) / 1000);
  };
  const inline = await rate(inThreadVerifier, 1);
  const cores = availableParallelism();
  const counts = [...new Set([1, 2, cores])].sort((a, b) => a - b);
  const rows: Array<Record<string, string>> = [
    { threads: '0 (this thread)', 'verifications/s': fmt(inline, 0), 'vs this thread': '1.00×' },
  ];
  for (const threads of counts) {
    const failures: Error[] = [];
    const pool = new VerifyPool({ threads, onFailure: (e) => failures.push(e) });
    try {
      const perSec = await rate(pool, 2 * threads);
      // A failed worker's checks fall back to this thread: the row would then not be the pool's.
      if (failures.length > 0 || pool.stats.inThread > 0)
        throw new Error(
          `bench:crypto: the pool lost a worker (${failures[0]?.message ?? 'checks answered in thread'})`,
        );
      rows.push({
        threads: String(threads),
        'verifications/s': fmt(perSec, 0),
        'vs this thread': `${fmt(perSec / inline, 2)}×`,
      });
    } finally {
      await pool.close();
    }
  }
  console.log(
    `## ed25519 on the verification pool (${ed25519Backend}, ${checks.length} keys, batches of ${BATCH}, a chunk per worker (at most 8); this machine: ${cores} cores)`,
  );
  table(rows);
}

// Keccak-256 ---------------------------------------------------------------------------------
{
  // The state trie's inputs: a 20-byte key (secure trie), a 32-byte hash, nodes of ~110 and ~532
  // bytes (a leaf, a full branch).
  const rows: Array<Record<string, string>> = [];
  for (const size of [20, 32, 110, 532]) {
    const data = rand(size);
    const perSec = (b: KeccakBackendName) => {
      const f = keccak256On(b);
      const hundred = () => {
        for (let i = 0; i < 100; i++) f(data);
      };
      return measure(`keccak ${b} ${size}`, hundred, { batch: 100, minMs }).opsPerSec;
    };
    const noble = perSec('noble');
    const wasm = perSec('wasm');
    rows.push({
      'input bytes': String(size),
      'noble hashes/s': fmt(noble, 0),
      'wasm hashes/s': fmt(wasm, 0),
      'wasm / noble': `${fmt(wasm / noble, 2)}×`,
    });
  }
  console.log(`## Keccak-256: hash-wasm (WebAssembly) vs @noble/hashes — in use: ${keccakBackend}`);
  table(rows);
}

// SHA-256 ------------------------------------------------------------------------------------
{
  // node:crypto's one-shot hash() at the sizes Verity hashes most (a log node's 65 bytes, a
  // transaction's ~150): the digest as a Buffer (an ArrayBuffer outside V8's heap per call) vs
  // as a latin1 string, alone (a map key) and made into bytes on the heap (crypto/hash.ts).
  const rows = [65, 150].map((size) => {
    const data = rand(size);
    const buffer = measure(`sha256 buffer ${size}`, () => nodeHash('sha256', data, 'buffer'), { minMs });
    const key = measure(`sha256 key ${size}`, () => sha256Key(data), { minMs });
    const bytes = measure(`sha256 bytes ${size}`, () => sha256(data), { minMs });
    return {
      input: `${size} B`,
      'Buffer digest ns': fmt(1e9 / buffer.opsPerSec),
      'sha256Key ns': fmt(1e9 / key.opsPerSec),
      'sha256 (bytes) ns': fmt(1e9 / bytes.opsPerSec),
      'sha256 speed-up': `${fmt(bytes.opsPerSec / buffer.opsPerSec, 2)}×`,
    };
  });
  console.log("## SHA-256 (node:crypto one-shot): the digest's form");
  table(rows);
}

// VRF ----------------------------------------------------------------------------------------
{
  const sk = rand(32);
  const pk = vrf.publicKeyFromSecret(sk);
  const alpha = rand(32);
  const pi = vrf.prove(sk, alpha);
  console.log('## ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381)');
  table([
    ...(sodiumAvailable() ? (['sodium', 'noble'] as const) : (['noble'] as const)).map((name) => {
      const proveOn = proverFor(name);
      return {
        op: `prove (${name === 'sodium' ? 'libsodium' : 'noble'}${name === vrfProver ? ', in use' : ''})`,
        'ops/s': fmt(measure(`prove-${name}`, () => proveOn(sk, alpha), { minMs }).opsPerSec),
      };
    }),
    { op: 'verify', 'ops/s': fmt(measure('verify', () => vrf.verify(pk, pi, alpha), { minMs }).opsPerSec) },
    { op: 'proofToHash', 'ops/s': fmt(measure('p2h', () => vrf.proofToHash(pi), { minMs }).opsPerSec) },
  ]);
}

// Noise transport cipher -------------------------------------------------------------------------
{
  // Every frame between validators is sealed by the sender and opened by the receiver. At 1,200
  // bytes and above Noise's default hands node:crypto the raw key each time; Verity's caches it.
  const k = rand(32);
  const nonce = rand(12);
  const ad = new Uint8Array(0);
  const rows: Array<Record<string, string>> = [];
  for (const size of [1500, 16_000, 60_000]) {
    const text = rand(size);
    const sealOpen = (c: typeof defaultCrypto) => () =>
      c.chaCha20Poly1305Decrypt(c.chaCha20Poly1305Encrypt(text, nonce, ad, k), nonce, ad, k);
    const theirs = measure(`noise default ${size}`, sealOpen(defaultCrypto), { minMs });
    const ours = measure(`noise cached ${size}`, sealOpen(noiseCrypto), { minMs });
    rows.push({
      'frame bytes': fmt(size, 0),
      'default µs': fmt(1e6 / theirs.opsPerSec, 1),
      'cached key µs': fmt(1e6 / ours.opsPerSec, 1),
      'default / cached': `${fmt(ours.opsPerSec / theirs.opsPerSec, 2)}×`,
    });
  }
  console.log(
    '## Noise ChaCha20-Poly1305, seal + open one frame (libp2p-noise default vs src/net/noise-crypto.ts)',
  );
  table(rows);
}

// Bounded caches ---------------------------------------------------------------------------------
{
  // The verified-signature, seen-id and store-read caches take one insertion per transaction (or
  // per trie node) once full, each evicting one entry. Baseline: one Map evicting its oldest key
  // with map.keys().next(), which walks the holes that deletes leave in V8's table — a cost that
  // grows as the holes do, so each row times the mean over `turnover` insertions into a full cache.
  const rows: Array<Record<string, string>> = [];
  for (const max of quick ? [10_000, 50_000] : [10_000, 200_000]) {
    const turnover = 2 * max;
    const keys = Array.from({ length: 2 * max + turnover }, (_, i) => `k${i.toString(36).padStart(31, '0')}`);
    const timeInserts = (insert: (key: string) => void): number => {
      for (let i = 0; i < max; i++) insert(keys[i] as string);
      const start = performance.now();
      for (let i = max; i < max + turnover; i++) insert(keys[i] as string);
      return ((performance.now() - start) * 1000) / turnover;
    };
    const oneMap = new Map<string, number>();
    const viaIterator = timeInserts((key) => {
      oneMap.set(key, 0);
      if (oneMap.size > max) oneMap.delete(oneMap.keys().next().value as string);
    });
    const lru = new LruCache<number>(max);
    const generations = timeInserts((key) => lru.set(key, 0));
    rows.push({
      entries: fmt(max, 0),
      insertions: fmt(turnover, 0),
      'Map + keys().next() µs': fmt(viaIterator, 2),
      'LruCache µs': fmt(generations, 2),
      ratio: `${fmt(viaIterator / generations, 1)}×`,
    });
  }
  console.log('## Insertion into a full bounded cache (crypto/lru.ts vs one Map evicting its oldest key)');
  table(rows);
}

// BLS ----------------------------------------------------------------------------------------
const backends = blstAvailable() ? (['blst', 'noble'] as const) : (['noble'] as const);
for (const name of backends) {
  const bls = createBls(name);
  const msg = rand(32);
  const keys = Array.from({ length: 128 }, () => bls.keygen(rand(32)));
  const sigs = keys.map((k) => bls.sign(k.secretKey, msg));
  const single = measure('verify', () => bls.verify(keys[0]!.publicKey, msg, sigs[0]!), { minMs });
  const rows: Array<Record<string, string>> = [
    {
      op: 'sign',
      'ops/s': fmt(measure('sign', () => bls.sign(keys[0]!.secretKey, msg), { minMs }).opsPerSec, 1),
      'ms/op': '',
      'vs 1 verify': '',
    },
    {
      op: 'verify',
      'ops/s': fmt(single.opsPerSec, 1),
      'ms/op': fmt(1000 / single.opsPerSec, 2),
      'vs 1 verify': '1.00×',
    },
  ];
  for (const n of [4, 16, 64, 128]) {
    const pks = keys.slice(0, n).map((k) => k.publicKey);
    const agg = bls.aggregateSignatures(sigs.slice(0, n));
    const r = measure(`fastAggregateVerify ${n}`, () => bls.fastAggregateVerify(pks, msg, agg), { minMs });
    rows.push({
      op: `fastAggregateVerify, ${n} signers`,
      'ops/s': fmt(r.opsPerSec, 1),
      'ms/op': fmt(1000 / r.opsPerSec, 2),
      'vs 1 verify': `${fmt(single.opsPerSec / r.opsPerSec, 2)}×`,
    });
  }
  for (const t of [3, 11, 43, 86]) {
    const n = Math.min(128, Math.ceil((t * 3) / 2));
    const deal = bls.threshold.deal(t, n, rand(32));
    const partials = deal.shares.slice(0, t).map((s) => bls.threshold.signShare(s, msg));
    const r = measure(`combine ${t}`, () => bls.threshold.combine(partials, t), { minMs });
    const combined = bls.threshold.combine(partials, t);
    if (!bls.verify(deal.groupPublicKey, msg, combined))
      throw new Error('threshold combine produced a bad signature');
    rows.push({
      op: `threshold combine, t = ${t}`,
      'ops/s': fmt(r.opsPerSec, 1),
      'ms/op': fmt(1000 / r.opsPerSec, 2),
      'vs 1 verify': '',
    });
  }
  console.log(`## BLS12-381 (${name} backend)`);
  table(rows);
}
