/**
 * BLS signatures over BLS12-381, ciphersuite BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_
 * (draft-irtf-cfrg-bls-signature-05, as used by Ethereum consensus), minimal-pubkey-size:
 * 48-byte G1 public keys, 96-byte G2 signatures. Synchronous API, two interchangeable backends with
 * byte-identical outputs:
 *  - 'blst'  — @chainsafe/blst (native), used when it loads;
 *  - 'noble' — @noble/curves (pure JS), the fallback.
 * The process-wide `bls` picks one once, when this module is first imported, from the environment
 * variable VERITY_BLS_BACKEND: unset, empty or `auto` → blst if it loads, else noble; `blst` →
 * blst or, if it cannot load, a CryptoError BLS_BACKEND_UNAVAILABLE thrown by the import;
 * `noble` → noble; anything else → CryptoError BLS_BACKEND_INVALID thrown by the import.
 * `bls.backend` ('blst' | 'noble') says which one is in use; `blstAvailable()` whether the
 * native one could load; `createBls(name)` builds an instance on a given backend regardless.
 *
 * Validation rules (identical in both backends):
 *  - public keys: 48-byte compressed encodings that pass KeyValidate (on curve, in the r-order
 *    subgroup, not infinity); secret keys: 32 bytes, 1 <= sk < r;
 *  - signatures: 96-byte compressed, on curve and subgroup-checked. Verification rejects the
 *    infinity signature outright — no honest signature is infinity, and accepting it would let
 *    keys P and −P on one message "verify" in aggregateVerify;
 *  - every verify-style function returns false (never throws) on any malformed input, including
 *    empty key lists and mismatched key/message counts;
 *  - aggregateSignatures / aggregatePublicKeys throw CryptoError on an empty list (INVALID_LENGTH)
 *    or an invalid element (INVALID_LENGTH / INVALID_KEY); aggregating infinity signatures is
 *    allowed (spec vector aggregate_infinity_signature), an aggregate key may be infinity (and
 *    then fails every verification).
 *  - aggregateVerify does not require distinct messages: with proofs of possession (this
 *    ciphersuite) rogue keys are handled at registration by popVerify.
 */
import { isBytes } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import { createBlstCore, loadBlst } from './blst.ts';
import { BLS_PUBLIC_KEY_LENGTH, BLS_SIGNATURE_LENGTH } from './constants.ts';
import { createNobleCore, popProve, popVerify } from './noble.ts';
import { assertIkm } from './scalar.ts';
import { createThreshold } from './threshold.ts';
import type { Bls, BlsBackendName, BlsCore } from './types.ts';

export * from './constants.ts';
export { lagrangeAtZero } from './threshold.ts';
export type * from './types.ts';

/** Whether the native backend can be loaded in this process. */
export function blstAvailable(): boolean {
  return loadBlst() !== null;
}

/** Builds the API on one backend. 'blst' throws CryptoError BLS_BACKEND_UNAVAILABLE if it cannot load. */
export function createBls(backend: BlsBackendName): Bls {
  let core: BlsCore;
  if (backend === 'blst') {
    const native = loadBlst();
    if (native === null) {
      throw new CryptoError('BLS_BACKEND_UNAVAILABLE', '@chainsafe/blst is not installed or failed to load');
    }
    core = createBlstCore(native);
  } else if (backend === 'noble') {
    core = createNobleCore();
  } else {
    throw new CryptoError('BLS_BACKEND_INVALID', `unknown BLS backend: ${String(backend)}`);
  }
  return facade(core);
}

function chooseBackend(): BlsBackendName {
  const forced = process.env.VERITY_BLS_BACKEND;
  if (forced === undefined || forced === '' || forced === 'auto') return blstAvailable() ? 'blst' : 'noble';
  if (forced === 'noble' || forced === 'blst') return forced;
  throw new CryptoError(
    'BLS_BACKEND_INVALID',
    `VERITY_BLS_BACKEND must be blst, noble or auto, got ${forced}`,
  );
}

/** The process-wide instance: blst when available, unless VERITY_BLS_BACKEND says otherwise. */
export const bls: Bls = createBls(chooseBackend());

function isLen(x: unknown, length: number): x is Uint8Array {
  return isBytes(x) && x.length === length;
}

function nonEmptyBytesList(xs: unknown, length: number): xs is readonly Uint8Array[] {
  return Array.isArray(xs) && xs.length > 0 && xs.every((x) => isLen(x, length));
}

/** Runs a verification, mapping any throw (malformed input) to false. */
function safely(check: () => boolean): boolean {
  try {
    return check() === true;
  } catch {
    return false;
  }
}

function assertBytes(x: unknown, what: string): asserts x is Uint8Array {
  if (!isBytes(x)) throw new CryptoError('INVALID_LENGTH', `${what} must be a Uint8Array`);
}

function aggregateList(xs: unknown, length: number, what: string): readonly Uint8Array[] {
  if (!Array.isArray(xs) || xs.length === 0) {
    throw new CryptoError('INVALID_LENGTH', `cannot aggregate an empty list of ${what}s`);
  }
  xs.forEach((x, i) => {
    if (!isLen(x, length)) {
      throw new CryptoError('INVALID_LENGTH', `${what} ${i} must be ${length} bytes`, { index: i });
    }
  });
  return xs as readonly Uint8Array[];
}

function facade(core: BlsCore): Bls {
  const sign = (secretKey: Uint8Array, message: Uint8Array): Uint8Array => {
    assertBytes(message, 'message');
    return core.sign(secretKey, message);
  };
  const verify = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
    safely(
      () =>
        isLen(publicKey, BLS_PUBLIC_KEY_LENGTH) &&
        isBytes(message) &&
        isLen(signature, BLS_SIGNATURE_LENGTH) &&
        core.verify(publicKey, message, signature),
    );

  return Object.freeze({
    backend: core.name,

    keygen(ikm: Uint8Array) {
      assertIkm(ikm);
      const secretKey = core.keygen(ikm);
      return { secretKey, publicKey: core.skToPk(secretKey) };
    },

    secretKeyToPublicKey: (secretKey: Uint8Array) => core.skToPk(secretKey),

    keyValidate: (publicKey: Uint8Array) => safely(() => core.keyValidate(publicKey)),

    sign,
    verify,

    aggregateSignatures(signatures: readonly Uint8Array[]) {
      const list = aggregateList(signatures, BLS_SIGNATURE_LENGTH, 'signature');
      try {
        return core.aggregateSignatures(list);
      } catch (cause) {
        throw new CryptoError('INVALID_KEY', 'cannot aggregate: invalid signature encoding or point', {
          cause: String(cause),
        });
      }
    },

    aggregatePublicKeys(publicKeys: readonly Uint8Array[]) {
      const list = aggregateList(publicKeys, BLS_PUBLIC_KEY_LENGTH, 'public key');
      try {
        return core.aggregatePublicKeys(list);
      } catch (cause) {
        throw new CryptoError('INVALID_KEY', 'cannot aggregate: public key fails KeyValidate', {
          cause: String(cause),
        });
      }
    },

    fastAggregateVerify: (publicKeys: readonly Uint8Array[], message: Uint8Array, signature: Uint8Array) =>
      safely(
        () =>
          nonEmptyBytesList(publicKeys, BLS_PUBLIC_KEY_LENGTH) &&
          isBytes(message) &&
          isLen(signature, BLS_SIGNATURE_LENGTH) &&
          core.fastAggregateVerify(publicKeys, message, signature),
      ),

    aggregateVerify: (
      publicKeys: readonly Uint8Array[],
      messages: readonly Uint8Array[],
      signature: Uint8Array,
    ) =>
      safely(
        () =>
          nonEmptyBytesList(publicKeys, BLS_PUBLIC_KEY_LENGTH) &&
          Array.isArray(messages) &&
          messages.length === publicKeys.length &&
          messages.every(isBytes) &&
          isLen(signature, BLS_SIGNATURE_LENGTH) &&
          core.aggregateVerify(publicKeys, messages, signature),
      ),

    // Proofs of possession run on noble in both backends (blst-ts has no custom-DST signing);
    // the public key is derived by the active backend, which gives identical bytes.
    popProve: (secretKey: Uint8Array) => popProve(secretKey, core.skToPk(secretKey)),

    popVerify: (publicKey: Uint8Array, proof: Uint8Array) =>
      safely(
        () =>
          isLen(publicKey, BLS_PUBLIC_KEY_LENGTH) &&
          isLen(proof, BLS_SIGNATURE_LENGTH) &&
          core.keyValidate(publicKey) &&
          popVerify(publicKey, proof),
      ),

    threshold: createThreshold(core, { sign, verify }),
  });
}
