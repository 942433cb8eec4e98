/**
 * Block sync commits a block this node has already executed (its block pipeline's copy, from a
 * proposal consensus delivered) as it is, instead of executing it again — and executes the rest.
 */
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../crypto/bytes.ts';
import { decodeBlock } from '../../ledger/block.ts';
import { LEDGER_CERTIFICATE_SCHEMES } from '../../ledger/certificate.ts';
import { ChainStore, type ExecutedBlock } from '../../ledger/chain.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { BlockSync } from '../../src/runtime/block-sync.ts';
import { silentLogger, type Transport } from '../../src/runtime/ports.ts';
import { decodeSync } from '../../src/runtime/sync-codec.ts';
import { certifiedChain, makeTestChain, type TestKey } from '../helpers/chain.ts';

const OPTS = { schemes: LEDGER_CERTIFICATE_SCHEMES };
const chain = makeTestChain({ validators: 4, accounts: 2 });
const GENESIS_MS = 1_700_000_000_000;

/**
 * Syncs blocks 1 and 2 from a certified chain into a fresh store. `held`: how many of them this
 * node had executed already (block 1, then block 2 on that uncommitted block 1), as the block
 * pipeline would hold them; `reuse`: whether block sync is given them.
 */
async function syncTwoBlocks(reuse: boolean, held: 1 | 2 = 1) {
  const source = await certifiedChain(chain, 2, { startMs: GENESIS_MS });
  const mine = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
  const cache: ExecutedBlock[] = [];
  for (let h = 1; h <= held; h++) {
    const block = decodeBlock((await source.getBlockBytes(h)) as Uint8Array);
    const parent = cache.at(-1);
    cache.push(await mine.validateAndExecute(block, parent === undefined ? {} : { parent }));
  }
  let executions = 0;
  const validateAndExecute = mine.validateAndExecute.bind(mine);
  mine.validateAndExecute = (...args) => {
    executions++;
    return validateAndExecute(...args);
  };
  const sent: string[] = [];
  const counters = { rejected: 0, syncedBlocks: 0, syncedReused: 0, syncFailures: 0 };
  const committed: ExecutedBlock[] = [];
  const queue: Array<() => Promise<void> | void> = [];
  const sync = new BlockSync({
    chain: mine,
    genesis: chain.genesis,
    transport: { self: 'me', peers: () => ['peer'], penalize() {} } as unknown as Transport,
    timers: { set() {}, cancel() {}, cancelAll() {} },
    clock: { now: () => GENESIS_MS + 10_000 },
    logger: silentLogger,
    counters,
    send: (_to, bytes) => sent.push(decodeSync(bytes).kind),
    enqueue: (fn) => void queue.push(fn),
    committed: async (executed) => void committed.push(executed),
    certifiedFork: async () => {},
    ...(reuse ? { executedBlock: (hash: Uint8Array) => cache.find((e) => equalBytes(e.hash, hash)) } : {}),
  });
  sync.onStatus('peer', { kind: 'status', height: 2, hash: source.headHash, clockMs: 0 });
  expect(sent).toContain('get-blocks');
  const items = [];
  for (const h of [1, 2])
    items.push({
      block: (await source.getBlockBytes(h)) as Uint8Array,
      certificate: (await source.getCertificateBytes(h)) as Uint8Array,
    });
  await sync.onBlocks('peer', items);
  for (let fn = queue.shift(); fn !== undefined; fn = queue.shift()) await fn();
  return { mine, source, held: cache[0] as ExecutedBlock, executions, counters, committed };
}

describe('block sync reuses what this node executed', () => {
  it('commits an executed block as it is, and executes only the block it had not', async () => {
    const { mine, source, held, executions, counters, committed } = await syncTwoBlocks(true);
    expect(mine.height).toBe(2);
    expect(mine.headHash).toEqual(source.headHash);
    expect(executions).toBe(1); // block 2 only
    expect(counters).toMatchObject({ syncedBlocks: 2, syncedReused: 1 });
    expect(committed[0]).toBe(held); // the after-commit work got this node's own execution
    expect((await mine.getTxLocation(held.txs[0]?.id as Uint8Array))?.height).toBe(1);
  });

  it('commits a chain of executed blocks (the second on the uncommitted first) with no execution', async () => {
    const { mine, source, executions, counters } = await syncTwoBlocks(true, 2);
    expect(executions).toBe(0);
    expect(counters).toMatchObject({ syncedBlocks: 2, syncedReused: 2 });
    expect(mine.headHash).toEqual(source.headHash);
    // The state read back from the store is the source's, not only the header's roots.
    const [, b] = chain.accounts as [TestKey, TestKey];
    const ours = await (await mine.stateAt()).getAccount(b.address);
    expect(ours.balance).toEqual((await (await source.stateAt()).getAccount(b.address)).balance);
  });

  it('negative control: without the executed copy, both blocks are executed', async () => {
    const { mine, source, executions, counters } = await syncTwoBlocks(false);
    expect(mine.headHash).toEqual(source.headHash);
    expect(executions).toBe(2);
    expect(counters).toMatchObject({ syncedBlocks: 2, syncedReused: 0 });
  });
});
