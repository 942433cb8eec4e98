/**
 * Block sync on a chain that counts work (Proof of Work): the status carries the committed head's
 * cumulative work, and a node catching up asks the heaviest peer ahead of it, not the longest.
 */
import { describe, expect, it } from 'vitest';
import type { ChainStore } from '../../ledger/chain.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import { BlockSync, type BlockSyncOptions } from '../../src/runtime/block-sync.ts';
import { silentLogger, type Transport } from '../../src/runtime/ports.ts';
import { decodeSync, encodeSync, type SyncMessage } from '../../src/runtime/sync-codec.ts';

const NOW = 1_700_000_100_000;

function harness(headWork?: () => bigint) {
  // Paused while the statuses arrive, so the choice is made among all of them at once.
  const gate = { paused: true };
  const sent: Array<{ to: string | undefined; msg: SyncMessage }> = [];
  const chain = {
    height: 4,
    headHash: new Uint8Array(32),
    head: { time: { ms: NOW - 1000, logical: 0 }, height: 4 },
  } as unknown as ChainStore;
  const transport = {
    self: 'me',
    peers: () => ['heavy', 'long'],
    penalize() {},
    send() {},
    broadcast() {},
    onMessage() {},
  } as unknown as Transport;
  const o: BlockSyncOptions = {
    chain,
    genesis: { genesisTime: NOW - 3_600_000 } as unknown as Genesis,
    transport,
    timers: { set() {}, cancel() {}, cancelAll() {} },
    clock: { now: () => NOW },
    logger: silentLogger,
    counters: { rejected: 0, syncedBlocks: 0, syncedReused: 0, syncFailures: 0 },
    send: (to, bytes) => sent.push({ to, msg: decodeSync(bytes) }),
    enqueue: (fn) => void fn(),
    committed: async () => {},
    certifiedFork: async () => {},
    paused: () => gate.paused,
    ...(headWork === undefined ? {} : { headWork }),
  };
  const sync = new BlockSync(o);
  const choose = () => {
    gate.paused = false;
    sync.maybeRequest();
    return sent.filter((s) => s.msg.kind === 'get-blocks').map((s) => s.to);
  };
  return { sync, sent, choose };
}

const status = (height: number, work?: bigint): Extract<SyncMessage, { kind: 'status' }> => ({
  kind: 'status',
  height,
  hash: new Uint8Array(32),
  clockMs: NOW,
  ...(work === undefined ? {} : { work }),
});

describe('block sync follows the most work', () => {
  it('asks the heaviest peer ahead, though another claims more blocks', () => {
    const { sync, choose } = harness(() => 40n);
    sync.onStatus('long', status(12, 50n));
    sync.onStatus('heavy', status(10, 100n));
    expect(choose()).toEqual(['heavy']);
  });

  it('negative control: on a chain that does not count work, the highest claim is asked (work is ignored)', () => {
    const { sync, choose } = harness();
    sync.onStatus('heavy', status(10, 100n));
    sync.onStatus('long', status(12, 50n));
    expect(choose()).toEqual(['long']);
  });

  it('the status carries the work when the engine counts it, and decodes without it (older nodes)', () => {
    const { sync, sent } = harness(() => 12345n);
    sync.broadcastStatus();
    expect(sent.at(-1)?.msg).toMatchObject({ kind: 'status', height: 4, work: 12345n });
    const plain = decodeSync(encodeSync(status(7)));
    expect(plain).toEqual(status(7));
    expect('work' in plain).toBe(false);
    expect(decodeSync(encodeSync(status(7, 2n ** 200n)))).toEqual(status(7, 2n ** 200n));
  });
});
