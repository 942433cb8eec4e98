/**
 * A validator set with BLS keys for tests that sign votes by hand: keys derived from a label and
 * an index (so every test file has its own, stable across runs), powers as given, and a real
 * proof of possession — or, with `pop: false`, a placeholder for sets whose powers alone are
 * under test (proving possession costs a pairing-heavy signature per validator).
 */
import { bls } from '../../crypto/bls/index.ts';
import { utf8 } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { peerIdFromEd25519, ValidatorSet } from '../../ledger/validators.ts';

export interface BlsNet {
  readonly validators: ValidatorSet;
  /** BLS secret keys, by validator index. */
  readonly secrets: readonly Uint8Array[];
}

const keyCache = new Map<string, { bls: ReturnType<typeof bls.keygen>; ed: Uint8Array; pop?: Uint8Array }>();

function keys(label: string, i: number) {
  const id = `${label}/${i}`;
  let k = keyCache.get(id);
  if (k === undefined) {
    k = {
      bls: bls.keygen(sha256(utf8(`${label}-bls-${i}`))),
      ed: ed25519.keygen(sha256(utf8(`${label}-ed-${i}`))).publicKey,
    };
    keyCache.set(id, k);
  }
  return k;
}

export function blsValidators(label: string, powers: readonly number[], o: { pop?: boolean } = {}): BlsNet {
  const validators = new ValidatorSet(
    powers.map((power, i) => {
      const k = keys(label, i);
      if (o.pop !== false) k.pop ??= bls.popProve(k.bls.secretKey);
      return {
        name: `v${i}`,
        publicKey: k.ed,
        blsPublicKey: k.bls.publicKey,
        blsPop: o.pop === false ? new Uint8Array(96) : (k.pop as Uint8Array),
        peerId: peerIdFromEd25519(k.ed),
        power,
      };
    }),
  );
  return { validators, secrets: powers.map((_, i) => keys(label, i).bls.secretKey) };
}
