/**
 * How staking lives in the state trie, under its own key prefixes (hashed again by the secure
 * trie), so a state proof covers each of them:
 *
 *   0x03 ‖ address          → validator record  RLP([1, name, publicKey, blsPublicKey, blsPop,
 *                              vrfPublicKey|∅, status, jailedUntil, [[createdAt, completesAt, amount]…]])
 *   0x04 ‖ u64(height)      → unbonding due at that height: RLP([address…]) sorted
 *   0x05 ‖ u64(epoch)       → the validator set in force in that epoch: RLP([[name, publicKey,
 *                              blsPublicKey, blsPop, power, vrfPublicKey|∅]…]) in set order
 *   0x06                    → the registry: RLP([address…]) sorted — every candidate ever registered
 *   0x07                    → RLP([burned]): stake destroyed by slashing, for the supply account
 *   0x08 ‖ infraction id    → RLP([height]): an infraction already slashed (slashed once)
 *
 * A validator's bonded stake is its account's `stake` field; unbonding stake lives in its record
 * until it is paid out. Supply is conserved: Σ balance + Σ stake + Σ unbonding + burned is constant.
 */
import { concatBytes, u64be, utf8 } from '../../crypto/bytes.ts';
import { ADDRESS_LENGTH } from '../address.ts';
import { asBytes, asList, asSafeUint, asUint, asUtf8, rlpDecodeStrict, rlpEncode } from '../codec.ts';
import { MAX_VALIDATOR_NAME_LENGTH } from '../tx.ts';
import { peerIdFromEd25519, type ValidatorInfo } from '../validators.ts';
import { MAX_REGISTERED_VALIDATORS, MAX_SET_SIZE } from './config.ts';

export type ValidatorStatus = 'active' | 'jailed' | 'tombstoned';
const STATUS_CODES: readonly ValidatorStatus[] = ['active', 'jailed', 'tombstoned'];

export interface Unbonding {
  readonly createdAt: number;
  readonly completesAt: number;
  readonly amount: bigint;
}

export interface ValidatorRecord {
  readonly name: string;
  readonly publicKey: Uint8Array;
  readonly blsPublicKey: Uint8Array;
  readonly blsPop: Uint8Array;
  /** Empty: no VRF key. */
  readonly vrfPublicKey: Uint8Array;
  readonly status: ValidatorStatus;
  /** Height from which a jailed validator may unjail (0 when never jailed). */
  readonly jailedUntil: number;
  /** Oldest first. */
  readonly unbonding: readonly Unbonding[];
}

const T_VALIDATOR = 0x03;
const T_UNBONDING_DUE = 0x04;
const T_EPOCH_SET = 0x05;
const T_REGISTRY = 0x06;
const T_BURNED = 0x07;
const T_SLASHED = 0x08;

export const validatorKey = (address: Uint8Array) => concatBytes(new Uint8Array([T_VALIDATOR]), address);
export const unbondingDueKey = (height: number) =>
  concatBytes(new Uint8Array([T_UNBONDING_DUE]), u64be(height));
export const epochSetKey = (epoch: number) => concatBytes(new Uint8Array([T_EPOCH_SET]), u64be(epoch));
export const REGISTRY_KEY = new Uint8Array([T_REGISTRY]);
export const BURNED_KEY = new Uint8Array([T_BURNED]);
export const slashedKey = (infraction: Uint8Array) => concatBytes(new Uint8Array([T_SLASHED]), infraction);

const RECORD_VERSION = 1;

export function encodeValidatorRecord(r: ValidatorRecord): Uint8Array {
  return rlpEncode([
    RECORD_VERSION,
    utf8(r.name),
    r.publicKey,
    r.blsPublicKey,
    r.blsPop,
    r.vrfPublicKey,
    STATUS_CODES.indexOf(r.status),
    r.jailedUntil,
    r.unbonding.map((u) => [u.createdAt, u.completesAt, u.amount]),
  ]);
}

export function decodeValidatorRecord(bytes: Uint8Array): ValidatorRecord {
  const f = asList(rlpDecodeStrict(bytes, 8192, 'validator record'), 'validator record', 9);
  if (asSafeUint(f[0], 'validator.version') !== RECORD_VERSION)
    throw new Error('validator record: unknown version');
  const status = STATUS_CODES[asSafeUint(f[6], 'validator.status')];
  if (status === undefined) throw new Error('validator record: unknown status');
  return {
    name: asUtf8(f[1], 'validator.name', MAX_VALIDATOR_NAME_LENGTH),
    publicKey: asBytes(f[2], 'validator.publicKey', { length: 32 }),
    blsPublicKey: asBytes(f[3], 'validator.blsPublicKey', { length: 48 }),
    blsPop: asBytes(f[4], 'validator.blsPop', { length: 96 }),
    vrfPublicKey: asBytes(f[5], 'validator.vrfPublicKey', { max: 32 }),
    status,
    jailedUntil: asSafeUint(f[7], 'validator.jailedUntil'),
    unbonding: asList(f[8], 'validator.unbonding').map((u) => {
      const e = asList(u, 'unbonding', 3);
      return {
        createdAt: asSafeUint(e[0], 'unbonding.createdAt'),
        completesAt: asSafeUint(e[1], 'unbonding.completesAt'),
        amount: asUint(e[2], 'unbonding.amount', 16),
      };
    }),
  };
}

/** A sorted list of addresses (the registry, a due bucket). */
export function encodeAddressList(addresses: readonly Uint8Array[]): Uint8Array {
  return rlpEncode([...addresses]);
}

export function decodeAddressList(bytes: Uint8Array): Uint8Array[] {
  const items = asList(
    rlpDecodeStrict(bytes, (ADDRESS_LENGTH + 1) * MAX_REGISTERED_VALIDATORS + 8, 'addresses'),
    'addresses',
  );
  return items.map((a, i) => asBytes(a, `addresses[${i}]`, { length: ADDRESS_LENGTH }));
}

export function encodeValidatorList(set: readonly ValidatorInfo[]): Uint8Array {
  return rlpEncode(
    set.map((v) => [
      utf8(v.name),
      v.publicKey,
      v.blsPublicKey,
      v.blsPop,
      v.power,
      v.vrfPublicKey ?? new Uint8Array(0),
    ]),
  );
}

export function decodeValidatorList(bytes: Uint8Array): ValidatorInfo[] {
  const items = asList(rlpDecodeStrict(bytes, 300 * MAX_SET_SIZE, 'validator set'), 'validator set');
  return items.map((item, i) => {
    const f = asList(item, `set[${i}]`, 6);
    const publicKey = asBytes(f[1], 'set.publicKey', { length: 32 });
    const vrf = asBytes(f[5], 'set.vrfPublicKey', { max: 32 });
    return {
      name: asUtf8(f[0], 'set.name', MAX_VALIDATOR_NAME_LENGTH),
      publicKey,
      blsPublicKey: asBytes(f[2], 'set.blsPublicKey', { length: 48 }),
      blsPop: asBytes(f[3], 'set.blsPop', { length: 96 }),
      peerId: peerIdFromEd25519(publicKey),
      power: asSafeUint(f[4], 'set.power'),
      ...(vrf.length === 0 ? {} : { vrfPublicKey: vrf }),
    };
  });
}

export function encodeAmount(n: bigint): Uint8Array {
  return rlpEncode([n]);
}

export function decodeAmount(bytes: Uint8Array): bigint {
  return asUint(asList(rlpDecodeStrict(bytes, 32, 'amount'), 'amount', 1)[0], 'amount', 16);
}
