/**
 * Signed transactions.
 *
 * Wire form (canonical RLP): [version, chainId, sender, nonce, operation, signature]
 *   operation: [1, to(20), amount] transfer | [2, key, value] put | [3, amount] stake | [4, amount] unstake
 *            | [5, name, blsPublicKey(48), blsPop(96), vrfPublicKey(32 or empty)] register-validator
 *            | [6] unjail | [7, evidence] evidence
 *            | [8, [voter(20)…], [learner(20)…]] membership
 * (5–7 take effect only on a chain whose genesis enables staking: ledger/staking; 8 only on a chain
 * without staking whose engine carries out membership changes: ledger/membership.ts.)
 * The signature is ed25519 over  "verity-tx-v1" ‖ 0x00 ‖ RLP([version, chainId, sender, nonce, operation])
 * — domain-separated from every other signed message, with the chain id inside so a transaction
 * never replays on another chain. The id is SHA-256 of the wire bytes; strict decoding and strict
 * signature verification (canonical S) mean a transaction has exactly one id.
 */
import { byteKey, bytesFromKey, concatBytes, toHex, utf8 } from '../crypto/bytes.ts';
import { ed25519 } from '../crypto/ed25519.ts';
import { onlyTyped, VerityError } from '../crypto/errors.ts';
import { sha256, sha256Key } from '../crypto/hash.ts';
import { LruCache } from '../crypto/lru.ts';
import type { BatchVerifier, VerifyPriority } from '../crypto/signature-batch.ts';
import { ADDRESS_LENGTH, addressFromPublicKey } from './address.ts';
import {
  asBytes,
  asList,
  asSafeUint,
  asUint,
  asUtf8,
  DecodeError,
  type RlpInput,
  type RlpItem,
  rlpDecodeStrict,
  rlpEncode,
} from './codec.ts';

export const TX_VERSION = 1;
export const DEFAULT_MAX_TX_BYTES = 64 * 1024;
export const MAX_CHAIN_ID_LENGTH = 64;
export const MAX_RECORD_KEY_LENGTH = 256;
export const MAX_RECORD_VALUE_LENGTH = 32 * 1024;
/** Amounts are unsigned 128-bit integers: large enough for any supply, small enough to bound work. */
export const MAX_AMOUNT = (1n << 128n) - 1n;

const SIGN_DOMAIN = concatBytes(utf8('verity-tx-v1'), new Uint8Array([0]));

export type Operation =
  | { readonly type: 'transfer'; readonly to: Uint8Array; readonly amount: bigint }
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'stake'; readonly amount: bigint }
  | { readonly type: 'unstake'; readonly amount: bigint }
  /** Registers the sender's ed25519 key as a validator candidate, with its BLS and VRF keys. */
  | {
      readonly type: 'register-validator';
      readonly name: string;
      readonly blsPublicKey: Uint8Array;
      readonly blsPop: Uint8Array;
      /** Empty when the validator has no VRF key (only sortition engines need one). */
      readonly vrfPublicKey: Uint8Array;
    }
  | { readonly type: 'unjail' }
  /** Verifiable misbehaviour of a validator (consensus/evidence.ts), executed by slashing. */
  | { readonly type: 'evidence'; readonly evidence: Uint8Array }
  /**
   * Asks the engine for a new membership: the validators (by address) that vote, and those that
   * only follow as learners. Disjoint lists, at least one voter (ledger/membership.ts).
   */
  | {
      readonly type: 'membership';
      readonly voters: readonly Uint8Array[];
      readonly learners: readonly Uint8Array[];
    };

export type OperationType = Operation['type'];

const OP_CODES: Record<OperationType, number> = {
  transfer: 1,
  put: 2,
  stake: 3,
  unstake: 4,
  'register-validator': 5,
  unjail: 6,
  evidence: 7,
  membership: 8,
};
export const MAX_VALIDATOR_NAME_LENGTH = 64;
/** Evidence of a double vote fits easily; a double proposal carrying two blocks may not (see ARCHITECTURE). */
export const MAX_EVIDENCE_TX_BYTES = 48 * 1024;
/** A membership request names 1..MAX_MEMBERSHIP_VOTERS voters and 0..MAX_MEMBERSHIP_LEARNERS learners. */
export const MAX_MEMBERSHIP_VOTERS = 64;
export const MAX_MEMBERSHIP_LEARNERS = 64;

export interface UnsignedTransaction {
  readonly chainId: string;
  /** ed25519 public key of the sender. */
  readonly sender: Uint8Array;
  readonly nonce: number;
  readonly op: Operation;
}

export interface Transaction extends UnsignedTransaction {
  readonly signature: Uint8Array;
}

/** A transaction together with its canonical bytes and derived identifiers, computed once. */
export interface EncodedTransaction {
  readonly tx: Transaction;
  readonly bytes: Uint8Array;
  readonly id: Uint8Array;
  /**
   * `byteKey(id)`: the key of every map and cache keyed by transaction id (mempool, seen-cache,
   * verified-id cache, gossip), made once per decoding — one string, so V8 hashes it once too.
   */
  readonly idKey: string;
  /** Address of the sender. */
  readonly from: Uint8Array;
  /** `byteKey(from)`: one string per recent sender, shared by its transactions. */
  readonly fromKey: string;
}

export type TxErrorCode =
  | 'TX_MALFORMED'
  | 'TX_TOO_LARGE'
  | 'TX_NON_CANONICAL'
  | 'TX_UNSUPPORTED_VERSION'
  | 'TX_UNKNOWN_OPERATION'
  | 'TX_INVALID_FIELD'
  | 'TX_WRONG_CHAIN'
  | 'TX_BAD_SIGNATURE';

export class TxError extends VerityError<TxErrorCode> {}

function invalid(message: string): TxError {
  return new TxError('TX_INVALID_FIELD', message);
}

/** Checks field ranges; used both when building and after decoding. */
export function validateFields(tx: UnsignedTransaction): void {
  if (
    typeof tx.chainId !== 'string' ||
    tx.chainId.length === 0 ||
    Buffer.byteLength(tx.chainId, 'utf8') > MAX_CHAIN_ID_LENGTH
  ) {
    throw invalid(`chainId must be 1..${MAX_CHAIN_ID_LENGTH} bytes of UTF-8`);
  }
  if (!(tx.sender instanceof Uint8Array) || tx.sender.length !== 32)
    throw invalid('sender must be a 32-byte key');
  if (!Number.isSafeInteger(tx.nonce) || tx.nonce < 0)
    throw invalid('nonce must be a non-negative safe integer');
  validateOperation(tx.op);
}

/** Checks an operation's fields (part of `validateFields`; the CLI checks what it builds with it). */
export function validateOperation(op: Operation): void {
  switch (op.type) {
    case 'transfer':
      if (!(op.to instanceof Uint8Array) || op.to.length !== ADDRESS_LENGTH) {
        throw invalid(`transfer.to must be a ${ADDRESS_LENGTH}-byte address`);
      }
      checkAmount(op.amount, 'transfer.amount');
      return;
    case 'put':
      if (!(op.key instanceof Uint8Array) || op.key.length === 0 || op.key.length > MAX_RECORD_KEY_LENGTH) {
        throw invalid(`put.key must be 1..${MAX_RECORD_KEY_LENGTH} bytes`);
      }
      if (!(op.value instanceof Uint8Array) || op.value.length > MAX_RECORD_VALUE_LENGTH) {
        throw invalid(`put.value must be at most ${MAX_RECORD_VALUE_LENGTH} bytes`);
      }
      return;
    case 'stake':
    case 'unstake':
      checkAmount(op.amount, `${op.type}.amount`);
      return;
    case 'register-validator': {
      const nameBytes = typeof op.name === 'string' ? Buffer.byteLength(op.name, 'utf8') : 0;
      if (nameBytes === 0 || nameBytes > MAX_VALIDATOR_NAME_LENGTH)
        throw invalid(`register-validator.name must be 1..${MAX_VALIDATOR_NAME_LENGTH} bytes of UTF-8`);
      if (!(op.blsPublicKey instanceof Uint8Array) || op.blsPublicKey.length !== 48)
        throw invalid('register-validator.blsPublicKey must be 48 bytes');
      if (!(op.blsPop instanceof Uint8Array) || op.blsPop.length !== 96)
        throw invalid('register-validator.blsPop must be 96 bytes');
      if (
        !(op.vrfPublicKey instanceof Uint8Array) ||
        (op.vrfPublicKey.length !== 0 && op.vrfPublicKey.length !== 32)
      )
        throw invalid('register-validator.vrfPublicKey must be 32 bytes, or empty for none');
      return;
    }
    case 'unjail':
      return;
    case 'evidence':
      if (
        !(op.evidence instanceof Uint8Array) ||
        op.evidence.length === 0 ||
        op.evidence.length > MAX_EVIDENCE_TX_BYTES
      )
        throw invalid(`evidence must be 1..${MAX_EVIDENCE_TX_BYTES} bytes`);
      return;
    case 'membership':
      checkMembership(op.voters, op.learners);
      return;
    default:
      throw new TxError(
        'TX_UNKNOWN_OPERATION',
        `unknown operation ${JSON.stringify((op as { type: unknown }).type)}`,
      );
  }
}

/** 1..64 voters, 0..64 learners, every one an address, none named twice (within or across lists). */
function checkMembership(voters: readonly Uint8Array[], learners: readonly Uint8Array[]): void {
  if (!Array.isArray(voters) || voters.length === 0 || voters.length > MAX_MEMBERSHIP_VOTERS)
    throw invalid(`membership.voters must list 1..${MAX_MEMBERSHIP_VOTERS} addresses`);
  if (!Array.isArray(learners) || learners.length > MAX_MEMBERSHIP_LEARNERS)
    throw invalid(`membership.learners must list 0..${MAX_MEMBERSHIP_LEARNERS} addresses`);
  const seen = new Set<string>();
  for (const [what, list] of [
    ['voters', voters],
    ['learners', learners],
  ] as const) {
    for (const address of list) {
      if (!(address instanceof Uint8Array) || address.length !== ADDRESS_LENGTH)
        throw invalid(`membership.${what} must be ${ADDRESS_LENGTH}-byte addresses`);
      const key = toHex(address);
      if (seen.has(key)) throw invalid(`membership names ${key} twice`);
      seen.add(key);
    }
  }
}

function checkAmount(amount: bigint, what: string): void {
  if (typeof amount !== 'bigint' || amount <= 0n || amount > MAX_AMOUNT) {
    throw invalid(`${what} must be an integer in 1..2^128-1`);
  }
}

function encodeOperation(op: Operation): RlpInput {
  switch (op.type) {
    case 'transfer':
      return [OP_CODES.transfer, op.to, op.amount];
    case 'put':
      return [OP_CODES.put, op.key, op.value];
    case 'stake':
      return [OP_CODES.stake, op.amount];
    case 'unstake':
      return [OP_CODES.unstake, op.amount];
    case 'register-validator':
      return [OP_CODES['register-validator'], utf8(op.name), op.blsPublicKey, op.blsPop, op.vrfPublicKey];
    case 'unjail':
      return [OP_CODES.unjail];
    case 'evidence':
      return [OP_CODES.evidence, op.evidence];
    case 'membership':
      return [OP_CODES.membership, [...op.voters], [...op.learners]];
  }
}

function unsignedFields(tx: UnsignedTransaction): RlpInput[] {
  return [TX_VERSION, utf8(tx.chainId), tx.sender, tx.nonce, encodeOperation(tx.op)];
}

/** The exact bytes the sender signs. */
export function signingBytes(tx: UnsignedTransaction): Uint8Array {
  return concatBytes(SIGN_DOMAIN, rlpEncode(unsignedFields(tx)));
}

/** The encoded signature item at the end of the wire list: 0xb8 0x40 followed by 64 bytes. */
const SIGNATURE_ITEM_LENGTH = 66;

/**
 * `signingBytes(encoded.tx)`, cut out of the canonical wire bytes instead of re-encoding: the wire
 * list is the signed list plus one trailing item, the 64-byte signature. Only the list header
 * changes. (test/unit/tx.test.ts checks both ways agree.)
 */
function signedMessageOf(encoded: EncodedTransaction): Uint8Array {
  const wire = encoded.bytes;
  const first = wire[0] as number;
  // Canonical list header: 0xc0+len for payloads < 56 bytes, else 0xf7+n followed by n length bytes.
  const headerLength = first <= 0xf7 ? 1 : 1 + (first - 0xf7);
  const payload = wire.length - headerLength - SIGNATURE_ITEM_LENGTH;
  if (first < 0xc0 || payload < 0) return signingBytes(encoded.tx); // not a canonical wire form
  const lengthBytes: number[] = [];
  for (let n = payload; n > 0; n = Math.floor(n / 256)) lengthBytes.unshift(n % 256);
  const header = payload < 56 ? [0xc0 + payload] : [0xf7 + lengthBytes.length, ...lengthBytes];
  const out = new Uint8Array(SIGN_DOMAIN.length + header.length + payload);
  out.set(SIGN_DOMAIN, 0);
  out.set(header, SIGN_DOMAIN.length);
  out.set(wire.subarray(headerLength, headerLength + payload), SIGN_DOMAIN.length + header.length);
  return out;
}

export function signTransaction(tx: UnsignedTransaction, secretKey: Uint8Array): EncodedTransaction {
  validateFields(tx);
  const signature = ed25519.sign(signingBytes(tx), secretKey);
  const signed: Transaction = { ...tx, signature };
  if (!ed25519.verify(signature, signingBytes(tx), tx.sender)) {
    throw new TxError('TX_BAD_SIGNATURE', 'the secret key does not match the sender public key');
  }
  return encodeTransaction(signed);
}

/** A transaction's id: the SHA-256 of its encoded bytes (what `EncodedTransaction.id` holds). */
export function transactionId(bytes: Uint8Array): Uint8Array {
  return sha256(bytes);
}

export function encodeTransaction(tx: Transaction): EncodedTransaction {
  const bytes = rlpEncode([...unsignedFields(tx), tx.signature]);
  return withIds(tx, bytes, sha256Key(bytes));
}

/** Addresses of recent senders and their keys: busy senders send many transactions, each decoded on every node. */
const senderAddresses = new LruCache<{ readonly address: Uint8Array; readonly key: string }>(65_536);

/** `idKey` is `sha256Key(bytes)`; the id's bytes are made from it. */
function withIds(tx: Transaction, bytes: Uint8Array, idKey: string): EncodedTransaction {
  const sender = senderAddresses.getOrMake(byteKey(tx.sender), () => {
    const address = addressFromPublicKey(tx.sender);
    return { address, key: byteKey(address) };
  });
  return { tx, bytes, id: bytesFromKey(idKey), idKey, from: sender.address, fromKey: sender.key };
}

function decodeOperation(item: RlpItem | undefined): Operation {
  const fields = asList(item, 'operation');
  const code = asSafeUint(fields[0], 'operation.type');
  const expect = (n: number) => {
    if (fields.length !== n)
      throw new DecodeError('MALFORMED', `operation: expected ${n} fields, got ${fields.length}`);
  };
  switch (code) {
    case OP_CODES.transfer:
      expect(3);
      return {
        type: 'transfer',
        to: asBytes(fields[1], 'transfer.to', { length: ADDRESS_LENGTH }),
        amount: asUint(fields[2], 'transfer.amount', 16),
      };
    case OP_CODES.put:
      expect(3);
      return {
        type: 'put',
        key: asBytes(fields[1], 'put.key', { max: MAX_RECORD_KEY_LENGTH }),
        value: asBytes(fields[2], 'put.value', { max: MAX_RECORD_VALUE_LENGTH }),
      };
    case OP_CODES.stake:
      expect(2);
      return { type: 'stake', amount: asUint(fields[1], 'stake.amount', 16) };
    case OP_CODES.unstake:
      expect(2);
      return { type: 'unstake', amount: asUint(fields[1], 'unstake.amount', 16) };
    case OP_CODES['register-validator']:
      expect(5);
      return {
        type: 'register-validator',
        name: asUtf8(fields[1], 'register-validator.name', MAX_VALIDATOR_NAME_LENGTH),
        blsPublicKey: asBytes(fields[2], 'register-validator.blsPublicKey', { length: 48 }),
        blsPop: asBytes(fields[3], 'register-validator.blsPop', { length: 96 }),
        vrfPublicKey: asBytes(fields[4], 'register-validator.vrfPublicKey', { max: 32 }),
      };
    case OP_CODES.unjail:
      expect(1);
      return { type: 'unjail' };
    case OP_CODES.evidence:
      expect(2);
      return { type: 'evidence', evidence: asBytes(fields[1], 'evidence', { max: MAX_EVIDENCE_TX_BYTES }) };
    case OP_CODES.membership:
      expect(3);
      return {
        type: 'membership',
        voters: decodeAddresses(fields[1], 'membership.voters', MAX_MEMBERSHIP_VOTERS),
        learners: decodeAddresses(fields[2], 'membership.learners', MAX_MEMBERSHIP_LEARNERS),
      };
    default:
      throw new TxError('TX_UNKNOWN_OPERATION', `unknown operation type ${code}`);
  }
}

/** A list of at most `max` addresses (duplicates are `validateFields`' to refuse). */
function decodeAddresses(item: RlpItem | undefined, what: string, max: number): Uint8Array[] {
  const list = asList(item, what);
  if (list.length > max) throw new DecodeError('MALFORMED', `${what}: ${list.length} entries exceeds ${max}`);
  return list.map((a, i) => asBytes(a, `${what}[${i}]`, { length: ADDRESS_LENGTH }));
}

/**
 * Strictly decodes wire bytes. Does not check the signature or chain (see `verifyTransaction`):
 * decoding is cheap and done first, so garbage is rejected before any signature work. `idKey` is
 * `sha256Key(bytes)` when the caller already hashed them (to look them up), so they are not
 * hashed again.
 */
export function decodeTransaction(
  bytes: Uint8Array,
  maxBytes = DEFAULT_MAX_TX_BYTES,
  idKey?: string,
): EncodedTransaction {
  try {
    const fields = asList(rlpDecodeStrict(bytes, maxBytes, 'transaction'), 'transaction');
    if (fields.length === 0) throw new DecodeError('MALFORMED', 'transaction: empty list');
    const version = asSafeUint(fields[0], 'version');
    if (version !== TX_VERSION) {
      throw new TxError('TX_UNSUPPORTED_VERSION', `unsupported transaction version ${version}`);
    }
    if (fields.length !== 6)
      throw new DecodeError('MALFORMED', `transaction: expected 6 fields, got ${fields.length}`);
    const tx: Transaction = {
      chainId: asUtf8(fields[1], 'chainId', MAX_CHAIN_ID_LENGTH),
      sender: asBytes(fields[2], 'sender', { length: 32 }),
      nonce: asSafeUint(fields[3], 'nonce'),
      op: decodeOperation(fields[4]),
      signature: asBytes(fields[5], 'signature', { length: 64 }),
    };
    validateFields(tx);
    return withIds(tx, bytes, idKey ?? sha256Key(bytes));
  } catch (e) {
    if (e instanceof TxError) throw e;
    if (e instanceof DecodeError) {
      const code =
        e.code === 'TOO_LARGE'
          ? 'TX_TOO_LARGE'
          : e.code === 'NON_CANONICAL'
            ? 'TX_NON_CANONICAL'
            : 'TX_MALFORMED';
      throw new TxError(code, e.message, e.meta as Record<string, unknown>);
    }
    // Another typed error is still the bytes' fault; anything else is a bug here, and propagates.
    throw new TxError('TX_MALFORMED', `transaction: ${onlyTyped(e).message}`);
  }
}

/**
 * Ids of transactions whose signature already verified. The id hashes the complete signed bytes,
 * so the same id means the same check with the same answer: a node verifies each transaction
 * once, not once at admission, again for every gossiped copy, and again in the block.
 */
const verified = new LruCache<true>(200_000);

function wrongChain(encoded: EncodedTransaction, chainId: string): TxError | undefined {
  return encoded.tx.chainId === chainId
    ? undefined
    : new TxError('TX_WRONG_CHAIN', `transaction is for chain "${encoded.tx.chainId}", this is "${chainId}"`);
}

const badSignature = () => new TxError('TX_BAD_SIGNATURE', 'transaction signature does not verify');

/** Checks the chain id and the signature. Throws TX_WRONG_CHAIN / TX_BAD_SIGNATURE. */
export function verifyTransaction(encoded: EncodedTransaction, chainId: string): void {
  const wrong = wrongChain(encoded, chainId);
  if (wrong !== undefined) throw wrong;
  const key = encoded.idKey;
  if (verified.has(key)) return;
  if (!ed25519.verify(encoded.tx.signature, signedMessageOf(encoded), encoded.tx.sender))
    throw badSignature();
  verified.set(key, true);
}

/**
 * `verifyTransaction` for many at once, the signatures checked by `verifier` (a worker pool, or
 * this thread): the same verdicts and the same cache. One entry per transaction, in order: the
 * TX_WRONG_CHAIN / TX_BAD_SIGNATURE error it would have thrown, or undefined when it verifies.
 */
export async function verifyTransactions(
  encoded: readonly EncodedTransaction[],
  chainId: string,
  verifier: BatchVerifier,
  priority: VerifyPriority = 'bulk',
): Promise<Array<TxError | undefined>> {
  const out = encoded.map((etx) => wrongChain(etx, chainId));
  // Each unverified transaction's cache key, kept to remember it once its signature checks out.
  const todo: Array<{ index: number; key: string }> = [];
  out.forEach((e, index) => {
    if (e !== undefined) return;
    const key = (encoded[index] as EncodedTransaction).idKey;
    if (!verified.has(key)) todo.push({ index, key });
  });
  if (todo.length === 0) return out;
  const answers = await verifier.verifyMany(
    todo.map(({ index, key }) => {
      const etx = encoded[index] as EncodedTransaction;
      return {
        signature: etx.tx.signature,
        message: signedMessageOf(etx),
        publicKey: etx.tx.sender,
        // Verified by another batch while this one waited (a block's, ahead of gossip's): the id
        // hashes every signed byte, so it is this very check, answered.
        knownValid: () => verified.has(key),
      };
    }),
    priority,
  );
  todo.forEach(({ index, key }, j) => {
    if (answers[j] === true) verified.set(key, true);
    else out[index] = badSignature();
  });
  return out;
}

/** Decode + verify: what a node does with bytes from a client or a peer. */
export function parseTransaction(
  bytes: Uint8Array,
  chainId: string,
  maxBytes = DEFAULT_MAX_TX_BYTES,
): EncodedTransaction {
  const encoded = decodeTransaction(bytes, maxBytes);
  verifyTransaction(encoded, chainId);
  return encoded;
}
