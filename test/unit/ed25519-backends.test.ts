/**
 * The two ed25519 verification backends (crypto/ed25519.ts): libsodium (sodium-native) and
 * OpenSSL (node:crypto) must give the same verdict on every input, or nodes running different
 * ones would disagree on a block. Compared on an adversarial corpus built like the rule's own tests
 * (test/unit/ed25519.test.ts): honest signatures and their bit flips, mixed-order keys and nonces,
 * every small-order R and A, non-canonical S and point encodings, garbage — and the process-wide
 * choice and its environment variable.
 */
import { execFileSync } from 'node:child_process';
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { ed25519 as noble } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../crypto/bytes.ts';
import { ed25519, ed25519Backend, sodiumAvailable, verifierFor } from '../../crypto/ed25519.ts';
import { challenge, L, P, Point, sigOf, torsionPoints } from '../helpers/ed25519-points.ts';
import { seededBytes } from '../helpers/seeded.ts';

const rand = seededBytes('ed25519-backends');

type Case = { label: string; sig: Uint8Array; msg: Uint8Array; pk: Uint8Array };

function corpus(): Case[] {
  const cases: Case[] = [];
  const T = torsionPoints('ed25519-backends');
  const T8 = T[1] as EdwardsPoint;
  for (let i = 0; i < 24; i++) {
    const seed = rand(32);
    const msg = rand(1 + (i % 40));
    const pk = ed25519.keygen(seed).publicKey;
    const sig = ed25519.sign(msg, seed);
    cases.push({ label: 'honest', sig, msg, pk });
    for (const [what, bytes] of [
      ['sig', sig],
      ['msg', msg],
      ['pk', pk],
    ] as const) {
      const bit = i * 7 + what.length;
      const flipped = bytes.slice();
      flipped[(bit >> 3) % flipped.length] =
        (flipped[(bit >> 3) % flipped.length] as number) ^ (1 << (bit & 7));
      cases.push({
        label: `flip ${what}`,
        sig: what === 'sig' ? flipped : sig,
        msg: what === 'msg' ? flipped : msg,
        pk: what === 'pk' ? flipped : pk,
      });
    }
    // S + L: the same point equation, a non-canonical scalar.
    const sPlusL = bytesToNumberLE(sig.subarray(32)) + L;
    cases.push({
      label: 'S + L',
      sig: concatBytes(sig.subarray(0, 32), numberToBytesLE(sPlusL, 32)),
      msg,
      pk,
    });
    cases.push({ label: 'garbage', sig: rand(64), msg, pk: rand(32) });
  }
  const { scalar: a, point: A } = noble.utils.getExtendedPublicKey(rand(32));
  const aBytes = A.toBytes();
  // Mixed-order key A + T: valid cofactorless exactly when 8 | k (both branches occur).
  const mixed = A.add(T8).toBytes();
  for (let i = 0; i < 48; i++) {
    const msg = rand(16);
    const r = bytesToNumberLE(rand(64)) % L;
    const R = Point.BASE.multiply(r);
    cases.push({
      label: 'mixed-order A',
      sig: sigOf(R, r + challenge(R.toBytes(), mixed, msg) * a),
      msg,
      pk: mixed,
    });
    const Rm = R.add(T8);
    cases.push({
      label: 'mixed-order R',
      sig: sigOf(Rm, r + challenge(Rm.toBytes(), aBytes, msg) * a),
      msg,
      pk: aBytes,
    });
  }
  // Every small-order R with S = k·a (the identity satisfies even the cofactorless equation), and
  // every small-order A.
  for (const t of T) {
    const msg = rand(12);
    cases.push({
      label: 'small-order R',
      sig: sigOf(t, challenge(t.toBytes(), aBytes, msg) * a),
      msg,
      pk: aBytes,
    });
    cases.push({
      label: 'small-order A',
      sig: sigOf(Point.BASE, 1n),
      msg: new Uint8Array(0),
      pk: t.toBytes(),
    });
  }
  // A non-canonical encoding of a key (y + p, for the key with y = 1… only y < 19 has one): the
  // identity's y = 1 → 1 + p.
  cases.push({ label: 'non-canonical A', sig: rand(64), msg: rand(4), pk: numberToBytesLE(1n + P, 32) });
  return cases;
}

describe('ed25519 backends', () => {
  it.skipIf(!sodiumAvailable())('libsodium and OpenSSL agree on every case of the adversarial corpus', () => {
    const sodium = verifierFor('sodium');
    const openssl = verifierFor('openssl');
    const accepted = new Map<string, number>();
    const cases = corpus();
    for (const c of cases) {
      const a = sodium(c.sig, c.msg, c.pk);
      expect(a, c.label).toBe(openssl(c.sig, c.msg, c.pk));
      if (a) accepted.set(c.label, (accepted.get(c.label) ?? 0) + 1);
    }
    // The corpus is not trivially one-sided: honest ones pass, the mixed-order key passes about one
    // time in eight (8 | k), and nothing the rule refuses passes on either.
    expect(accepted.get('honest')).toBe(24);
    expect(accepted.get('mixed-order A')).toBeGreaterThan(0);
    expect(accepted.get('mixed-order A')).toBeLessThan(48);
    for (const refused of [
      'S + L',
      'mixed-order R',
      'small-order R',
      'small-order A',
      'non-canonical A',
      'flip sig',
    ])
      expect(accepted.get(refused), refused).toBeUndefined();
    expect(cases.length).toBeGreaterThan(200);
  });

  it('the process uses libsodium when it loads; VERITY_ED25519_BACKEND forces one or fails the import', () => {
    const backendIn = (value: string | undefined): string => {
      const env = { ...process.env };
      if (value === undefined) delete env.VERITY_ED25519_BACKEND;
      else env.VERITY_ED25519_BACKEND = value;
      try {
        return execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            "const m = await import('./crypto/ed25519.ts'); process.stdout.write(m.ed25519Backend);",
          ],
          { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
        );
      } catch (e) {
        const stderr = String((e as { stderr?: unknown }).stderr);
        return `error:${/ED25519_BACKEND_[A-Z]+/.exec(stderr)?.[0] ?? stderr}`;
      }
    };
    const auto = sodiumAvailable() ? 'sodium' : 'openssl';
    expect(ed25519Backend).toBe(process.env.VERITY_ED25519_BACKEND === 'openssl' ? 'openssl' : auto);
    expect(backendIn(undefined)).toBe(auto);
    expect(backendIn('auto')).toBe(auto);
    expect(backendIn('openssl')).toBe('openssl');
    expect(backendIn('sodium')).toBe(sodiumAvailable() ? 'sodium' : 'error:ED25519_BACKEND_UNAVAILABLE');
    expect(backendIn('blst')).toBe('error:ED25519_BACKEND_INVALID');
  });
});
