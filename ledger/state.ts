/**
 * The state machine: accounts and data records in a secure Merkle-Patricia trie, changed only by
 * `applyBlock`. Deterministic and pure over the trie (no clock, no I/O beyond the trie's store).
 *
 * Keys (hashed again by the secure trie): 0x01 ‖ address → RLP([nonce, balance, stake]);
 * 0x02 ‖ record key → RLP([owner address, value]); 0x03…0x08 staking (ledger/staking/records.ts);
 * 0x09 the latest membership request (ledger/membership.ts). An all-zero account is deleted, so the
 * state holds only accounts that exist.
 *
 * Rules:
 *  - a transaction whose nonce is not the sender's next nonce fails with BAD_NONCE and changes
 *    nothing (a replay can never take effect twice);
 *  - any other failure (funds, stake, record owned by someone else) consumes the nonce and changes
 *    nothing else;
 *  - checks happen before writes, so a failed transaction never leaves partial state, and a failed
 *    transaction never aborts its block;
 *  - transfers and stake moves conserve total supply (balance + stake over all accounts, plus
 *    unbonding stake and what slashing burned, when staking is on).
 *
 * With staking (genesis `staking`), `stake` bonds to the sender's validator record, `unstake`
 * starts an unbonding, and the end of each block pays out matured unbondings and, at an epoch's
 * last block, computes the next epoch's validator set (ledger/staking/lifecycle.ts).
 */

import { byteKey, concatBytes, equalBytes } from '../crypto/bytes.ts';
import { invariant } from '../crypto/errors.ts';
import { ADDRESS_LENGTH } from './address.ts';
import { asBytes, asList, asSafeUint, asUint, rlpDecodeStrict, rlpEncode } from './codec.ts';
import { membershipOperation } from './membership.ts';
import type { MerklePatriciaTrie } from './mpt/index.ts';
import { fail, OK, type Receipt } from './receipt.ts';
import { endBlock, type StakingRules, stakingOperation } from './staking/lifecycle.ts';
import { type EncodedTransaction, MAX_AMOUNT } from './tx.ts';

export interface Account {
  readonly nonce: number;
  readonly balance: bigint;
  readonly stake: bigint;
}

export interface DataRecord {
  readonly owner: Uint8Array;
  readonly value: Uint8Array;
}

export const EMPTY_ACCOUNT: Account = Object.freeze({ nonce: 0, balance: 0n, stake: 0n });
const ACCOUNT_TAG = new Uint8Array([0x01]);
const RECORD_TAG = new Uint8Array([0x02]);

export function accountKey(address: Uint8Array): Uint8Array {
  return concatBytes(ACCOUNT_TAG, address);
}

export function recordKey(key: Uint8Array): Uint8Array {
  return concatBytes(RECORD_TAG, key);
}

export function encodeAccount(a: Account): Uint8Array {
  return rlpEncode([a.nonce, a.balance, a.stake]);
}

export function decodeAccount(bytes: Uint8Array): Account {
  const f = asList(rlpDecodeStrict(bytes, 128, 'account'), 'account', 3);
  return {
    nonce: asSafeUint(f[0], 'account.nonce'),
    balance: asUint(f[1], 'account.balance', 16),
    stake: asUint(f[2], 'account.stake', 16),
  };
}

export function encodeRecord(r: DataRecord): Uint8Array {
  return rlpEncode([r.owner, r.value]);
}

export function decodeRecord(bytes: Uint8Array): DataRecord {
  const f = asList(rlpDecodeStrict(bytes, 64 * 1024, 'record'), 'record', 2);
  return {
    owner: asBytes(f[0], 'record.owner', { length: ADDRESS_LENGTH }),
    value: asBytes(f[1], 'record.value'),
  };
}

function isEmpty(a: Account): boolean {
  return a.nonce === 0 && a.balance === 0n && a.stake === 0n;
}

export class LedgerState {
  readonly trie: MerklePatriciaTrie;

  /**
   * Decoded accounts and records read or written since the last flush. A block touches the same
   * accounts again and again (a busy sender, a popular recipient): each is read from the trie and
   * decoded once, and written back once, at `flush()`.
   */
  readonly #accounts = new Map<string, { address: Uint8Array; account: Account; dirty: boolean }>();
  readonly #records = new Map<string, { key: Uint8Array; record: DataRecord | undefined; dirty: boolean }>();
  /** Other state entries (staking, membership), raw bytes by full trie key. */
  readonly #entries = new Map<string, { key: Uint8Array; value: Uint8Array | undefined; dirty: boolean }>();

  constructor(trie: MerklePatriciaTrie) {
    this.trie = trie;
  }

  /** The state root; `flush()` first if there were writes. */
  root(): Uint8Array {
    invariant(!this.#dirty(), 'LedgerState.root() with unflushed writes: call flush() first');
    return this.trie.root();
  }

  #dirty(): boolean {
    for (const a of this.#accounts.values()) if (a.dirty) return true;
    for (const r of this.#records.values()) if (r.dirty) return true;
    for (const e of this.#entries.values()) if (e.dirty) return true;
    return false;
  }

  /** `key` is `byteKey(address)` when the caller has it (`EncodedTransaction.fromKey`). */
  async getAccount(address: Uint8Array, key?: string): Promise<Account> {
    const k = key ?? byteKey(address);
    const cached = this.#accounts.get(k);
    if (cached !== undefined) return cached.account;
    const raw = await this.trie.get(accountKey(address));
    const account = raw === undefined ? EMPTY_ACCOUNT : decodeAccount(raw);
    this.#accounts.set(k, { address, account, dirty: false });
    return account;
  }

  async setAccount(address: Uint8Array, account: Account, key?: string): Promise<void> {
    this.#accounts.set(key ?? byteKey(address), { address, account, dirty: true });
  }

  async getRecord(key: Uint8Array): Promise<DataRecord | undefined> {
    const k = byteKey(key);
    const cached = this.#records.get(k);
    if (cached !== undefined) return cached.record;
    const raw = await this.trie.get(recordKey(key));
    const record = raw === undefined ? undefined : decodeRecord(raw);
    this.#records.set(k, { key, record, dirty: false });
    return record;
  }

  async setRecord(key: Uint8Array, record: DataRecord | undefined): Promise<void> {
    this.#records.set(byteKey(key), { key, record, dirty: true });
  }

  /**
   * A staking or membership entry's bytes by its full key (ledger/staking/records.ts,
   * ledger/membership.ts), undefined if absent.
   */
  async getEntry(key: Uint8Array): Promise<Uint8Array | undefined> {
    const k = byteKey(key);
    const cached = this.#entries.get(k);
    if (cached !== undefined) return cached.value;
    const value = await this.trie.get(key);
    this.#entries.set(k, { key, value, dirty: false });
    return value;
  }

  /** Sets (or with undefined, deletes) a staking or membership entry; written at `flush()`. */
  setEntry(key: Uint8Array, value: Uint8Array | undefined): void {
    invariant(
      key[0] !== 0x01 && key[0] !== 0x02,
      'setEntry is for staking and membership keys, not accounts or records',
    );
    this.#entries.set(byteKey(key), { key, value, dirty: true });
  }

  /** Writes every changed account, record and entry into the trie (in key order: deterministic). */
  async flush(): Promise<void> {
    const ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }> =
      [];
    for (const k of [...this.#accounts.keys()].sort()) {
      const a = this.#accounts.get(k) as { address: Uint8Array; account: Account; dirty: boolean };
      if (!a.dirty) continue;
      a.dirty = false;
      const key = accountKey(a.address);
      ops.push(
        isEmpty(a.account) ? { type: 'del', key } : { type: 'put', key, value: encodeAccount(a.account) },
      );
    }
    for (const k of [...this.#records.keys()].sort()) {
      const r = this.#records.get(k) as { key: Uint8Array; record: DataRecord | undefined; dirty: boolean };
      if (!r.dirty) continue;
      r.dirty = false;
      const key = recordKey(r.key);
      ops.push(
        r.record === undefined ? { type: 'del', key } : { type: 'put', key, value: encodeRecord(r.record) },
      );
    }
    for (const k of [...this.#entries.keys()].sort()) {
      const e = this.#entries.get(k) as { key: Uint8Array; value: Uint8Array | undefined; dirty: boolean };
      if (!e.dirty) continue;
      e.dirty = false;
      ops.push(
        e.value === undefined ? { type: 'del', key: e.key } : { type: 'put', key: e.key, value: e.value },
      );
    }
    if (ops.length > 0) await this.trie.batch(ops);
  }

  /**
   * Applies one already signature-checked transaction. Never throws for a valid transaction.
   * `rules` (the block's height, the genesis staking rules, the membership rules) matter only to
   * staking and membership operations.
   */
  async applyTransaction(etx: EncodedTransaction, rules: StakingRules = NO_STAKING): Promise<Receipt> {
    const { tx, from, fromKey } = etx;
    const sender = await this.getAccount(from, fromKey);
    if (tx.nonce !== sender.nonce) return fail('BAD_NONCE');
    const bumped: Account = { ...sender, nonce: sender.nonce + 1 };
    const op = tx.op;
    switch (op.type) {
      case 'transfer': {
        if (sender.balance < op.amount) return this.#consume(from, bumped, 'INSUFFICIENT_FUNDS');
        if (equalBytes(op.to, from)) {
          await this.setAccount(from, bumped, fromKey);
          return OK;
        }
        const toKey = byteKey(op.to);
        const recipient = await this.getAccount(op.to, toKey);
        if (recipient.balance + op.amount > MAX_AMOUNT)
          return this.#consume(from, bumped, 'BALANCE_OVERFLOW');
        await this.setAccount(from, { ...bumped, balance: sender.balance - op.amount }, fromKey);
        await this.setAccount(op.to, { ...recipient, balance: recipient.balance + op.amount }, toKey);
        return OK;
      }
      case 'put': {
        const existing = await this.getRecord(op.key);
        if (existing !== undefined && !equalBytes(existing.owner, from)) {
          return this.#consume(from, bumped, 'RECORD_OWNED_BY_OTHER');
        }
        await this.setAccount(from, bumped);
        // An empty value deletes the record (and releases the key).
        await this.setRecord(op.key, op.value.length === 0 ? undefined : { owner: from, value: op.value });
        return OK;
      }
      case 'register-validator':
      case 'unjail':
      case 'evidence':
        if (rules.staking === undefined) return this.#consume(from, bumped, 'STAKING_DISABLED');
        return stakingOperation(this, etx, bumped, rules);
      case 'membership':
        return membershipOperation(this, etx, bumped, rules);
      case 'stake': {
        if (rules.staking !== undefined) return stakingOperation(this, etx, bumped, rules);
        if (sender.balance < op.amount) return this.#consume(from, bumped, 'INSUFFICIENT_FUNDS');
        await this.setAccount(from, {
          ...bumped,
          balance: sender.balance - op.amount,
          stake: sender.stake + op.amount,
        });
        return OK;
      }
      case 'unstake': {
        if (rules.staking !== undefined) return stakingOperation(this, etx, bumped, rules);
        if (sender.stake < op.amount) return this.#consume(from, bumped, 'INSUFFICIENT_STAKE');
        await this.setAccount(from, {
          ...bumped,
          balance: sender.balance + op.amount,
          stake: sender.stake - op.amount,
        });
        return OK;
      }
    }
  }

  async #consume(address: Uint8Array, bumped: Account, code: Parameters<typeof fail>[0]): Promise<Receipt> {
    return this.consume(address, bumped, code);
  }

  /** A failed transaction: its nonce is used, nothing else changes. */
  async consume(address: Uint8Array, bumped: Account, code: Parameters<typeof fail>[0]): Promise<Receipt> {
    await this.setAccount(address, bumped);
    return fail(code);
  }
}

/** Rules for a chain without staking: the genesis set for ever. */
export const NO_STAKING: StakingRules = Object.freeze({ height: 0 });

export interface BlockExecution {
  readonly stateRoot: Uint8Array;
  readonly receipts: readonly Receipt[];
}

/**
 * Executes a block's transactions in order on `state` (mutating its trie, uncommitted), then the
 * block's end (staking: matured unbondings, and at an epoch's end the next set). Signatures and
 * chain ids must have been checked by block validation.
 */
export async function applyBlock(
  state: LedgerState,
  txs: readonly EncodedTransaction[],
  rules: StakingRules = NO_STAKING,
): Promise<BlockExecution> {
  const receipts: Receipt[] = [];
  const block = { ...rules, evidenceSeen: { count: 0 } };
  for (const etx of txs) receipts.push(await state.applyTransaction(etx, block));
  if (rules.staking !== undefined) await endBlock(state, rules);
  await state.flush();
  return { stateRoot: state.root(), receipts };
}
