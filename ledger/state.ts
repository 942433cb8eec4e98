/**
 * The state machine: accounts and data records in a secure Merkle-Patricia trie, changed only by
 * `applyBlock`. Deterministic and pure over the trie (no clock, no I/O beyond the trie's store).
 *
 * Keys (hashed again by the secure trie): 0x01 ‖ address → RLP([nonce, balance, stake]);
 * 0x02 ‖ record key → RLP([owner address, value]). An all-zero account is deleted, so the state
 * holds only accounts that exist.
 *
 * Rules:
 *  - a transaction whose nonce is not the sender's next nonce fails with BAD_NONCE and changes
 *    nothing (a replay can never take effect twice);
 *  - any other failure (funds, stake, record owned by someone else) consumes the nonce and changes
 *    nothing else;
 *  - checks happen before writes, so a failed transaction never leaves partial state, and a failed
 *    transaction never aborts its block;
 *  - transfers and stake moves conserve total supply (balance + stake over all accounts).
 */
import { concatBytes, equalBytes } from '../crypto/bytes.ts';
import { ADDRESS_LENGTH } from './address.ts';
import { asBytes, asList, asSafeUint, asUint, rlpDecodeStrict, rlpEncode } from './codec.ts';
import type { MerklePatriciaTrie } from './mpt/index.ts';
import { fail, OK, type Receipt } from './receipt.ts';
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

  constructor(trie: MerklePatriciaTrie) {
    this.trie = trie;
  }

  root(): Uint8Array {
    return this.trie.root();
  }

  async getAccount(address: Uint8Array): Promise<Account> {
    const raw = await this.trie.get(accountKey(address));
    return raw === undefined ? EMPTY_ACCOUNT : decodeAccount(raw);
  }

  async setAccount(address: Uint8Array, account: Account): Promise<void> {
    if (isEmpty(account)) await this.trie.del(accountKey(address));
    else await this.trie.put(accountKey(address), encodeAccount(account));
  }

  async getRecord(key: Uint8Array): Promise<DataRecord | undefined> {
    const raw = await this.trie.get(recordKey(key));
    return raw === undefined ? undefined : decodeRecord(raw);
  }

  /** Applies one already signature-checked transaction. Never throws for a valid transaction. */
  async applyTransaction(etx: EncodedTransaction): Promise<Receipt> {
    const { tx, from } = etx;
    const sender = await this.getAccount(from);
    if (tx.nonce !== sender.nonce) return fail('BAD_NONCE');
    const bumped: Account = { ...sender, nonce: sender.nonce + 1 };
    const op = tx.op;
    switch (op.type) {
      case 'transfer': {
        if (sender.balance < op.amount) return this.#consume(from, bumped, 'INSUFFICIENT_FUNDS');
        if (equalBytes(op.to, from)) {
          await this.setAccount(from, bumped);
          return OK;
        }
        const recipient = await this.getAccount(op.to);
        if (recipient.balance + op.amount > MAX_AMOUNT)
          return this.#consume(from, bumped, 'BALANCE_OVERFLOW');
        await this.setAccount(from, { ...bumped, balance: sender.balance - op.amount });
        await this.setAccount(op.to, { ...recipient, balance: recipient.balance + op.amount });
        return OK;
      }
      case 'put': {
        const existing = await this.getRecord(op.key);
        if (existing !== undefined && !equalBytes(existing.owner, from)) {
          return this.#consume(from, bumped, 'RECORD_OWNED_BY_OTHER');
        }
        await this.setAccount(from, bumped);
        // An empty value deletes the record (and releases the key).
        if (op.value.length === 0) await this.trie.del(recordKey(op.key));
        else await this.trie.put(recordKey(op.key), encodeRecord({ owner: from, value: op.value }));
        return OK;
      }
      case 'stake': {
        if (sender.balance < op.amount) return this.#consume(from, bumped, 'INSUFFICIENT_FUNDS');
        await this.setAccount(from, {
          ...bumped,
          balance: sender.balance - op.amount,
          stake: sender.stake + op.amount,
        });
        return OK;
      }
      case 'unstake': {
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
    await this.setAccount(address, bumped);
    return fail(code);
  }
}

export interface BlockExecution {
  readonly stateRoot: Uint8Array;
  readonly receipts: readonly Receipt[];
}

/**
 * Executes a block's transactions in order on `state` (mutating its trie, uncommitted).
 * Signatures and chain ids must have been checked by block validation.
 */
export async function applyBlock(
  state: LedgerState,
  txs: readonly EncodedTransaction[],
): Promise<BlockExecution> {
  const receipts: Receipt[] = [];
  for (const etx of txs) receipts.push(await state.applyTransaction(etx));
  return { stateRoot: state.root(), receipts };
}
