/**
 * Native backend on @chainsafe/blst (supranational/blst via napi-rs; hard-codes the
 * BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_ DST we use). It is an optional dependency, loaded
 * synchronously with createRequire inside try/catch; `loadBlst()` returns null when it is absent
 * or fails to load (no prebuilt binary for the platform).
 *
 * Not covered by blst-ts and done with @noble/curves in both backends:
 *  - proofs of possession — blst-ts exposes no custom-DST hash/sign, and PopProve needs the
 *    BLS_POP_ DST (see noble.ts popProve/popVerify);
 *  - G2 scalar multiplication — threshold combine decodes and subgroup-checks partials here
 *    (fast), then runs the MSM in noble and re-compresses here.
 */
import { createRequire } from 'node:module';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { bytesToBigInt } from '../bytes.ts';
import { BLS_PUBLIC_KEY_LENGTH, BLS_SIGNATURE_LENGTH } from './constants.ts';
import { parseSecretKey } from './scalar.ts';
import type { BlsCore, G2Point } from './types.ts';
import { DecodeCache, infinityG2, plain } from './util.ts';

// The subset of the @chainsafe/blst 2.x API used here, declared locally so that type-checking does
// not depend on the optional package being installed.
interface BlstPublicKey {
  toBytes(compress?: boolean | null): Uint8Array;
}
interface BlstSignature {
  toBytes(compress?: boolean | null): Uint8Array;
}
interface BlstSecretKey {
  toBytes(): Uint8Array;
  toPublicKey(): BlstPublicKey;
  sign(msg: Uint8Array): BlstSignature;
}
export interface BlstModule {
  SecretKey: {
    fromKeygen(ikm: Uint8Array, keyInfo?: Uint8Array | null): BlstSecretKey;
    fromBytes(bytes: Uint8Array): BlstSecretKey;
  };
  PublicKey: { fromBytes(bytes: Uint8Array, pkValidate?: boolean | null): BlstPublicKey };
  Signature: {
    fromBytes(bytes: Uint8Array, sigValidate?: boolean | null, sigInfcheck?: boolean | null): BlstSignature;
  };
  verify(
    msg: Uint8Array,
    pk: BlstPublicKey,
    sig: BlstSignature,
    pkValidate?: boolean | null,
    sigGroupcheck?: boolean | null,
  ): boolean;
  aggregateVerify(
    msgs: Uint8Array[],
    pks: BlstPublicKey[],
    sig: BlstSignature,
    pkValidate?: boolean | null,
    sigsGroupcheck?: boolean | null,
  ): boolean;
  aggregatePublicKeys(pks: BlstPublicKey[], pksValidate?: boolean | null): BlstPublicKey;
  aggregateSignatures(sigs: BlstSignature[], sigsGroupcheck?: boolean | null): BlstSignature;
}

let loaded: BlstModule | null | undefined;

/** The native module, or null if it cannot be loaded. Memoised. */
export function loadBlst(): BlstModule | null {
  if (loaded === undefined) {
    try {
      const require = createRequire(import.meta.url);
      loaded = require('@chainsafe/blst') as BlstModule;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

const G2 = bls12_381.G2.Point;
const Fp2 = bls12_381.fields.Fp2;
const FP_BYTES = 48;

export function createBlstCore(blst: BlstModule): BlsCore {
  const pkCache = new DecodeCache<BlstPublicKey>(4096);

  // KeyValidate'd public key (PublicKey.fromBytes with pkValidate: infinity + subgroup check).
  // Lengths are checked first: blst would also accept a 96-byte uncompressed encoding.
  const decodePk = (bytes: Uint8Array): BlstPublicKey => {
    if (bytes.length !== BLS_PUBLIC_KEY_LENGTH) throw new Error('public key must be 48 bytes');
    return pkCache.get(bytes, (b) => blst.PublicKey.fromBytes(b, true));
  };
  // Subgroup-checked signature; `allowInfinity` only for aggregation (verification rejects it).
  const decodeSig = (bytes: Uint8Array, allowInfinity: boolean): BlstSignature => {
    if (bytes.length !== BLS_SIGNATURE_LENGTH) throw new Error('signature must be 96 bytes');
    return blst.Signature.fromBytes(bytes, true, !allowInfinity);
  };
  const secretKey = (bytes: Uint8Array): BlstSecretKey => {
    parseSecretKey(bytes); // typed errors for length / range before blst sees it
    return blst.SecretKey.fromBytes(bytes);
  };

  return {
    name: 'blst',

    keygen: (ikm) => plain(blst.SecretKey.fromKeygen(ikm).toBytes()),

    skToPk: (sk) => plain(secretKey(sk).toPublicKey().toBytes(true)),

    keyValidate(publicKey) {
      try {
        decodePk(publicKey);
        return true;
      } catch {
        return false;
      }
    },

    sign: (sk, message) => plain(secretKey(sk).sign(message).toBytes(true)),

    verify(publicKey, message, signature) {
      return blst.verify(message, decodePk(publicKey), decodeSig(signature, false), false, false);
    },

    aggregateSignatures(signatures) {
      const sigs = signatures.map((s) => decodeSig(s, true));
      return plain(blst.aggregateSignatures(sigs, false).toBytes(true));
    },

    aggregatePublicKeys(publicKeys) {
      const pks = publicKeys.map(decodePk);
      return plain(blst.aggregatePublicKeys(pks, false).toBytes(true));
    },

    fastAggregateVerify(publicKeys, message, signature) {
      const pks = publicKeys.map(decodePk);
      const sig = decodeSig(signature, false);
      const agg = blst.aggregatePublicKeys(pks, false);
      // CoreVerify's KeyValidate on the aggregate: reject infinity (e.g. P + (-P)).
      if (isInfinityEncoding(agg.toBytes(true))) return false;
      return blst.verify(message, agg, sig, false, false);
    },

    aggregateVerify(publicKeys, messages, signature) {
      const pks = publicKeys.map(decodePk);
      const sig = decodeSig(signature, false);
      return blst.aggregateVerify([...messages], pks, sig, false, false);
    },

    g2FromSignature(signature) {
      let raw: Uint8Array;
      try {
        raw = decodeSig(signature, false).toBytes(false);
      } catch {
        return null;
      }
      // Uncompressed: x.c1 | x.c0 | y.c1 | y.c0, flag bits clear for a finite point. blst has
      // already checked curve and subgroup membership, so skip noble's (slow) re-validation.
      const fp = (i: number) => bytesToBigInt(raw.subarray(i * FP_BYTES, (i + 1) * FP_BYTES));
      return G2.fromAffine({
        x: Fp2.create({ c0: fp(1), c1: fp(0) }),
        y: Fp2.create({ c0: fp(3), c1: fp(2) }),
      });
    },

    g2ToSignature(point: G2Point) {
      if (point.is0()) return infinityG2();
      const { x, y } = point.toAffine();
      const raw = new Uint8Array(4 * FP_BYTES);
      [x.c1, x.c0, y.c1, y.c0].forEach((v, i) => {
        raw.set(fpBytes(v), i * FP_BYTES);
      });
      // Uncompressed decode checks the curve equation only; compress in native code.
      return plain(blst.Signature.fromBytes(raw, false, false).toBytes(true));
    },
  };
}

function fpBytes(v: bigint): Uint8Array {
  const out = new Uint8Array(FP_BYTES);
  let x = v;
  for (let i = FP_BYTES - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function isInfinityEncoding(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0xc0) return false;
  for (let i = 1; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
