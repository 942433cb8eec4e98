/**
 * Block sync in the runtime, against scripted peers: an observer node (no keys) with virtual
 * time and a fake transport, an honest peer serving a real certified chain, and peers that lie.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { sealEnvelope } from '../../consensus/envelope.ts';
import { getEngine } from '../../consensus/registry.ts';
import { SeededRng } from '../../consensus/rng.ts';
import { tendermintCodec } from '../../consensus/tendermint/messages.ts';
import { sha256 } from '../../crypto/hash.ts';
import { LEDGER_CERTIFICATE_SCHEMES } from '../../ledger/certificate.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { type KvStore, MemoryKvStore, StorageError } from '../../ledger/kv.ts';
import { encodeManifest, SnapshotSource } from '../../ledger/snapshot.ts';
import { type EncodedTransaction, signTransaction } from '../../ledger/tx.ts';
import type { Channel, MessageHandler, Timers, Transport } from '../../src/runtime/ports.ts';
import { ConsensusRuntime } from '../../src/runtime/runtime.ts';
import { decodeSync, encodeSync, type SyncMessage } from '../../src/runtime/sync-codec.ts';
import { certifiedChain as certifiedTransfers, makeTestChain, type TestKey } from '../helpers/chain.ts';
import { FailingKvStore } from '../helpers/faulty-store.ts';

const OPTS = { schemes: LEDGER_CERTIFICATE_SCHEMES };
const chain = makeTestChain({ validators: 4, accounts: 2 });
const GENESIS_MS = 1_700_000_000_000;
const SOURCE_HEIGHT = 70; // more than one MAX_SYNC_BATCH (64): two requests
const FORK_HEIGHT = 3;

/** A chain of `height` certified blocks, one transfer each; `skewMs` moves every block's time. */
const certifiedChain = (height: number, skewMs: number) =>
  certifiedTransfers(chain, height, { startMs: GENESIS_MS, skewMs });

/** The honest chain, and a conflicting one (another block 1) certified too. */
let source: ChainStore;
let fork: ChainStore;
beforeAll(async () => {
  source = await certifiedChain(SOURCE_HEIGHT, 0);
  fork = await certifiedChain(FORK_HEIGHT, 1);
});

type PeerBehaviour =
  | 'honest'
  | 'silent'
  | 'empty'
  | 'garbage-cert'
  /** Serves the honest chain, but with block 5's certificate forged. */
  | 'garbage-cert-at-5'
  | 'bad-snapshot'
  | 'fork';

/** Virtual time, timers and a scripted network around one runtime. */
class Harness {
  now = GENESIS_MS + 200_000;
  readonly timers = new Map<string, { at: number; cb: () => void }>();
  readonly requests: Array<{ to: string; from: number; count: number }> = [];
  /** Snapshot requests: `to@manifest` or `to@section:from`. */
  readonly snapshotRequests: string[] = [];
  readonly penalties: Array<{ peer: string; reason: string; severity: string }> = [];
  readonly connected = new Set<string>();
  readonly halts: string[] = [];
  readonly errors: Array<{ message: string; fields: Record<string, unknown> | undefined }> = [];
  readonly behaviour = new Map<string, PeerBehaviour>();
  /** The transactions of each block synced, as the runtime committed them. */
  readonly synced: EncodedTransaction[][] = [];
  /** Called as each synced block commits. */
  onSynced: ((height: number) => void) | undefined;
  handler: MessageHandler | undefined;
  runtime!: ConsensusRuntime<unknown>;

  async start(
    patch?: (chain: ChainStore) => void,
    kv: KvStore = new MemoryKvStore(),
    snapshotLead = 0,
  ): Promise<void> {
    const transport: Transport = {
      self: 'me',
      send: (to, channel, bytes) => this.#onSend(to, channel, bytes),
      broadcast: () => undefined,
      onMessage: (h) => {
        this.handler = h;
      },
      peers: () => [...this.connected],
      penalize: (peer, reason, severity) => {
        this.penalties.push({ peer, reason, severity });
      },
    };
    const timers: Timers = {
      set: (id, ms, cb) => {
        this.timers.set(id, { at: this.now + ms, cb });
      },
      cancel: (id) => {
        this.timers.delete(id);
      },
      cancelAll: () => this.timers.clear(),
    };
    const store = await ChainStore.open(kv, chain.genesis, OPTS);
    patch?.(store);
    this.runtime = new ConsensusRuntime({
      engine: getEngine('tendermint') as NonNullable<ReturnType<typeof getEngine>>,
      genesis: chain.genesis,
      chain: store,
      transport,
      timers,
      clock: { now: () => this.now },
      wal: new MemoryKvStore(),
      keys: undefined,
      rng: new SeededRng('runtime-sync'),
      snapshotLead,
      logger: {
        debug: () => undefined,
        info: () => undefined,
        warn: () => undefined,
        error: (message, fields) => this.errors.push({ message, fields }),
      },
      hooks: {
        onHalt: (halt) => {
          this.halts.push(halt.code);
        },
        onCommit: (executed, _certificate, bySync) => {
          if (!bySync) return;
          this.synced.push([...executed.txs]);
          this.onSynced?.(executed.block.header.height);
        },
      },
    });
    await this.runtime.start();
  }

  get height(): number {
    return this.runtime.chain.height;
  }

  peer(id: string, behaviour: PeerBehaviour): void {
    this.connected.add(id);
    this.behaviour.set(id, behaviour);
  }

  /** Delivers a status message from `peer` claiming `height`. */
  async status(peer: string, height: number): Promise<void> {
    this.handler?.(
      peer,
      'sync',
      encodeSync({ kind: 'status', height, hash: new Uint8Array(32), clockMs: this.now }),
    );
    await this.settle();
  }

  /** Lets replies (delivered on a later tick) and the runtime's queue run to completion. */
  async settle(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setImmediate(r));
      await this.runtime.idle();
    }
  }

  /** Advances virtual time by `ms`, firing due timers in time order. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      let next: [string, { at: number; cb: () => void }] | undefined;
      for (const e of this.timers)
        if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.now = Math.max(this.now, next[1].at);
      next[1].cb();
      await this.settle();
    }
    this.now = end;
  }

  #onSend(to: string, channel: Channel, bytes: Uint8Array): void {
    if (channel !== 'sync') return;
    const msg = decodeSync(bytes);
    if (msg.kind === 'get-snapshot' || msg.kind === 'get-snapshot-part') {
      this.#serveSnapshot(to, msg);
      return;
    }
    if (msg.kind !== 'get-blocks') return;
    this.requests.push({ to, from: msg.from, count: msg.count });
    const behaviour = this.behaviour.get(to);
    if (behaviour === undefined || behaviour === 'silent') return;
    const served = behaviour === 'fork' ? fork : source;
    void (async () => {
      const items: Array<{ block: Uint8Array; certificate: Uint8Array }> = [];
      if (behaviour !== 'empty') {
        for (let h = msg.from; h < msg.from + msg.count && h <= served.height; h++) {
          const block = (await served.getBlockBytes(h)) as Uint8Array;
          const certificate = (await served.getCertificateBytes(h)) as Uint8Array;
          // A certificate for another height: decodes, but does not verify for this block.
          const forged = (await served.getCertificateBytes(h === 1 ? 2 : 1)) as Uint8Array;
          const forge = behaviour === 'garbage-cert' || (behaviour === 'garbage-cert-at-5' && h === 5);
          items.push({ block, certificate: forge ? forged : certificate });
        }
      }
      setImmediate(() => this.handler?.(to, 'sync', encodeSync({ kind: 'blocks', items })));
    })();
  }

  /** Serves the source chain's snapshot — with one state node altered, for 'bad-snapshot'. */
  #serveSnapshot(
    to: string,
    msg: Extract<SyncMessage, { kind: 'get-snapshot' | 'get-snapshot-part' }>,
  ): void {
    this.snapshotRequests.push(
      msg.kind === 'get-snapshot' ? `${to}@manifest` : `${to}@${msg.section}:${msg.from}`,
    );
    const behaviour = this.behaviour.get(to);
    if (behaviour === undefined || behaviour === 'silent') return;
    void (async () => {
      const snapshot = await SnapshotSource.open(source, Math.min(msg.height, source.height));
      let reply: SyncMessage;
      if (msg.kind === 'get-snapshot')
        reply = { kind: 'snapshot-manifest', manifest: encodeManifest(snapshot.manifest) };
      else {
        const read =
          msg.section === 'state'
            ? snapshot.stateNodes(msg.from, msg.count)
            : msg.section === 'log'
              ? snapshot.logEntries(msg.from, msg.count)
              : snapshot.historyHashes(msg.from, msg.count);
        const items = await read;
        if (behaviour === 'bad-snapshot' && msg.section === 'state') {
          const last = items.length - 1;
          const node = (items[last] as Uint8Array).slice();
          node[node.length - 1] = (node[node.length - 1] as number) ^ 1;
          items[last] = node;
        }
        reply = { kind: 'snapshot-part', height: msg.height, section: msg.section, from: msg.from, items };
      }
      setImmediate(() => this.handler?.(to, 'sync', encodeSync(reply)));
    })();
  }
}

describe('runtime block sync', () => {
  it('catches up from an honest peer when the peer claiming the highest height never serves', async () => {
    const h = new Harness();
    await h.start();
    h.peer('liar', 'silent');
    h.peer('honest', 'honest');
    // The liar claims far more (but not implausibly more) than the honest peer, and comes first.
    await h.status('liar', 10_000);
    await h.status('honest', SOURCE_HEIGHT);
    expect(h.requests.map((r) => r.to)).toEqual(['liar']);
    expect(h.height).toBe(0);

    // The request times out (1.5 s): the liar is penalized and the honest peer asked instead.
    await h.advance(2_000);
    await h.settle();
    expect(h.penalties.filter((p) => p.peer === 'liar').map((p) => p.severity)).toEqual(['minor']);
    expect(h.height).toBe(SOURCE_HEIGHT);
    // Still claiming more, the liar is asked again only once nobody better is left.
    expect(h.requests.map((r) => `${r.to}@${r.from}`)).toEqual([
      'liar@1',
      'honest@1',
      'honest@65',
      'liar@71',
    ]);
    expect(h.penalties.filter((p) => p.peer === 'honest')).toEqual([]);
    expect(h.runtime.counters.syncedBlocks).toBe(SOURCE_HEIGHT);
    expect(toHexHead(h)).toBe(toHexHead({ runtime: { chain: source } }));
    // Still reported, but a claim whose peer failed to serve it does not make this node "syncing".
    expect(h.runtime.syncStatus()).toEqual({ syncing: false, bestPeerHeight: 10_000 });
    // Once it disconnects (or is banned), its claim is forgotten.
    h.connected.delete('liar');
    expect(h.runtime.syncStatus()).toEqual({ syncing: false, bestPeerHeight: SOURCE_HEIGHT });
  });

  it('takes the transactions of synced blocks that its mempool holds from it, decoded already', async () => {
    const HELD = 10;
    const h = new Harness();
    await h.start();
    // The first blocks' transactions reached it (as gossip, say) before it fell behind.
    const held: EncodedTransaction[] = [];
    for (let height = 1; height <= HELD; height++) {
      const block = await source.getBlock(height);
      held.push(...h.runtime.chain.decodeTxs(block?.txs ?? []));
    }
    for (const etx of held) expect(await h.runtime.submit(etx)).toEqual({ ok: true });
    h.peer('honest', 'honest');
    await h.status('honest', SOURCE_HEIGHT);
    await h.advance(2_000);
    expect(h.height).toBe(SOURCE_HEIGHT);
    expect(h.synced).toHaveLength(SOURCE_HEIGHT);
    // The very objects the mempool held: neither decoded nor hashed again (a mutant without the
    // wiring fails here). The rest were decoded from the blocks.
    expect(h.synced.slice(0, HELD).map(([etx]) => etx)).toEqual(held);
    for (const [i, etx] of held.entries()) expect(h.synced[i]?.[0]).toBe(etx);
    const later = h.runtime.chain.decodeTxs((await source.getBlock(HELD + 1))?.txs ?? []);
    expect(h.synced[HELD]?.[0]).toEqual(later[0]);
    expect(h.runtime.mempool.size).toBe(0);
  });

  it('applies a reply one block per event: what arrives meanwhile runs between its blocks', async () => {
    const h = new Harness();
    await h.start();
    h.peer('honest', 'honest');
    h.peer('other', 'silent');
    const bestSeen = new Map<number, number>();
    h.onSynced = (height) => {
      bestSeen.set(height, h.runtime.syncStatus().bestPeerHeight);
      // A status arrives while block 5 commits: it is queued behind the event applying block 5.
      if (height === 5)
        h.handler?.(
          'other',
          'sync',
          encodeSync({ kind: 'status', height: 1_000, hash: new Uint8Array(32), clockMs: h.now }),
        );
    };
    await h.status('honest', SOURCE_HEIGHT);
    await h.advance(3_000); // the silent peer's request times out after 1.5 s
    expect(h.height).toBe(SOURCE_HEIGHT);
    // It ran before block 6: one reply of 64 blocks was one event, and it would have waited for all.
    expect([bestSeen.get(5), bestSeen.get(6), bestSeen.get(64)]).toEqual([SOURCE_HEIGHT, 1_000, 1_000]);
    // No request went out while the reply was being applied: the next (to the higher claim) asks
    // for block 65.
    expect(h.requests.map((r) => `${r.to}@${r.from}`).slice(0, 3)).toEqual([
      'honest@1',
      'other@65',
      'honest@65',
    ]);
  });

  it('an empty or invalid reply penalizes that peer and rotates at once, without waiting for a timeout', async () => {
    for (const bad of ['empty', 'garbage-cert'] as const) {
      const h = new Harness();
      await h.start();
      h.peer('bad', bad);
      h.peer('honest', 'honest');
      await h.status('bad', 5_000);
      await h.status('honest', SOURCE_HEIGHT);
      await h.settle();
      // No virtual time has passed: the rotation did not wait for the sync timeout.
      expect(h.height, bad).toBe(SOURCE_HEIGHT);
      // Caught up, the bad peer (still claiming more) is asked once more and answers nothing...
      expect(h.requests.map((r) => `${r.to}@${r.from}`)).toEqual([
        'bad@1',
        'honest@1',
        'honest@65',
        'bad@71',
      ]);
      expect(
        h.penalties.map((p) => `${p.peer}:${p.severity}`),
        bad,
      ).toEqual([`bad:${bad === 'empty' ? 'minor' : 'major'}`, 'bad:minor']);
      expect(h.runtime.counters.syncFailures, bad).toBe(2);
      // ...but is not re-asked in a loop: only on the next status tick.
      await h.settle();
      expect(h.requests.length, bad).toBe(4);
      await h.advance(1_000);
      expect(h.requests.length, bad).toBe(5);
    }
  });

  it('a reply that fails partway keeps the blocks before the failure and asks another peer from there', async () => {
    const h = new Harness();
    await h.start();
    h.peer('bad', 'garbage-cert-at-5');
    h.peer('honest', 'honest');
    await h.status('bad', 5_000);
    await h.status('honest', SOURCE_HEIGHT);
    await h.settle();
    expect(h.height).toBe(SOURCE_HEIGHT);
    expect(h.synced).toHaveLength(SOURCE_HEIGHT);
    // Blocks 1–4 of its reply were committed, each in an event of its own; block 5 failed.
    expect(h.requests.map((r) => `${r.to}@${r.from}`).slice(0, 3)).toEqual([
      'bad@1',
      'honest@5',
      'honest@69',
    ]);
    expect(h.penalties[0]).toMatchObject({ peer: 'bad', severity: 'major' });
    expect(h.penalties[0]?.reason).toContain('certificate invalid');
  });

  it('a sole peer that times out is asked again, each timeout twice as long, and is forgotten once it leaves', async () => {
    const h = new Harness();
    await h.start();
    h.peer('liar', 'silent');
    await h.status('liar', 500);
    const asked = () => h.requests.map((r) => r.to).length;
    // 1.5 s: the first timeout; the status tick at 2 s asks again, and that request waits 3 s.
    await h.advance(2_000);
    expect(asked()).toBe(2);
    expect(h.penalties.map((p) => p.severity)).toEqual(['minor']);
    await h.advance(2_900);
    expect(h.penalties.length).toBe(1);
    await h.advance(100);
    expect(h.penalties.length).toBe(2);
    await h.advance(1_000); // the next tick asks again
    expect(asked()).toBe(3);
    // It disconnects while our request is outstanding: no penalty, its claim is dropped.
    h.connected.delete('liar');
    await h.advance(13_000);
    expect(h.penalties.length).toBe(2);
    expect(asked()).toBe(3);
    expect(h.runtime.syncStatus().bestPeerHeight).toBe(0);
  });

  it('fetches a block one behind after a second, on a timer: no later status is needed', async () => {
    const h = new Harness();
    await h.start();
    h.peer('honest', 'honest');
    await h.status('honest', 1); // one ahead: consensus may still be finishing that height
    await h.advance(999);
    expect(h.requests).toEqual([]);
    await h.advance(1);
    expect(h.requests.map((r) => `${r.to}@${r.from}`)).toEqual(['honest@1']);
    expect(h.height).toBe(1);
    // Two ahead is clearly behind: asked at once.
    await h.status('honest', 3);
    expect(h.requests.map((r) => `${r.to}@${r.from}`)).toEqual(['honest@1', 'honest@2']);
    expect(h.height).toBe(3);
  });

  it('a certified block of a conflicting chain is reported at error level and counted; no peer is blamed', async () => {
    const h = new Harness();
    await h.start();
    h.peer('honest', 'honest');
    h.peer('forked', 'fork');
    await h.status('honest', 1);
    await h.advance(1_000);
    expect(h.height).toBe(1);
    // The forked peer's block 2 carries a quorum's certificate, but its parent is not our block 1.
    await h.status('forked', FORK_HEIGHT);
    expect(h.requests.map((r) => `${r.to}@${r.from}`)).toEqual(['honest@1', 'forked@2']);
    expect(h.runtime.counters.certifiedForks).toBe(1);
    expect(h.errors.map((e) => e.fields?.height)).toEqual([2]);
    expect(h.penalties).toEqual([]);
    expect(h.height).toBe(1);
    // Asked again at the next status tick: still no blame, and said once per height.
    await h.advance(1_000);
    expect(h.requests.length).toBe(3);
    expect(h.errors.length).toBe(1);
    expect(h.penalties).toEqual([]);
    expect(h.halts).toEqual([]);
  });

  it('forgets a claimed height no status refreshed for ten status intervals', async () => {
    const h = new Harness();
    await h.start();
    h.peer('honest', 'silent');
    await h.status('honest', 1);
    expect(h.runtime.syncStatus().bestPeerHeight).toBe(1);
    await h.advance(9_000);
    await h.status('honest', 1);
    await h.advance(9_000);
    expect(h.runtime.syncStatus().bestPeerHeight).toBe(1);
    await h.advance(2_000);
    expect(h.runtime.syncStatus().bestPeerHeight).toBe(0);
  });

  it('refuses and penalizes a height the chain could not have produced, yet accepts long-downtime leads', async () => {
    const h = new Harness();
    await h.start();
    h.peer('liar', 'silent');
    // Our head is genesis, 200 s ago: the bound is 200 s + 10 s drift + 60 s slack, at 1 block/ms.
    await h.status('liar', 270_001);
    expect(h.penalties.map((p) => p.peer)).toEqual(['liar']);
    expect(h.requests).toEqual([]);
    expect(h.runtime.syncStatus().bestPeerHeight).toBe(0);
    await h.status('liar', 270_000);
    expect(h.penalties.length).toBe(1);
    expect(h.requests.map((r) => r.to)).toEqual(['liar']);
    // A node down for 800 days accepts a peer 800 days of one-second blocks ahead: 69,120,000
    // heights, more than the old fixed cap of 50,000,000 let through.
    h.now += 800 * 86_400_000;
    await h.status('liar', 800 * 86_400);
    expect(h.penalties.length).toBe(1);
    expect(h.runtime.syncStatus().bestPeerHeight).toBe(800 * 86_400);
  });
});

describe('runtime state sync', () => {
  const LEAD = 10;

  it('an empty chain far behind installs a peer’s snapshot instead of replaying', async () => {
    const h = new Harness();
    await h.start(undefined, undefined, LEAD);
    h.peer('honest', 'honest');
    await h.status('honest', SOURCE_HEIGHT);
    await h.settle();
    expect(h.height).toBe(SOURCE_HEIGHT);
    expect(h.runtime.chain.lowestBlock).toBe(SOURCE_HEIGHT);
    expect(h.runtime.counters).toMatchObject({ snapshots: 1, syncedBlocks: 0, snapshotFailures: 0 });
    expect(h.requests).toEqual([]); // not one block replayed
    expect(h.snapshotRequests).toEqual([
      'honest@manifest',
      'honest@state:0',
      'honest@log:0',
      'honest@history:0',
    ]);
    expect(toHexHead(h)).toBe(toHexHead({ runtime: { chain: source } }));
    expect(h.halts).toEqual([]);
  });

  it('a lead below the threshold replays; a snapshot is only for an empty chain (negative controls)', async () => {
    const near = new Harness();
    await near.start(undefined, undefined, SOURCE_HEIGHT + 1);
    near.peer('honest', 'honest');
    await near.status('honest', SOURCE_HEIGHT);
    await near.settle();
    expect(near.snapshotRequests).toEqual([]);
    expect(near.runtime.counters.syncedBlocks).toBe(SOURCE_HEIGHT);
    const started = new Harness();
    await started.start(undefined, undefined, LEAD);
    started.peer('honest', 'honest');
    await started.status('honest', 2);
    await started.settle();
    expect(started.height).toBe(2); // replayed two blocks
    await started.status('honest', SOURCE_HEIGHT);
    await started.settle();
    expect(started.snapshotRequests).toEqual([]);
    expect(started.height).toBe(SOURCE_HEIGHT);
  });

  it('a peer serving a tampered state node is penalized (major), and another peer’s snapshot is installed', async () => {
    const h = new Harness();
    await h.start(undefined, undefined, LEAD);
    h.peer('bad', 'bad-snapshot');
    h.peer('honest', 'honest');
    await h.status('bad', SOURCE_HEIGHT);
    await h.settle();
    expect(h.height).toBe(0); // nothing of the bad snapshot was written
    expect(h.penalties.map((p) => `${p.peer}:${p.severity}`)).toEqual(['bad:major']);
    expect(h.penalties[0]?.reason).toMatch(/state sync: invalid state part/);
    await h.status('honest', SOURCE_HEIGHT);
    await h.settle();
    expect(h.runtime.counters).toMatchObject({ snapshots: 1, snapshotFailures: 1 });
    expect(h.snapshotRequests.filter((r) => r.startsWith('bad@'))).toEqual(['bad@manifest', 'bad@state:0']);
    expect(toHexHead(h)).toBe(toHexHead({ runtime: { chain: source } }));
  });

  it('a silent peer is asked again five times, then penalized (minor); block sync replays instead', async () => {
    const h = new Harness();
    await h.start(undefined, undefined, LEAD);
    h.peer('quiet', 'silent');
    await h.status('quiet', SOURCE_HEIGHT);
    expect(h.requests).toEqual([]); // block sync waits while the session runs
    await h.advance(17_000);
    expect(h.snapshotRequests).toEqual(Array(6).fill('quiet@manifest'));
    expect(h.penalties).toEqual([]);
    await h.advance(1_000);
    expect(h.penalties.map((p) => `${p.peer}:${p.severity}`)).toEqual(['quiet:minor']);
    expect(h.runtime.counters.snapshotFailures).toBe(1);
    // Its next status: no snapshot asked of it again, block sync asks it for blocks.
    await h.status('quiet', SOURCE_HEIGHT);
    expect(h.snapshotRequests).toHaveLength(6);
    expect(h.requests.map((r) => r.to)).toEqual(['quiet']);
  });
});

describe('runtime: a fault of its own storage', () => {
  for (const [what, arm] of [
    [
      'a write fails (disk full)',
      (kv: FailingKvStore) => {
        kv.failWrites = new StorageError('STORAGE_FULL', 'no space left on the device holding /data/chain');
      },
    ],
    [
      'a read fails (damaged table)',
      (kv: FailingKvStore) => {
        kv.failReads = new StorageError('STORAGE_CORRUPT', '/data/chain is damaged (Corruption: bad block)');
      },
    ],
  ] as const) {
    it(`${what} while applying synced blocks: consensus halts, no peer is blamed`, async () => {
      const kv = new FailingKvStore(new MemoryKvStore());
      const h = new Harness();
      await h.start(undefined, kv);
      h.peer('honest', 'honest');
      arm(kv);
      await h.status('honest', SOURCE_HEIGHT);
      await h.settle();
      expect(h.penalties).toEqual([]);
      expect(h.halts).toEqual([what.includes('write') ? 'STORAGE_FULL' : 'STORAGE_CORRUPT']);
      expect(h.runtime.halted?.message).toMatch(/\/data\/chain/);
      // Halted for good: no more requests, and clients are told to go elsewhere.
      const asked = h.requests.length;
      await h.status('honest', SOURCE_HEIGHT);
      await h.advance(10_000);
      expect(h.requests.length).toBe(asked);
      const [a, b] = chain.accounts as [TestKey, TestKey];
      const tx = signTransaction(
        {
          chainId: chain.genesis.chainId,
          sender: a.publicKey,
          nonce: 0,
          op: { type: 'transfer', to: b.address, amount: 1n },
        },
        a.secretKey,
      );
      expect(await h.runtime.submit(tx)).toMatchObject({ ok: false, code: 'NODE_HALTED' });
    });
  }

  it('a block that fails validation is still the peer’s fault (negative control)', async () => {
    const h = new Harness();
    await h.start();
    h.peer('bad', 'garbage-cert');
    await h.status('bad', SOURCE_HEIGHT);
    expect(h.penalties.map((p) => p.peer)).toContain('bad');
    expect(h.halts).toEqual([]);
  });
});

describe('runtime client intake while catching up', () => {
  const [a, b] = chain.accounts as [TestKey, TestKey];
  const transfer = (nonce: number, amount: bigint) =>
    signTransaction(
      {
        chainId: chain.genesis.chainId,
        sender: a.publicKey,
        nonce,
        op: { type: 'transfer', to: b.address, amount },
      },
      a.secretKey,
    );

  it('a node whose peers are ahead answers NODE_SYNCING where its stale state would refuse', async () => {
    const h = new Harness();
    await h.start();
    h.peer('ahead', 'silent'); // claims blocks it never serves: this node stays behind
    await h.status('ahead', 40);
    expect(h.runtime.syncStatus()).toEqual({ syncing: true, bestPeerHeight: 40 });
    // A nonce past the window of the stale nonce, funds it may not have seen yet: not the client's fault.
    for (const etx of [transfer(64, 1n), transfer(1, 10n ** 12n)]) {
      const r = await h.runtime.submit(etx);
      expect(r).toMatchObject({ ok: false, code: 'NODE_SYNCING' });
      expect((r as { reason: string }).reason).toContain('at height 0, its peers at 40');
    }
    // What it can judge, it still does: admits a good one, refuses a copy.
    expect(await h.runtime.submit(transfer(0, 1n))).toEqual({ ok: true });
    expect(await h.runtime.submit(transfer(0, 1n))).toMatchObject({ ok: false, code: 'DUPLICATE' });
    // Once the claim no longer stands (the peer left), the same refusals are the state's again.
    h.connected.delete('ahead');
    expect(h.runtime.syncStatus().syncing).toBe(false);
    expect(await h.runtime.submit(transfer(64, 1n))).toMatchObject({ ok: false, code: 'NONCE_TOO_HIGH' });
    // Asking forgot nothing: the claim stands again with the peer back (within its time to live).
    h.connected.add('ahead');
    expect(h.runtime.syncStatus()).toEqual({ syncing: true, bestPeerHeight: 40 });
  });

  it('a peer that claims blocks and fails to serve them stops counting: no NODE_SYNCING for good', async () => {
    const h = new Harness();
    await h.start();
    h.peer('liar', 'silent');
    await h.status('liar', 40);
    expect(h.runtime.syncStatus().syncing).toBe(true);
    await h.advance(2_000); // its block request times out (1.5 s)
    expect(h.requests.length).toBeGreaterThan(0);
    expect(h.runtime.syncStatus()).toEqual({ syncing: false, bestPeerHeight: 40 });
    expect(await h.runtime.submit(transfer(64, 1n))).toMatchObject({ ok: false, code: 'NONCE_TOO_HIGH' });
  });

  it('a node level with its peers refuses as its state says (negative control)', async () => {
    const h = new Harness();
    await h.start();
    h.peer('level', 'silent');
    await h.status('level', 1); // one ahead is a height being finished, not catching up
    expect(h.runtime.syncStatus().syncing).toBe(false);
    expect(await h.runtime.submit(transfer(64, 1n))).toMatchObject({ ok: false, code: 'NONCE_TOO_HIGH' });
    expect(await h.runtime.submit(transfer(0, 10n ** 12n))).toMatchObject({
      ok: false,
      code: 'INSUFFICIENT_FUNDS',
    });
  });
});

describe('runtime waitForCommit', () => {
  it('is resolved by a commit that lands while it is still looking the transaction up', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const h = new Harness();
    await h.start((store) => {
      // The lookup answers as of when it was asked, but only after the gate opens.
      const lookup = store.getTxLocation.bind(store);
      store.getTxLocation = async (id) => {
        const answer = await lookup(id);
        await gate;
        return answer;
      };
    });
    const id = sha256((await source.getBlock(3))?.txs[0] as Uint8Array);
    const waiting = h.runtime.waitForCommit(id, AbortSignal.timeout(2_000));
    // Block 3 commits (through sync) before the lookup returns its stale "not committed".
    h.peer('honest', 'honest');
    await h.status('honest', SOURCE_HEIGHT);
    expect(h.height).toBe(SOURCE_HEIGHT);
    release();
    await expect(waiting).resolves.toMatchObject({ height: 3, position: 0, receipt: { ok: true } });
    // Resolved from the commit itself: the same place the chain's index records.
    expect(await waiting).toEqual(await h.runtime.chain.getTxLocation(id));
  });

  it('still answers at once for a transaction committed earlier, and rejects on abort', async () => {
    const h = new Harness();
    await h.start();
    h.peer('honest', 'honest');
    await h.status('honest', SOURCE_HEIGHT);
    const id = sha256((await source.getBlock(5))?.txs[0] as Uint8Array);
    await expect(h.runtime.waitForCommit(id)).resolves.toMatchObject({ height: 5, position: 0 });
    const controller = new AbortController();
    const pending = h.runtime.waitForCommit(new Uint8Array(32), controller.signal);
    controller.abort(new Error('gave up'));
    await expect(pending).rejects.toThrow('gave up');
  });
});

describe('runtime consensus intake', () => {
  it('scores a validly signed consensus message for an implausible height, and passes plausible ones on', async () => {
    const h = new Harness();
    await h.start();
    h.peer('relay', 'silent');
    const v = chain.validators[1] as TestKey;
    const prevote = (height: number) =>
      sealEnvelope(
        tendermintCodec,
        { type: 'prevote', height, round: 0, id: new Uint8Array(32).fill(1) },
        chain.genesis.chainId,
        1,
        v.secretKey,
      ).bytes;
    h.handler?.('relay', 'consensus', prevote(1_000_000_000));
    await h.settle();
    expect(h.penalties).toEqual([
      { peer: 'relay', reason: 'consensus message for implausible height 1000000000', severity: 'minor' },
    ]);
    expect(h.runtime.counters.rejected).toBe(1);
    // Ahead of us, but a height the network could have reached: not misbehaviour.
    h.handler?.('relay', 'consensus', prevote(5));
    await h.settle();
    expect(h.penalties.length).toBe(1);
    expect(h.runtime.counters.rejected).toBe(1);
  });
});

function toHexHead(h: { runtime: { chain: ChainStore } }): string {
  return Buffer.from(h.runtime.chain.headHash).toString('hex');
}
