import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { MerklePatriciaTrie } from '../../ledger/mpt/index.ts';
import type { Receipt } from '../../ledger/receipt.ts';
import { type Account, applyBlock, LedgerState } from '../../ledger/state.ts';
import { type EncodedTransaction, type Operation, signTransaction } from '../../ledger/tx.ts';
import { type TestKey, testKey } from '../helpers/chain.ts';

const CHAIN = 'state-test';
const users = Array.from({ length: 5 }, (_, i) => testKey(`state-user-${i}`));
const INITIAL = 1000n;

/** The simplest possible model of the rules, to compare receipts and balances against. */
class ReferenceModel {
  accounts = new Map<string, Account>();
  records = new Map<string, { owner: string; value: string }>();
  get(addr: Uint8Array): Account {
    return this.accounts.get(toHex(addr)) ?? { nonce: 0, balance: 0n, stake: 0n };
  }
  set(addr: Uint8Array, a: Account) {
    this.accounts.set(toHex(addr), a);
  }
  apply(from: Uint8Array, nonce: number, op: Operation): Receipt {
    const s = this.get(from);
    if (nonce !== s.nonce) return { ok: false, code: 'BAD_NONCE' };
    const bumped = { ...s, nonce: s.nonce + 1 };
    const failWith = (
      code: 'INSUFFICIENT_FUNDS' | 'INSUFFICIENT_STAKE' | 'RECORD_OWNED_BY_OTHER',
    ): Receipt => {
      this.set(from, bumped);
      return { ok: false, code };
    };
    switch (op.type) {
      case 'transfer': {
        if (s.balance < op.amount) return failWith('INSUFFICIENT_FUNDS');
        this.set(from, { ...bumped, balance: s.balance - op.amount });
        const r = this.get(op.to);
        this.set(op.to, { ...r, balance: r.balance + op.amount });
        return { ok: true };
      }
      case 'stake':
        if (s.balance < op.amount) return failWith('INSUFFICIENT_FUNDS');
        this.set(from, { ...bumped, balance: s.balance - op.amount, stake: s.stake + op.amount });
        return { ok: true };
      case 'unstake':
        if (s.stake < op.amount) return failWith('INSUFFICIENT_STAKE');
        this.set(from, { ...bumped, balance: s.balance + op.amount, stake: s.stake - op.amount });
        return { ok: true };
      case 'put': {
        const k = toHex(op.key);
        const existing = this.records.get(k);
        if (existing && existing.owner !== toHex(from)) return failWith('RECORD_OWNED_BY_OTHER');
        this.set(from, bumped);
        if (op.value.length === 0) this.records.delete(k);
        else this.records.set(k, { owner: toHex(from), value: toHex(op.value) });
        return { ok: true };
      }
      default:
        throw new Error(`the model has no staking: ${op.type}`);
    }
  }
}

const opArb = fc.oneof(
  fc.record({ kind: fc.constant('transfer' as const), to: fc.nat(4), amount: fc.bigInt(1n, 600n) }),
  fc.record({ kind: fc.constant('stake' as const), amount: fc.bigInt(1n, 400n) }),
  fc.record({ kind: fc.constant('unstake' as const), amount: fc.bigInt(1n, 400n) }),
  fc.record({
    kind: fc.constant('put' as const),
    key: fc.constantFrom('a', 'b', 'c'),
    value: fc.constantFrom('', 'x', 'yy'),
  }),
);
const txArb = fc.record({ sender: fc.nat(4), nonceSkew: fc.constantFrom(0, 0, 0, 0, -1, 1), op: opArb });
const workloadArb = fc.array(fc.array(txArb, { maxLength: 12 }), { minLength: 1, maxLength: 6 });

async function freshState(store = new MemoryKvStore()): Promise<LedgerState> {
  const state = new LedgerState(await MerklePatriciaTrie.create({ store, secure: true }));
  for (const u of users) await state.setAccount(u.address, { nonce: 0, balance: INITIAL, stake: 0n });
  await state.flush();
  return state;
}

type OpSpec = { kind: string; to?: number; amount?: bigint; key?: string; value?: string };
function toOperation(op: OpSpec): Operation {
  switch (op.kind) {
    case 'transfer':
      return {
        type: 'transfer',
        to: (users[op.to as number] as TestKey).address,
        amount: op.amount as bigint,
      };
    case 'stake':
      return { type: 'stake', amount: op.amount as bigint };
    case 'unstake':
      return { type: 'unstake', amount: op.amount as bigint };
    default:
      return { type: 'put', key: utf8(op.key as string), value: utf8(op.value as string) };
  }
}

describe('state machine', () => {
  it('matches a reference model, conserves supply, and is deterministic across stores', async () => {
    await fc.assert(
      fc.asyncProperty(workloadArb, async (blocks) => {
        const a = await freshState();
        const b = await freshState(new MemoryKvStore());
        const model = new ReferenceModel();
        for (const u of users) model.set(u.address, { nonce: 0, balance: INITIAL, stake: 0n });
        const nonces = users.map(() => 0);
        for (const block of blocks) {
          const modelReceipts: Receipt[] = [];
          const txs: EncodedTransaction[] = block.map((t) => {
            const sender = users[t.sender] as TestKey;
            const nonce = Math.max(0, (nonces[t.sender] as number) + t.nonceSkew);
            const etx = signTransaction(
              { chainId: CHAIN, sender: sender.publicKey, nonce, op: toOperation(t.op) },
              sender.secretKey,
            );
            const receipt = model.apply(sender.address, nonce, etx.tx.op);
            modelReceipts.push(receipt);
            if (receipt.ok || receipt.code !== 'BAD_NONCE') nonces[t.sender] = nonce + 1;
            return etx;
          });
          const ra = await applyBlock(a, txs);
          const rb = await applyBlock(b, txs);
          expect(toHex(ra.stateRoot)).toBe(toHex(rb.stateRoot));
          expect(ra.receipts).toEqual(modelReceipts);
        }
        let supply = 0n;
        for (const u of users) {
          const acc = await a.getAccount(u.address);
          const m = model.get(u.address);
          expect(acc).toEqual(m);
          supply += acc.balance + acc.stake;
        }
        expect(supply).toBe(INITIAL * BigInt(users.length));
        for (const [k, rec] of model.records) {
          const got = await a.getRecord(Buffer.from(k, 'hex'));
          expect(got && toHex(got.owner)).toBe(rec.owner);
          expect(got && toHex(got.value)).toBe(rec.value);
        }
      }),
      { numRuns: 60, seed: 42 },
    );
  });

  it('gives each transaction its receipt and never aborts the block on a failure', async () => {
    const state = await freshState();
    const [u0, u1] = users as [TestKey, TestKey];
    const sign = (u: TestKey, nonce: number, op: Operation) =>
      signTransaction({ chainId: CHAIN, sender: u.publicKey, nonce, op }, u.secretKey);
    const txs = [
      sign(u0, 0, { type: 'transfer', to: u1.address, amount: 10n }),
      sign(u0, 0, { type: 'transfer', to: u1.address, amount: 10n }), // replay → BAD_NONCE
      sign(u0, 1, { type: 'transfer', to: u1.address, amount: 10_000n }), // too much → INSUFFICIENT_FUNDS, nonce consumed
      sign(u0, 2, { type: 'unstake', amount: 1n }),
      sign(u0, 3, { type: 'put', key: utf8('k'), value: utf8('v') }),
      sign(u1, 0, { type: 'put', key: utf8('k'), value: utf8('mine') }),
      sign(u0, 4, { type: 'stake', amount: 90n }),
      sign(u0, 9, { type: 'stake', amount: 1n }), // future nonce → BAD_NONCE
    ];
    const { receipts } = await applyBlock(state, txs);
    expect(receipts.map((r) => (r.ok ? 'OK' : r.code))).toEqual([
      'OK',
      'BAD_NONCE',
      'INSUFFICIENT_FUNDS',
      'INSUFFICIENT_STAKE',
      'OK',
      'RECORD_OWNED_BY_OTHER',
      'OK',
      'BAD_NONCE',
    ]);
    expect(await state.getAccount(u0.address)).toEqual({
      nonce: 5,
      balance: INITIAL - 10n - 90n,
      stake: 90n,
    });
    expect(await state.getAccount(u1.address)).toEqual({ nonce: 1, balance: INITIAL + 10n, stake: 0n });
    expect(Buffer.from((await state.getRecord(utf8('k')))?.value ?? []).toString()).toBe('v');
  });

  it('deletes an account that becomes empty, so the root equals a state that never had it', async () => {
    const store = new MemoryKvStore();
    const state = new LedgerState(await MerklePatriciaTrie.create({ store, secure: true }));
    const before = toHex(state.root());
    await state.setAccount(users[0]!.address, { nonce: 0, balance: 5n, stake: 0n });
    expect(() => state.root()).toThrow(/flush/);
    await state.flush();
    expect(toHex(state.root())).not.toBe(before);
    await state.setAccount(users[0]!.address, { nonce: 0, balance: 0n, stake: 0n });
    await state.flush();
    expect(toHex(state.root())).toBe(before);
  });
});
