// Signature verification on worker threads (src/runtime/verify-pool.ts) answers exactly as
// ed25519.verify on this thread, on adversarial inputs, however the batch is split; a worker that
// throws or dies is reported and its checks are answered here instead.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ed25519, verify } from '../../crypto/ed25519.ts';
import { packable, packChecks, type SignatureCheck, verifyPacked } from '../../crypto/signature-batch.ts';
import { decodeTransaction, signTransaction, verifyTransactions } from '../../ledger/tx.ts';
import { VerifyPool } from '../../src/runtime/verify-pool.ts';
import { L, Point, sigOf, torsionPoints } from '../helpers/ed25519-points.ts';
import { seededBytes } from '../helpers/seeded.ts';

const pools: VerifyPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});
function pool(opts: ConstructorParameters<typeof VerifyPool>[0]): VerifyPool {
  const p = new VerifyPool(opts);
  pools.push(p);
  return p;
}

const numberToLE = (n: bigint) => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
};

/** Valid signatures, each with tampered and malformed neighbours, in an interleaved order. */
function adversarialChecks(): SignatureCheck[] {
  const rand = seededBytes('verify-pool');
  const out: SignatureCheck[] = [];
  const torsion = torsionPoints().map((t) => t.toBytes());
  for (let i = 0; i < 40; i++) {
    const keys = ed25519.keygen(rand(32));
    const message = rand([0, 1, 100, 5000][i % 4] as number);
    const signature = ed25519.sign(message, keys.secretKey);
    const publicKey = keys.publicKey;
    out.push({ signature, message, publicKey });
    const flipped = message.length === 0 ? new Uint8Array([1]) : message.slice();
    if (message.length > 0) flipped[0] = (flipped[0] as number) ^ 1;
    out.push({ signature, message: flipped, publicKey });
    const s = signature.slice(32).reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n);
    out.push({
      signature: new Uint8Array([...signature.slice(0, 32), ...numberToLE(s + L)]),
      message,
      publicKey,
    });
    out.push({ signature, message, publicKey: torsion[i % 8] as Uint8Array });
    out.push({ signature: sigOf(Point.ZERO, s), message, publicKey });
    out.push({ signature: signature.slice(0, 63), message, publicKey });
    out.push({ signature, message, publicKey: publicKey.slice(0, 31) });
  }
  return out;
}

/** `n` checks that verify, under one key. */
function validChecks(seed: string, n: number): SignatureCheck[] {
  const rand = seededBytes(seed);
  const keys = ed25519.keygen(rand(32));
  return Array.from({ length: n }, (_, i) => {
    const message = new Uint8Array([i & 0xff, i >> 8]);
    return { signature: ed25519.sign(message, keys.secretKey), message, publicKey: keys.publicKey };
  });
}

const here = (checks: readonly SignatureCheck[]) =>
  checks.map((c) => verify(c.signature, c.message, c.publicKey));

describe('signature verification pool', () => {
  const checks = adversarialChecks();
  const expected = here(checks);

  it('the inputs are a real mix: some verify, most do not', () => {
    expect(expected.filter(Boolean)).toHaveLength(40);
    expect(expected.filter((ok) => !ok)).toHaveLength(240);
  });

  it('the packed form round-trips: verifyPacked answers as verify (the lengths it can carry)', () => {
    const packable = checks.filter((c) => c.signature.length === 64 && c.publicKey.length === 32);
    expect(Array.from(verifyPacked(packChecks(packable)), (a) => a === 1)).toEqual(here(packable));
    expect(() => verifyPacked(packChecks(packable).subarray(0, 50))).toThrow(/invariant broken/);
  });

  it('two workers answer each check exactly as this thread does, the batch split between them', async () => {
    const p = pool({ threads: 2 });
    expect(await p.verifyMany(checks)).toEqual(expected);
    expect(p.stats.chunks).toBe(2);
    expect(p.stats.inThread).toBe(0);
    // Small batches go whole to one worker; an empty one to none.
    expect(await p.verifyMany(checks.slice(0, 5))).toEqual(expected.slice(0, 5));
    expect(p.stats.chunks).toBe(3);
    expect(await p.verifyMany([])).toEqual([]);
  });

  it('batches in flight together are answered each in its own order', async () => {
    const p = pool({ threads: 2 });
    const parts = [checks.slice(0, 100), checks.slice(100, 101), checks.slice(101)];
    const answers = await Promise.all(parts.map((c) => p.verifyMany(c)));
    expect(answers.flat()).toEqual(expected);
  });

  it('urgent checks are answered before a bulk backlog queued ahead of them, with the same verdicts', async () => {
    const p = pool({ threads: 1 });
    const backlog = validChecks('verify-pool-priority', 2048);
    const order: string[] = [];
    const bulk = p.verifyMany(backlog, 'bulk').then((a) => {
      order.push('bulk');
      return a;
    });
    const urgent = p.verifyMany(checks.slice(0, 70), 'urgent').then((a) => {
      order.push('urgent');
      return a;
    });
    const [bulkAnswers, urgentAnswers] = await Promise.all([bulk, urgent]);
    expect(order).toEqual(['urgent', 'bulk']);
    expect(urgentAnswers).toEqual(expected.slice(0, 70));
    expect(bulkAnswers.every(Boolean)).toBe(true);
    expect(p.stats.chunks).toBe(8 + 1); // the backlog in chunks of at most 256, the urgent one whole
  });

  it('a waiting chunk is sent without the checks found valid meanwhile (knownValid): answered true, unchecked', async () => {
    const p = pool({ threads: 1 });
    const backlog = validChecks('verify-pool-known', 1024); // four chunks: two on the worker, two waiting
    let learned = false;
    // Checks that do not verify (of lengths a worker takes): an answer of true can only be knownValid's.
    const vouched = checks
      .filter((c, i) => !expected[i] && c.signature.length === 64 && c.publicKey.length === 32)
      .slice(0, 10)
      .map((c) => ({ ...c, knownValid: () => learned }));
    const unvouched = checks.slice(0, 14).map((c) => ({ ...c, knownValid: () => false }));
    // Interleaved, so that each answer must come back to its own place.
    const mixed: SignatureCheck[] = [];
    const want: boolean[] = [];
    unvouched.forEach((c, i) => {
      const v = vouched[i];
      if (v !== undefined) {
        mixed.push(v);
        want.push(true);
      }
      mixed.push(c);
      want.push(expected[i] as boolean);
    });
    const first = p.verifyMany(backlog, 'bulk');
    const later = p.verifyMany(mixed, 'bulk');
    const allVouched = p.verifyMany(vouched.slice(0, 3), 'bulk');
    learned = true; // while both wait behind the backlog
    expect(await later).toEqual(want);
    expect(await allVouched).toEqual([true, true, true]);
    expect((await first).every(Boolean)).toBe(true);
    expect(p.stats.skipped).toBe(13);
    // (Of the 14 unvouched, those of lengths no worker takes are answered false without a worker.)
    expect(p.stats.checks).toBe(1024 + unvouched.filter(packable).length);
    // The backlog's four chunks and the later batch's remainder; the one vouched whole is never sent.
    expect(p.stats.chunks).toBe(4 + 1);
  });

  // With three backlog chunks the gossip chunk is the very next one sent after the block's answer
  // (the pool sends it once the block's verdicts are in the cache: a dispatch on setImmediate).
  for (const chunks of [3, 4]) {
    it(`a gossip batch behind ${chunks} backlog chunks does not check again what a block's urgent batch verified`, async () => {
      const p = pool({ threads: 1 });
      const rand = seededBytes(`verify-pool-txs-${chunks}`);
      const keys = ed25519.keygen(rand(32));
      const txs = Array.from({ length: 20 }, (_, nonce) =>
        signTransaction(
          {
            chainId: 'pool-chain',
            sender: keys.publicKey,
            nonce,
            op: { type: 'transfer', to: rand(20), amount: 1n },
          },
          keys.secretKey,
        ),
      );
      const backlog = p.verifyMany(validChecks(`verify-pool-txs-backlog-${chunks}`, 256 * chunks), 'bulk');
      // Gossip brings a forged copy of one; the block holds every other one (not the forged).
      const forged = txs[7] as (typeof txs)[number];
      const bytes = forged.bytes.slice();
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
      const gossiped = txs.map((t, i) => (i === 7 ? decodeTransaction(bytes) : t));
      const gossip = verifyTransactions(gossiped, 'pool-chain', p, 'bulk');
      const block = verifyTransactions(
        txs.filter((_, i) => i % 2 === 0),
        'pool-chain',
        p,
        'urgent',
      );
      expect(await block).toEqual(new Array(10).fill(undefined));
      expect((await gossip).map((e) => e?.code)).toEqual(
        gossiped.map((_, i) => (i === 7 ? 'TX_BAD_SIGNATURE' : undefined)),
      );
      await backlog;
      expect(p.stats.skipped).toBe(10);
      expect(p.stats.checks).toBe(256 * chunks + 10 + 10);
    });
  }

  for (const [name, script, message] of [
    ['throws', 'broken-verify-worker.ts', /a bug in verification/],
    ['exits', 'exiting-verify-worker.ts', /exited \(code 3\)/],
  ] as const) {
    it(`a worker that ${name} is reported once; its checks and all later ones are answered on this thread`, async () => {
      const failures: Error[] = [];
      const p = pool({
        threads: 1,
        workerUrl: new URL(`../helpers/${script}`, import.meta.url),
        onFailure: (e) => failures.push(e),
      });
      // Three chunks: two sent to the worker, one still waiting in the pool when it fails.
      expect(await p.verifyMany([...checks, ...checks, ...checks])).toEqual([
        ...expected,
        ...expected,
        ...expected,
      ]);
      expect(failures).toHaveLength(1);
      expect(failures[0]?.message).toMatch(message);
      expect(p.threads).toBe(0);
      expect(await p.verifyMany(checks.slice(0, 7))).toEqual(expected.slice(0, 7));
      expect(p.stats.checks).toBe(0);
      // The 3 × 280 of the failed batch but the 3 × 80 of wrong length (never packed), then 5 more.
      expect(p.stats.inThread).toBe(600 + 5);
      await new Promise((r) => setTimeout(r, 50));
      expect(failures).toHaveLength(1);
    });
  }

  it('close answers the checks still waiting in the pool and on the worker, on this thread', async () => {
    const p = pool({ threads: 1 });
    const pending = p.verifyMany([...checks, ...checks, ...checks]);
    await p.close();
    expect(await pending).toEqual([...expected, ...expected, ...expected]);
  });

  it('after close, checks are answered on this thread', async () => {
    const p = pool({ threads: 1 });
    await p.close();
    expect(p.threads).toBe(0);
    expect(await p.verifyMany(checks.slice(0, 14))).toEqual(expected.slice(0, 14));
  });

  it('a process awaiting only the pool stays alive for its answers, and exits once the pool is idle', () => {
    // Workers owing answers are ref'd, idle ones not: before, an awaited batch with nothing else
    // keeping the process alive ended it mid-wait (exit code 13, an unsettled top-level await); a
    // ref'd idle worker would instead keep it alive after the answers (the 20 s timeout here).
    // A script file, not `-e`: an evaluated script's process exited with a ref'd worker alive.
    const root = new URL('../../', import.meta.url);
    const script = [
      `const { ed25519 } = await import(${JSON.stringify(new URL('crypto/ed25519.ts', root).href)});`,
      `const { VerifyPool } = await import(${JSON.stringify(new URL('src/runtime/verify-pool.ts', root).href)});`,
      'const k = ed25519.keygen(new Uint8Array(32).fill(7));',
      'const message = new Uint8Array([1, 2, 3]);',
      'const good = { signature: ed25519.sign(message, k.secretKey), message, publicKey: k.publicKey };',
      'const bad = { ...good, message: new Uint8Array([1, 2, 4]) };',
      'const pool = new VerifyPool({ threads: 2 });',
      'const answers = await pool.verifyMany(Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? bad : good)));',
      "process.stdout.write(answers.map((a) => (a ? '1' : '0')).join(''));",
    ].join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'verity-verify-pool-'));
    let out: string;
    try {
      const file = join(dir, 'await-pool.mjs');
      writeFileSync(file, script);
      out = execFileSync(process.execPath, [file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 20_000,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(out).toBe(Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? '0' : '1')).join(''));
  });

  it('refuses a thread count that is not a positive integer', () => {
    expect(() => new VerifyPool({ threads: 0 })).toThrow(RangeError);
    expect(() => new VerifyPool({ threads: 1.5 })).toThrow(RangeError);
  });
});
