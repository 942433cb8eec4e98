/**
 * Pure-JS backend on @noble/curves (audited, constant-time where it matters). Roughly 20-50× slower
 * than blst; it is the fallback when the native addon is missing, the reference the blst backend
 * is differentially tested against, and — in both backends — the implementation of the parts blst
 * does not expose: proofs of possession (blst-ts has no custom-DST hashing) and G2 multi-scalar
 * multiplication for threshold combine.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { toHex } from '../bytes.ts';
import { BLS_DST_POP, BLS_DST_SIGNATURE, BLS_PUBLIC_KEY_LENGTH, BLS_SIGNATURE_LENGTH } from './constants.ts';
import { ietfKeyGen, parseSecretKey, scalarToBytes } from './scalar.ts';
import type { BlsCore, G2Point } from './types.ts';
import { DecodeCache, infinityG1, infinityG2 } from './util.ts';

const G1 = bls12_381.G1.Point;
const G2 = bls12_381.G2.Point;
const Fp12 = bls12_381.fields.Fp12;
const longSigs = bls12_381.longSignatures;

export type G1Point = typeof G1.BASE;

const pkCache = new DecodeCache<G1Point>(4096);

/** KeyValidate'd G1 point (on curve, r-torsion, not infinity), or throws. 48-byte compressed only. */
export function decodeG1(bytes: Uint8Array): G1Point {
  if (bytes.length !== BLS_PUBLIC_KEY_LENGTH) throw new Error('public key must be 48 bytes');
  return pkCache.get(bytes, (b) => {
    const p = G1.fromBytes(b); // on-curve + subgroup check; accepts the infinity encoding
    if (p.is0()) throw new Error('public key is the point at infinity');
    return p;
  });
}

/** Subgroup-checked G2 point (infinity allowed), or throws. 96-byte compressed only. */
export function decodeG2(bytes: Uint8Array): G2Point {
  if (bytes.length !== BLS_SIGNATURE_LENGTH) throw new Error('signature must be 96 bytes');
  return longSigs.Signature.fromBytes(bytes); // compressed only; on-curve + subgroup check
}

export function encodeG1(p: G1Point): Uint8Array {
  // noble refuses to encode non-canonical projective forms of infinity (e.g. P + (-P)).
  return p.is0() ? infinityG1() : p.toBytes(true);
}

export function encodeG2(p: G2Point): Uint8Array {
  return p.is0() ? infinityG2() : p.toBytes(true);
}

export function hashToG2(message: Uint8Array, dst: string): G2Point {
  return longSigs.hash(message, dst);
}

/** e(P, H) == e(g1, S), as one two-pair Miller loop and final exponentiation. */
function pairingCheck(P: G1Point, H: G2Point, S: G2Point): boolean {
  // Honest signatures are never infinity (sk != 0, H(m) != O); rejecting it here also closes the
  // "P and -P on one message + infinity signature" cancellation in aggregate verification.
  if (S.is0() || H.is0()) return false;
  const gt = bls12_381.pairingBatch([
    { g1: P.negate(), g2: H },
    { g1: G1.BASE, g2: S },
  ]);
  return Fp12.eql(gt, Fp12.ONE);
}

function skToPoint(secretKey: Uint8Array): G1Point {
  return G1.BASE.multiply(parseSecretKey(secretKey));
}

/** PopProve (draft-05 §3.3.2): sign the compressed public key under the POP DST. */
export function popProve(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const sk = parseSecretKey(secretKey);
  return encodeG2(hashToG2(publicKey, BLS_DST_POP).multiply(sk));
}

/** PopVerify (draft-05 §3.3.3). Throws on malformed input; the facade maps that to false. */
export function popVerify(publicKey: Uint8Array, proof: Uint8Array): boolean {
  const P = decodeG1(publicKey);
  const S = decodeG2(proof);
  return pairingCheck(P, hashToG2(publicKey, BLS_DST_POP), S);
}

export function createNobleCore(): BlsCore {
  return {
    name: 'noble',

    keygen: (ikm) => scalarToBytes(ietfKeyGen(ikm)),

    skToPk: (secretKey) => encodeG1(skToPoint(secretKey)),

    keyValidate(publicKey) {
      try {
        decodeG1(publicKey);
        return true;
      } catch {
        return false;
      }
    },

    sign(secretKey, message) {
      const sk = parseSecretKey(secretKey);
      return encodeG2(hashToG2(message, BLS_DST_SIGNATURE).multiply(sk));
    },

    verify(publicKey, message, signature) {
      const P = decodeG1(publicKey);
      const S = decodeG2(signature);
      return pairingCheck(P, hashToG2(message, BLS_DST_SIGNATURE), S);
    },

    aggregateSignatures(signatures) {
      let acc = G2.ZERO;
      for (const s of signatures) acc = acc.add(decodeG2(s));
      return encodeG2(acc);
    },

    aggregatePublicKeys(publicKeys) {
      let acc = G1.ZERO;
      for (const pk of publicKeys) acc = acc.add(decodeG1(pk));
      return encodeG1(acc);
    },

    fastAggregateVerify(publicKeys, message, signature) {
      let acc = G1.ZERO;
      for (const pk of publicKeys) acc = acc.add(decodeG1(pk));
      // FastAggregateVerify = CoreVerify(aggregate, ...), whose KeyValidate rejects infinity.
      if (acc.is0()) return false;
      const S = decodeG2(signature);
      return pairingCheck(acc, hashToG2(message, BLS_DST_SIGNATURE), S);
    },

    aggregateVerify(publicKeys, messages, signature) {
      const S = decodeG2(signature);
      if (S.is0()) return false;
      const hashes = new Map<string, G2Point>();
      const pairs: { g1: G1Point; g2: G2Point }[] = [];
      publicKeys.forEach((pk, i) => {
        const m = messages[i] as Uint8Array;
        const key = toHex(m);
        let H = hashes.get(key);
        if (H === undefined) {
          H = hashToG2(m, BLS_DST_SIGNATURE);
          hashes.set(key, H);
        }
        pairs.push({ g1: decodeG1(pk), g2: H });
      });
      pairs.push({ g1: G1.BASE.negate(), g2: S });
      return Fp12.eql(bls12_381.pairingBatch(pairs), Fp12.ONE);
    },

    g2FromSignature(signature) {
      try {
        const p = decodeG2(signature);
        return p.is0() ? null : p;
      } catch {
        return null;
      }
    },

    g2ToSignature: encodeG2,
  };
}
