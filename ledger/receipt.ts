/**
 * Receipts and transparency-log entries. Every committed transaction — successful or not — is
 * appended to the log as  RLP([height, txId, receiptCode]), so an RFC 9162 inclusion proof shows
 * both that the transaction was committed (and where) and what it did.
 */
import { VerityError } from '../crypto/errors.ts';
import { asBytes, asList, asSafeUint, type RlpItem, rlpDecodeStrict, rlpEncode } from './codec.ts';

/** Failure codes, by wire number. Numbers are append-only: never renumber. */
export const RECEIPT_CODES = [
  'OK',
  'BAD_NONCE',
  'INSUFFICIENT_FUNDS',
  'INSUFFICIENT_STAKE',
  'RECORD_OWNED_BY_OTHER',
  'BALANCE_OVERFLOW',
  // Staking (ledger/staking): the validator lifecycle and slashing.
  'STAKING_DISABLED',
  'NOT_PERMITTED',
  'NOT_A_VALIDATOR',
  'ALREADY_REGISTERED',
  'INVALID_VALIDATOR_KEY',
  'DUPLICATE_VALIDATOR_KEY',
  'REGISTRY_FULL',
  'TOO_MANY_UNBONDINGS',
  'VALIDATOR_TOMBSTONED',
  'NOT_JAILED',
  'STILL_JAILED',
  'EVIDENCE_INVALID',
  'EVIDENCE_TOO_OLD',
  'EVIDENCE_DUPLICATE',
  'EVIDENCE_LIMIT',
  // Membership requests (ledger/membership.ts); a sender outside the validators is NOT_A_VALIDATOR.
  /** The chain's engine does not carry out membership requests, or the chain has staking. */
  'MEMBERSHIP_UNSUPPORTED',
  /** A voter or learner named is not one of the chain's validators. */
  'UNKNOWN_MEMBER',
] as const;

export type ReceiptFailureCode = Exclude<(typeof RECEIPT_CODES)[number], 'OK'>;
export type Receipt = { readonly ok: true } | { readonly ok: false; readonly code: ReceiptFailureCode };

export const OK: Receipt = Object.freeze({ ok: true });

export function fail(code: ReceiptFailureCode): Receipt {
  return { ok: false, code };
}

export function receiptCodeNumber(r: Receipt): number {
  return r.ok ? 0 : RECEIPT_CODES.indexOf(r.code);
}

export function receiptFromNumber(n: number): Receipt {
  const name = RECEIPT_CODES[n];
  if (name === undefined) throw new VerityError('MALFORMED', `unknown receipt code ${n}`);
  return name === 'OK' ? OK : fail(name);
}

export interface LogEntry {
  readonly height: number;
  readonly txId: Uint8Array;
  readonly receipt: Receipt;
}

export function encodeLogEntry(e: LogEntry): Uint8Array {
  return rlpEncode([e.height, e.txId, receiptCodeNumber(e.receipt)]);
}

export function decodeLogEntryItem(item: RlpItem | undefined): LogEntry {
  const f = asList(item, 'log entry', 3);
  return {
    height: asSafeUint(f[0], 'log entry height'),
    txId: asBytes(f[1], 'log entry txId', { length: 32 }),
    receipt: receiptFromNumber(asSafeUint(f[2], 'log entry receipt')),
  };
}

export function decodeLogEntry(bytes: Uint8Array): LogEntry {
  return decodeLogEntryItem(rlpDecodeStrict(bytes, 128, 'log entry'));
}

export function receiptToJson(r: Receipt): { ok: boolean; code?: string } {
  return r.ok ? { ok: true } : { ok: false, code: r.code };
}
