/**
 * The simulator's checkers and Byzantine modes in isolation, each with a negative control (an
 * input or a run where it must fire): validity (a transaction taking effect twice), log
 * consistency (a root change at equal size), the committed-store check (log and state against
 * the header), the liveness precondition (an honest quorum), the replay Byzantine mode, and the
 * replay command line.
 */
import { describe, expect, it } from 'vitest';
import { openEnvelope, sealEnvelope } from '../../consensus/envelope.ts';
import { SeededRng } from '../../consensus/rng.ts';
import { tendermint } from '../../consensus/tendermint/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import { TransparencyLog } from '../../ledger/log/index.ts';
import type { Channel, Transport } from '../../src/runtime/ports.ts';
import { byzantineTransport } from '../../src/sim/byzantine.ts';
import { type CommittedStore, logExtends, SafetyChecker, storeDivergence } from '../../src/sim/checkers.ts';
import { replayCommand, runSimulation, type SimOptions } from '../../src/sim/simulation.ts';
import { makeTestChain } from '../helpers/chain.ts';

const engine = tendermint as EngineModule<unknown>;
const id = (s: string) => sha256(utf8(s));
const root = (s: string) => sha256(utf8(`root:${s}`));

function commit(height: number, txs: Array<[string, boolean]>) {
  return {
    height,
    hash: id(`block-${height}`),
    stateRoot: root(`state-${height}`),
    logSize: height,
    logRoot: root(`log-${height}`),
    txIds: txs.map(([t]) => id(t)),
    txOk: txs.map(([, ok]) => ok),
  };
}

describe('SafetyChecker: validity', () => {
  it('accepts transactions that took effect once, counts distinct ids', () => {
    const c = new SafetyChecker();
    for (const t of ['a', 'b']) c.submitted(id(t));
    for (const node of [0, 1]) {
      c.onCommit(1, node, commit(1, [['a', true]]));
      // A replayed copy that failed (BAD_NONCE) is in a block but did not take effect.
      c.onCommit(
        2,
        node,
        commit(2, [
          ['b', true],
          ['a', false],
        ]),
      );
    }
    // A node that lost its last unsynced block commits that height again: not a replay.
    c.onCommit(
      3,
      1,
      commit(2, [
        ['b', true],
        ['a', false],
      ]),
    );
    expect(c.violations).toEqual([]);
    expect(c.committedTxs).toBe(2);
  });

  it('negative control: a transaction id with an ok receipt at two heights of one chain', () => {
    const c = new SafetyChecker();
    c.submitted(id('a'));
    c.onCommit(1, 0, commit(1, [['a', true]]));
    c.onCommit(2, 0, commit(2, [['a', true]]));
    expect(c.violations.map((v) => v.kind)).toEqual(['validity']);
    expect(c.violations[0]?.detail).toMatch(/took effect twice \(heights 1 and 2\)/);
    expect(c.committedTxs).toBe(1);
  });

  it('negative control: the same transaction twice with an ok receipt in one block', () => {
    const c = new SafetyChecker();
    c.submitted(id('a'));
    c.onCommit(
      1,
      0,
      commit(1, [
        ['a', true],
        ['a', true],
      ]),
    );
    expect(c.violations.map((v) => v.kind)).toEqual(['validity']);
  });

  it('negative control: a transaction that was never submitted', () => {
    const c = new SafetyChecker();
    c.onCommit(1, 0, commit(1, [['forged', true]]));
    expect(c.violations.map((v) => v.kind)).toEqual(['validity']);
  });
});

describe('log consistency (logExtends)', async () => {
  const log = await TransparencyLog.create();
  await log.append([utf8('e0'), utf8('e1'), utf8('e2')]);
  const r3 = await log.root(3);
  await log.append([utf8('e3'), utf8('e4')]);
  const r5 = await log.root(5);

  it('accepts growth with a valid proof, an unchanged head and anything after the empty tree', async () => {
    expect(await logExtends(log, 3, r3, 5, r5)).toBe(true);
    expect(await logExtends(log, 5, r5, 5, r5)).toBe(true);
    expect(await logExtends(log, 0, new Uint8Array(32), 5, r5)).toBe(true);
  });

  it('negative control: a root change at equal size (rewritten history) is inconsistent', async () => {
    expect(await logExtends(log, 5, r5, 5, r3)).toBe(false);
    const c = new SafetyChecker();
    c.logInconsistent(1, 0, 5, 5);
    expect(c.violations[0]?.kind).toBe('log-inconsistent');
  });

  it('negative control: a wrong old root, a shrinking log, an unreadable proof', async () => {
    expect(await logExtends(log, 3, r5, 5, r5)).toBe(false);
    expect(await logExtends(log, 5, r5, 3, r3)).toBe(false);
    expect(await logExtends(log, 3, r3, 9, r5)).toBe(false); // size 9 > log size: proof throws
  });
});

describe('committed store against the header (storeDivergence)', () => {
  const header = { height: 4, stateRoot: root('s'), logSize: 7, logRoot: root('l') };
  const store = (over: { size?: number; logRoot?: Uint8Array; stateRoot?: Uint8Array | Error }) =>
    ({
      height: 4,
      log: { size: over.size ?? 7, root: async () => over.logRoot ?? root('l') },
      stateAt: async () => {
        if (over.stateRoot instanceof Error) throw over.stateRoot;
        const r = over.stateRoot ?? root('s');
        return { root: () => r };
      },
    }) satisfies CommittedStore;

  it('is silent when the store holds what the header says', async () => {
    expect(await storeDivergence(store({}), header)).toBeUndefined();
  });

  it('negative control: wrong log size, log root, state root, or a missing state root', async () => {
    expect(await storeDivergence(store({ size: 6 }), header)).toMatch(/log holds 6 entries/);
    expect(await storeDivergence(store({ logRoot: root('x') }), header)).toMatch(/log root at size 7/);
    expect(await storeDivergence(store({ stateRoot: root('x') }), header)).toMatch(/state root is/);
    expect(await storeDivergence(store({ stateRoot: new Error('MISSING_ROOT') }), header)).toMatch(
      /unreadable: MISSING_ROOT/,
    );
  });

  it('negative control in a run: a node whose store does not match its headers is caught', async () => {
    const r = await runSimulation({
      engine,
      nodes: 4,
      byzantine: 0,
      byzantineMode: 'twins',
      faults: new Set(),
      seed: 'store-divergence',
      durationMs: 5_000,
      txs: 20,
      livenessMs: 5_000,
      scenario: (ctl) =>
        ctl.at(2_000, () => {
          // Node 2's store serves the genesis state for every committed height (its trie writes
          // stopped landing), while its headers still carry the right roots.
          const chain = ctl.runtime(2)?.chain;
          if (chain === undefined) throw new Error('node 2 is not running');
          const stateAt = chain.stateAt.bind(chain);
          chain.stateAt = (h?: number) => (h === undefined ? stateAt() : stateAt(0));
        }),
    });
    const divergent = r.violations.filter((v) => v.kind === 'state-divergence');
    expect(divergent.length).toBeGreaterThan(0);
    expect(divergent[0]?.detail).toMatch(/^node 2 at height \d+: state root is/);
    expect(r.violations.every((v) => v.kind === 'state-divergence')).toBe(true);
  });
});

describe('liveness needs an honest quorum', () => {
  const base: SimOptions = {
    engine,
    nodes: 4,
    byzantine: 0,
    byzantineMode: 'silent',
    faults: new Set(),
    seed: 'quorum',
    durationMs: 3_000,
    txs: 10,
    livenessMs: 5_000,
  };

  it('negative control: all or half of the validators silent is not live (it used to pass vacuously)', async () => {
    for (const byzantine of [4, 2]) {
      const r = await runSimulation({ ...base, byzantine });
      expect(r.safe).toBe(true);
      expect(r.live, `byzantine ${byzantine}`).toBe(false);
      expect(r.livenessFailure).toMatch(/cannot form a quorum/);
    }
  });

  it('f silent validators leave a quorum, and the run is live', async () => {
    const r = await runSimulation({ ...base, byzantine: 1 });
    expect(r.live, r.livenessFailure).toBe(true);
    expect(r.livenessFailure).toBeUndefined();
  });
});

describe('an engine that throws', () => {
  it('negative control: halts that node, and the run reports it as a violation (not a pass)', async () => {
    // Tendermint whose instance on validator 2 throws on its 40th step: a bug in the middle of a run.
    const faulty: EngineModule<unknown> = {
      ...engine,
      create(ctx) {
        const inner = engine.create(ctx);
        let steps = 0;
        return {
          step(input) {
            if (ctx.self === 2 && ++steps === 40)
              throw new TypeError('engine bug: undefined is not a function');
            return inner.step(input);
          },
          status: () => inner.status(),
        };
      },
    };
    const r = await runSimulation({
      engine: faulty,
      nodes: 4,
      byzantine: 0,
      byzantineMode: 'silent',
      faults: new Set(),
      seed: 'throws',
      durationMs: 5_000,
      txs: 10,
    });
    expect(r.safe).toBe(false);
    const halts = r.violations.filter((v) => v.kind === 'halt');
    expect(halts.length).toBe(1);
    expect(halts[0]?.detail).toMatch(/node 2 halted \(INTERNAL\): engine bug/);
    // The other three (a quorum) go on: the halt is the node's, not the network's.
    expect(r.nodeStates.filter((n) => n.id !== 2).every((n) => n.height > 2)).toBe(true);
  });
});

describe('replay Byzantine mode', () => {
  const chain = makeTestChain({ validators: 4, chainId: 'sim' });
  const vs = chain.genesis.validators;
  const sk = (i: number) => (chain.validators[i] as { secretKey: Uint8Array }).secretKey;
  const prevote = (height: number, round: number, signer: number) =>
    sealEnvelope(
      engine.codec,
      { type: 'prevote', height, round, id: id(`b${height}`) },
      'sim',
      signer,
      sk(signer),
    ).bytes;

  function drive(seed: string) {
    const sent: Array<{ to: string; bytes: Uint8Array }> = [];
    let handler: ((from: string, channel: Channel, bytes: Uint8Array) => void) | undefined;
    const inner: Transport = {
      self: 'p0',
      send: (to, _channel, bytes) => sent.push({ to, bytes }),
      broadcast: () => {
        throw new Error('the wrapper sends to each peer itself');
      },
      onMessage: (h) => {
        handler = h;
      },
      peers: () => ['p1', 'p2', 'p3'],
      penalize: () => {},
    };
    const t = byzantineTransport(inner, {
      mode: 'replay',
      module: engine,
      validators: vs,
      chainId: 'sim',
      index: 0,
      secretKey: sk(0),
      rng: new SeededRng(seed),
      alternative: () => undefined,
    });
    const received: string[] = [];
    t.onMessage((_from, _channel, bytes) => received.push(Buffer.from(bytes).toString('hex')));
    const fresh: Uint8Array[] = [];
    for (let h = 1; h <= 40; h++) {
      handler?.('p1', 'consensus', prevote(h, 0, 1)); // seen
      const own = prevote(h, h % 3, 0);
      fresh.push(own);
      t.broadcast('consensus', own); // sent
    }
    return { sent, received, fresh };
  }

  it('forwards its own messages and re-sends old signed envelopes (earlier heights), deterministically', () => {
    const { sent, received, fresh } = drive('replay-1');
    expect(received.length).toBe(40); // incoming traffic still reaches the node
    const freshHex = new Set(fresh.map((b) => Buffer.from(b).toString('hex')));
    for (const b of fresh)
      for (const p of ['p1', 'p2', 'p3']) expect(sent).toContainEqual({ to: p, bytes: b });
    // Replays: every extra envelope is validly signed and from a height below the one being sent.
    let replays = 0;
    let fromOthers = 0;
    let current = { hex: '', height: 0, round: 0, copies: 0 };
    for (const { bytes } of sent) {
      const hex = Buffer.from(bytes).toString('hex');
      const opened = openEnvelope(bytes, engine.codec, vs, 'sim');
      const slot = engine.codec.slot(opened.msg);
      if (slot === undefined) throw new Error('prevotes have slots');
      if (freshHex.has(hex) && slot.height > current.height) {
        current = { hex, height: slot.height, round: slot.round, copies: 1 };
        continue;
      }
      if (hex === current.hex && current.copies < 3) {
        current.copies++;
        continue;
      }
      replays++;
      if (opened.from !== 0) fromOthers++;
      // Older than the newest message of its kind: an earlier height, or an earlier round.
      expect(
        slot.height < current.height || (slot.height === current.height && slot.round < current.round),
      ).toBe(true);
    }
    expect(replays).toBeGreaterThan(10);
    expect(fromOthers).toBeGreaterThan(0);
    const again = drive('replay-1');
    expect(again.sent).toEqual(sent);
    expect(drive('replay-2').sent).not.toEqual(sent);
  });
});

describe('replay command', () => {
  it('prints the exact duration in ms and shell-quotes values', () => {
    const cmd = replayCommand({
      engine,
      engineParams: { timeoutProposeMs: 2000 },
      nodes: 4,
      byzantine: 1,
      byzantineMode: 'replay',
      faults: new Set(['crash', 'loss']),
      seed: "it's 1",
      durationMs: 1500,
      txs: 10,
    });
    expect(cmd).toBe(
      "verity sim --engine tendermint:timeoutProposeMs=2000 --nodes 4 --byzantine 1 --byzantine-mode replay --faults loss,crash --seed 'it'\\''s 1' --duration 1500ms --txs 10",
    );
    expect(
      replayCommand({
        engine,
        nodes: 4,
        byzantine: 0,
        byzantineMode: 'twins',
        faults: new Set(),
        seed: 'sweep-3',
        durationMs: 60_000,
        txs: 100,
      }),
    ).toBe(
      'verity sim --engine tendermint --nodes 4 --byzantine 0 --byzantine-mode twins --seed sweep-3 --duration 60s --txs 100',
    );
  });
});
