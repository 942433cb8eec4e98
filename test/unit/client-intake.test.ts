/**
 * Client intake (src/runtime/client-intake.ts) against a scripted mempool: a node catching up
 * turns the refusals its stale state can cause into a retryable NODE_SYNCING naming the heights,
 * and leaves every other answer — and admission itself — as it was.
 */
import { describe, expect, it } from 'vitest';
import { ed25519 } from '../../crypto/ed25519.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { type EncodedTransaction, signTransaction } from '../../ledger/tx.ts';
import { ClientIntake } from '../../src/runtime/client-intake.ts';
import type { AdmitCode, AdmitResult, Mempool } from '../../src/runtime/mempool.ts';

const KEY = ed25519.keygen(new Uint8Array(32).fill(9));

function tx(nonce: number): EncodedTransaction {
  return signTransaction(
    {
      chainId: 'c',
      sender: KEY.publicKey,
      nonce,
      op: { type: 'transfer', to: addressFromPublicKey(KEY.publicKey), amount: 1n },
    },
    KEY.secretKey,
  );
}

const REFUSALS: AdmitCode[] = [
  'DUPLICATE',
  'NONCE_TOO_LOW',
  'NONCE_TOO_HIGH',
  'NONCE_TAKEN',
  'INSUFFICIENT_FUNDS',
  'SENDER_LIMIT',
  'MEMPOOL_FULL',
];
/** What a node behind its peers can answer wrongly. */
const STALE: AdmitCode[] = ['NONCE_TOO_HIGH', 'INSUFFICIENT_FUNDS', 'SENDER_LIMIT', 'MEMPOOL_FULL'];

/** An intake whose mempool answers `answers` in turn; intake runs when `drain()` is called. */
function setup(answers: AdmitResult[], opts: { syncing?: boolean; overloaded?: boolean } = {}) {
  const queued: Array<() => Promise<void> | void> = [];
  const gossiped: Uint8Array[] = [];
  const state = { syncing: opts.syncing ?? false, stopped: false, statusAsked: 0, added: 0 };
  const mempool = {
    add: async () => {
      state.added++;
      return answers.shift() ?? { ok: true };
    },
    includableAtLeast: () => opts.overloaded ?? false,
  } as unknown as Mempool;
  const intake = new ClientIntake({
    events: {
      intake: { events: queued.length, bytes: 0 },
      get stopped() {
        return state.stopped;
      },
      enqueueIntake: (fn) => {
        queued.push(fn);
      },
    },
    mempool,
    maxBlockTxs: 100,
    gossip: (bytes) => gossiped.push(bytes),
    syncStatus: () => {
      state.statusAsked++;
      return { syncing: state.syncing, bestPeerHeight: state.syncing ? 40 : 3 };
    },
    height: () => 3,
  });
  const drain = async () => {
    for (let fn = queued.shift(); fn !== undefined; fn = queued.shift()) await fn();
  };
  return { intake, gossiped, state, drain };
}

async function admitted(s: ReturnType<typeof setup>, etxs: EncodedTransaction[]): Promise<AdmitResult[]> {
  const answer = s.intake.admit(etxs, (r) => r);
  await s.drain();
  return answer;
}

describe('client intake on a node that is not catching up', () => {
  it('passes every mempool answer through unchanged, and gossips what was admitted', async () => {
    const answers = REFUSALS.map((code) => ({ ok: false, code, reason: code }) as AdmitResult);
    const s = setup([...answers, { ok: true }]);
    const txs = Array.from({ length: answers.length + 1 }, (_, i) => tx(i));
    expect(await admitted(s, txs)).toEqual([...answers, { ok: true }]);
    expect(s.gossiped).toEqual([txs.at(-1)?.bytes]);
  });

  it('an overloaded node refuses MEMPOOL_FULL before the pool is asked', async () => {
    const s = setup([], { overloaded: true });
    expect(await admitted(s, [tx(0), tx(1)])).toMatchObject([
      { ok: false, code: 'MEMPOOL_FULL' },
      { ok: false, code: 'MEMPOOL_FULL' },
    ]);
    expect(s.state.added).toBe(0);
  });
});

describe('client intake on a node catching up', () => {
  it('answers NODE_SYNCING, naming both heights, for each refusal stale state can cause', async () => {
    for (const code of STALE) {
      const s = setup([{ ok: false, code, reason: code }], { syncing: true });
      const [r] = await admitted(s, [tx(0)]);
      expect(r, code).toMatchObject({ ok: false, code: 'NODE_SYNCING' });
      expect((r as { reason: string }).reason).toMatch(/at height 3, its peers at 40/);
    }
  });

  it('keeps the refusals stale state cannot cause, and still admits and gossips', async () => {
    const kept = REFUSALS.filter((c) => !STALE.includes(c));
    const answers = kept.map((code) => ({ ok: false, code, reason: code }) as AdmitResult);
    const s = setup([...answers, { ok: true }], { syncing: true });
    const txs = Array.from({ length: answers.length + 1 }, (_, i) => tx(i));
    expect(await admitted(s, txs)).toEqual([...answers, { ok: true }]);
    expect(s.gossiped).toEqual([txs.at(-1)?.bytes]);
    expect(s.state.statusAsked).toBe(0); // no refusal needed it
  });

  it('converts only the stale refusal in a batch: the rest are admitted and gossiped', async () => {
    const high = { ok: false, code: 'NONCE_TOO_HIGH', reason: 'ahead' } as const;
    const s = setup([{ ok: true }, high, { ok: true }], { syncing: true });
    const txs = [tx(0), tx(1), tx(2)];
    const r = await admitted(s, txs);
    expect(r.map((x) => (x.ok ? 'ok' : x.code))).toEqual(['ok', 'NODE_SYNCING', 'ok']);
    expect(s.state.added).toBe(3);
    expect(s.gossiped).toEqual([txs[0]?.bytes, txs[2]?.bytes]);
  });

  it('asks block sync once per unit, however many refusals', async () => {
    const full = { ok: false, code: 'MEMPOOL_FULL', reason: 'full' } as const;
    const s = setup([full, full, full], { syncing: true });
    const r = await admitted(s, [tx(0), tx(1), tx(2)]);
    expect(r.map((x) => (x.ok ? 'ok' : x.code))).toEqual(['NODE_SYNCING', 'NODE_SYNCING', 'NODE_SYNCING']);
    expect(s.state.statusAsked).toBe(1);
  });

  it('an overloaded node catching up says NODE_SYNCING, not MEMPOOL_FULL', async () => {
    const s = setup([], { syncing: true, overloaded: true });
    expect(await admitted(s, [tx(0)])).toMatchObject([{ ok: false, code: 'NODE_SYNCING' }]);
    expect(s.state.added).toBe(0);
  });
});

describe('client intake when consensus stops', () => {
  it('answers NODE_HALTED at once once stopped, and to every submission still queued', async () => {
    const s = setup([]);
    const queued = s.intake.admit([tx(0)], (r) => r);
    s.intake.answerHalted();
    expect(await queued).toMatchObject([{ ok: false, code: 'NODE_HALTED' }]);
    s.state.stopped = true;
    expect(await s.intake.admit([tx(1)], (r) => r)).toMatchObject([{ ok: false, code: 'NODE_HALTED' }]);
  });

  it('a halted node with a full pool says NODE_HALTED, not MEMPOOL_FULL or NODE_SYNCING', async () => {
    const s = setup([], { overloaded: true, syncing: true });
    expect(s.intake.overloaded).toBe(true);
    s.state.stopped = true;
    expect(s.intake.overloaded).toBe(false); // so the RPC does not refuse it as overloaded either
    expect(await s.intake.admit([tx(0)], (r) => r)).toMatchObject([{ ok: false, code: 'NODE_HALTED' }]);
  });
});
