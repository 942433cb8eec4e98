/**
 * The validator set: identities and voting power, in genesis order. Quorums are by power
 * (Gifford-style weighted voting), not by head count:
 *  - BFT quorum: strictly more than 2/3 of total power;
 *  - "one honest" threshold: strictly more than 1/3 (any such set contains an honest validator);
 *  - crash-fault majority: strictly more than 1/2.
 */
import { base58 } from '@scure/base';
import { concatBytes, equalBytes, toHex, utf8 } from '../crypto/bytes.ts';
import { VerityError } from '../crypto/errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { vrf } from '../crypto/vrf.ts';
import { addressFromPublicKey, formatAddress } from './address.ts';
import { rlpEncode } from './codec.ts';

/** Total power is capped so every sum stays an exact safe integer. */
export const MAX_TOTAL_POWER = 2 ** 48;

export interface ValidatorInfo {
  readonly name: string;
  /** ed25519 public key: votes, and the node's libp2p identity. */
  readonly publicKey: Uint8Array;
  /** BLS12-381 public key (48 bytes) and its proof of possession (96 bytes). */
  readonly blsPublicKey: Uint8Array;
  readonly blsPop: Uint8Array;
  readonly peerId: string;
  readonly power: number;
  /**
   * ECVRF public key (RFC 9381, 32 bytes) for sortition and unbiasable randomness — its own key,
   * never the ed25519 one (a VRF output must not be derivable from signatures). Optional: only
   * engines that draw by VRF need it.
   */
  readonly vrfPublicKey?: Uint8Array;
}

export interface Validator extends ValidatorInfo {
  readonly index: number;
  readonly address: Uint8Array;
}

export class ValidatorSetError extends VerityError<'INVALID_VALIDATOR_SET'> {}

/**
 * libp2p peer id of an ed25519 key, computed without libp2p: base58btc of the identity multihash
 * of the protobuf PublicKey { Type: Ed25519 (1), Data: key } — the "12D3KooW…" form.
 */
export function peerIdFromEd25519(publicKey: Uint8Array): string {
  return base58.encode(concatBytes(new Uint8Array([0x00, 0x24, 0x08, 0x01, 0x12, 0x20]), publicKey));
}

export class ValidatorSet {
  readonly validators: readonly Validator[];
  readonly totalPower: number;
  /** Commits to identities, keys and powers in order; carried in every block header. */
  readonly hash: Uint8Array;
  readonly #byKey = new Map<string, Validator>();
  readonly #byAddress = new Map<string, Validator>();
  readonly #byPeerId = new Map<string, Validator>();

  constructor(infos: readonly ValidatorInfo[]) {
    if (infos.length === 0)
      throw new ValidatorSetError('INVALID_VALIDATOR_SET', 'the validator set is empty');
    let total = 0;
    this.validators = infos.map((v, index) => {
      if (!Number.isSafeInteger(v.power) || v.power <= 0) {
        throw new ValidatorSetError(
          'INVALID_VALIDATOR_SET',
          `validator ${index} (${v.name}): power must be a positive integer`,
        );
      }
      if (v.publicKey.length !== 32 || v.blsPublicKey.length !== 48 || v.blsPop.length !== 96) {
        throw new ValidatorSetError(
          'INVALID_VALIDATOR_SET',
          `validator ${index} (${v.name}): bad key length`,
        );
      }
      if (v.vrfPublicKey !== undefined) {
        if (v.vrfPublicKey.length !== 32 || !vrf.isValidPublicKey(v.vrfPublicKey))
          throw new ValidatorSetError(
            'INVALID_VALIDATOR_SET',
            `validator ${index} (${v.name}): the VRF public key is not a valid ECVRF-EDWARDS25519 key`,
          );
        if (equalBytes(v.vrfPublicKey, v.publicKey))
          throw new ValidatorSetError(
            'INVALID_VALIDATOR_SET',
            `validator ${index} (${v.name}): the VRF key must not be the ed25519 key`,
          );
      }
      total += v.power;
      return { ...v, index, address: addressFromPublicKey(v.publicKey) };
    });
    if (total > MAX_TOTAL_POWER) {
      throw new ValidatorSetError('INVALID_VALIDATOR_SET', `total power ${total} exceeds ${MAX_TOTAL_POWER}`);
    }
    this.totalPower = total;
    const blsKeys = new Set<string>();
    for (const v of this.validators) {
      const k = toHex(v.publicKey);
      // Two validators with one BLS key would count one aggregate signature twice.
      const blsKey = toHex(v.blsPublicKey);
      if (this.#byKey.has(k) || this.#byPeerId.has(v.peerId)) {
        throw new ValidatorSetError(
          'INVALID_VALIDATOR_SET',
          `validator ${v.index} (${v.name}) is listed twice`,
        );
      }
      if (blsKeys.has(blsKey))
        throw new ValidatorSetError(
          'INVALID_VALIDATOR_SET',
          `validator ${v.index} (${v.name}) has the BLS key of another validator`,
        );
      blsKeys.add(blsKey);
      this.#byKey.set(k, v);
      this.#byAddress.set(toHex(v.address), v);
      this.#byPeerId.set(v.peerId, v);
    }
    this.hash = sha256(
      concatBytes(
        utf8('verity-validators-v1'),
        rlpEncode(
          // The VRF key is committed to only where there is one: sets without keep their hash.
          this.validators.map((v) => [
            utf8(v.name),
            v.publicKey,
            v.blsPublicKey,
            utf8(v.peerId),
            v.power,
            ...(v.vrfPublicKey === undefined ? [] : [v.vrfPublicKey]),
          ]),
        ),
      ),
    );
  }

  get size(): number {
    return this.validators.length;
  }

  /** Smallest power strictly greater than 2/3 of the total. */
  get quorumPower(): number {
    return Math.floor((2 * this.totalPower) / 3) + 1;
  }

  /** Smallest power strictly greater than 1/3 of the total: such a set holds an honest validator. */
  get oneHonestPower(): number {
    return Math.floor(this.totalPower / 3) + 1;
  }

  /** Smallest power strictly greater than 1/2 of the total (crash-fault engines). */
  get majorityPower(): number {
    return Math.floor(this.totalPower / 2) + 1;
  }

  /** Largest f with 3f < total power — the Byzantine power the BFT engines tolerate. */
  get maxFaultyPower(): number {
    return Math.floor((this.totalPower - 1) / 3);
  }

  at(index: number): Validator | undefined {
    return this.validators[index];
  }

  byPublicKey(publicKey: Uint8Array): Validator | undefined {
    return this.#byKey.get(toHex(publicKey));
  }

  byAddress(address: Uint8Array): Validator | undefined {
    return this.#byAddress.get(toHex(address));
  }

  byPeerId(peerId: string): Validator | undefined {
    return this.#byPeerId.get(peerId);
  }

  powerOf(indices: Iterable<number>): number {
    let sum = 0;
    const seen = new Set<number>();
    for (const i of indices) {
      if (seen.has(i)) continue;
      seen.add(i);
      sum += this.validators[i]?.power ?? 0;
    }
    return sum;
  }

  hasQuorum(indices: Iterable<number>): boolean {
    return this.powerOf(indices) >= this.quorumPower;
  }

  equals(other: ValidatorSet): boolean {
    return equalBytes(this.hash, other.hash);
  }

  describe(): Array<{ index: number; name: string; address: string; power: number; peerId: string }> {
    return this.validators.map((v) => ({
      index: v.index,
      name: v.name,
      address: formatAddress(v.address),
      power: v.power,
      peerId: v.peerId,
    }));
  }
}
