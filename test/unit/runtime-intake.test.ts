/**
 * Transaction intake in the runtime: a batch of client transactions is admitted as one unit;
 * queued intake is bounded by bytes as well as by units — a unit may be one transaction or a
 * thousand, so a bound on units alone would let batches queue without limit; and clients are
 * turned away while the mempool already holds two full blocks.
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../../consensus/registry.ts';
import { SeededRng } from '../../consensus/rng.ts';
import { LEDGER_CERTIFICATE_SCHEMES } from '../../ledger/certificate.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { type EncodedTransaction, signTransaction } from '../../ledger/tx.ts';
import type { Timers, Transport } from '../../src/runtime/ports.ts';
import { ConsensusRuntime } from '../../src/runtime/runtime.ts';
import { makeTestChain, type TestKey } from '../helpers/chain.ts';

const chain = makeTestChain({ validators: 4, accounts: 8 });

/** An observer node (no keys) with a silent network and timers that never fire. */
async function observer(maxBlockTxs?: number): Promise<ConsensusRuntime<unknown>> {
  const transport: Transport = {
    self: 'me',
    send: () => undefined,
    broadcast: () => undefined,
    onMessage: () => undefined,
    peers: () => [],
    penalize: () => undefined,
  };
  const timers: Timers = { set: () => undefined, cancel: () => undefined, cancelAll: () => undefined };
  const runtime = new ConsensusRuntime({
    engine: getEngine('tendermint') as NonNullable<ReturnType<typeof getEngine>>,
    genesis: chain.genesis,
    chain: await ChainStore.open(new MemoryKvStore(), chain.genesis, { schemes: LEDGER_CERTIFICATE_SCHEMES }),
    transport,
    timers,
    clock: { now: () => 1_700_000_000_000 },
    wal: new MemoryKvStore(),
    keys: undefined,
    rng: new SeededRng('runtime-intake'),
    ...(maxBlockTxs === undefined ? {} : { maxBlockTxs }),
  });
  await runtime.start();
  return runtime;
}

/** `count` record writes of `valueBytes` each from account `k`, nonces 0 … count − 1. */
function puts(k: number, count: number, valueBytes: number): EncodedTransaction[] {
  const key = chain.accounts[k] as TestKey;
  return Array.from({ length: count }, (_, nonce) =>
    signTransaction(
      {
        chainId: chain.genesis.chainId,
        sender: key.publicKey,
        nonce,
        op: { type: 'put', key: new Uint8Array([k, nonce]), value: new Uint8Array(valueBytes).fill(k) },
      },
      key.secretKey,
    ),
  );
}

describe('runtime intake', () => {
  it('admits a batch as one unit, one result per transaction in order', async () => {
    const runtime = await observer();
    const batch = puts(0, 20, 10);
    const results = await runtime.submitMany([...batch, batch[3] as EncodedTransaction]);
    expect(results.slice(0, 20).every((r) => r.ok)).toBe(true);
    expect(results[20]).toMatchObject({ ok: false, code: 'DUPLICATE' });
    expect(runtime.mempool.size).toBe(20);
    await runtime.stop();
  });

  it('is overloaded once a megabyte of transactions waits, however few units carry it', async () => {
    const runtime = await observer();
    // Units of ~600 KB each: the first starts at once; two waiting are far under the unit bound
    // and over the byte bound, so a fourth is refused before anything of it is looked at.
    const admitted = [1, 2, 3].map((k) => {
      expect(runtime.overloaded).toBe(false);
      return runtime.submitMany(puts(k, 40, 15_000));
    });
    expect(runtime.overloaded).toBe(true);
    const refused = await runtime.submitMany(puts(4, 40, 15_000));
    expect(refused.every((r) => !r.ok && r.code === 'MEMPOOL_FULL')).toBe(true);
    for (const batch of admitted) expect((await batch).every((r) => r.ok)).toBe(true);
    // Drained: the bound counts only what waits.
    await runtime.idle();
    expect(runtime.overloaded).toBe(false);
    expect((await runtime.submitMany(puts(5, 1, 10)))[0]).toMatchObject({ ok: true });
    await runtime.stop();
  });

  it('turns clients away while the mempool holds two full blocks', async () => {
    const runtime = await observer(5);
    const first = await runtime.submitMany(puts(6, 9, 10));
    expect(first.every((r) => r.ok)).toBe(true);
    expect(runtime.overloaded).toBe(false); // 9 < 2 × 5
    // One batch may cross the mark (it is checked per batch, before any decoding): 9 + 3 = 12.
    expect((await runtime.submitMany(puts(7, 3, 10))).every((r) => r.ok)).toBe(true);
    expect(runtime.overloaded).toBe(true);
    expect(await runtime.submit(puts(5, 1, 10)[0] as EncodedTransaction)).toMatchObject({
      ok: false,
      code: 'MEMPOOL_FULL',
    });
    expect(runtime.mempool.size).toBe(12);
    await runtime.stop();
  });

  it('counts only includable transactions: a pool full of gapped ones still takes the gap-filler', async () => {
    const runtime = await observer(5);
    const txs = puts(0, 13, 10);
    // Nonces 1 … 12 wait behind the missing 0: twelve pending, none includable.
    expect((await runtime.submitMany(txs.slice(1))).every((r) => r.ok)).toBe(true);
    expect(runtime.mempool.size).toBe(12);
    expect(runtime.overloaded).toBe(false);
    expect(await runtime.submit(txs[0] as EncodedTransaction)).toEqual({ ok: true });
    expect(runtime.overloaded).toBe(true); // now all thirteen are includable
    await runtime.stop();
  });
});
