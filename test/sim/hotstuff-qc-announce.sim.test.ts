/**
 * HotStuff under a floor on the block interval. A block commits on its child's QC; the child that
 * certifies a block with transactions is built at once, empty, rather than held for the floor
 * (EngineModule.certifyingDescendants, src/runtime/block-pipeline.ts), and the next leader
 * announces each QC it forms at once (a SYNC to every node), so the block commits at every node
 * two rounds after its proposal, not when the proposal carrying that QC finally leaves. Controls:
 * announcements lost on the network (one floor), the child held for the floor as before (one
 * floor), and both (two floors).
 */
import { describe, expect, it } from 'vitest';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import { hotstuffCodec, MAX_HOTSTUFF_MESSAGE } from '../../consensus/hotstuff/messages.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { asBytes, asList, rlpDecodeStrict } from '../../ledger/codec.ts';
import { GENESIS_TIME } from '../../src/sim/sim-world.ts';
import { runSimulation } from '../../src/sim/simulation.ts';

const FLOOR_MS = 250;
const POLL_MS = 5;
const DURATION_MS = 20_000;
const TXS = 300;

/** A SYNC that only carries certificates: the announcement (or a reply to a lagging node). */
function isAnnouncement(envelope: Uint8Array): boolean {
  const [msg] = asList(rlpDecodeStrict(envelope, MAX_HOTSTUFF_MESSAGE + 1024, 'envelope'), 'envelope');
  const m = hotstuffCodec.decode(asBytes(msg, 'envelope.msg'));
  return m.type === 'sync' && !m.request && m.blocks.length === 0;
}

/** For each block with transactions and each node: commit time − the block's own time (ms). */
async function commitLags(
  loseAnnouncements: boolean,
  engine: EngineModule<unknown> = hotstuff as EngineModule<unknown>,
  chain: 2 | 3 = 2,
): Promise<number[]> {
  // Per node, when each height was first seen committed (polled every POLL_MS).
  const committedAt: Map<number, number>[] = [new Map(), new Map(), new Map(), new Map()];
  const lags: number[] = [];
  const r = await runSimulation({
    engine,
    engineParams: { chain },
    nodes: 4,
    byzantine: 0,
    byzantineMode: 'silent',
    faults: new Set(),
    seed: 'qc-announce',
    durationMs: DURATION_MS,
    txs: TXS,
    minBlockIntervalMs: FLOOR_MS,
    scenario: (ctl) => {
      if (loseAnnouncements)
        ctl.dropMessages((_from, _to, channel, bytes) => channel === 'consensus' && isAnnouncement(bytes));
      for (let t = 0; t <= DURATION_MS; t += POLL_MS)
        ctl.at(t, () => {
          for (let n = 0; n < 4; n++) {
            const height = ctl.runtime(n)?.chain.height ?? 0;
            const seen = committedAt[n] as Map<number, number>;
            for (let h = 1; h <= height; h++) if (!seen.has(h)) seen.set(h, ctl.now());
          }
        });
    },
    inspect: async (ctl) => {
      const chain = ctl.runtime(0)?.chain;
      if (chain === undefined) return;
      for (let h = 2; h <= chain.height; h++) {
        const header = (await chain.getBlock(h))?.header;
        if (header === undefined || header.txCount === 0) continue;
        for (const seen of committedAt) {
          const at = seen.get(h);
          if (at !== undefined) lags.push(at - (header.time.ms - GENESIS_TIME));
        }
      }
    },
  });
  expect(r.safe, JSON.stringify(r.violations.slice(0, 3))).toBe(true);
  expect(r.live, r.livenessFailure).toBe(true);
  expect(r.committedTxs).toBe(TXS);
  expect(lags.length).toBeGreaterThan(40);
  return lags.sort((a, b) => a - b);
}

/** The `f` quantile of sorted `xs`. */
const q = (xs: readonly number[], f: number) =>
  xs[Math.min(xs.length - 1, Math.floor(f * xs.length))] as number;

/** HotStuff as it was before it declared certifying descendants: every block held for the floor. */
const withoutCertifying = { ...hotstuff, certifyingDescendants: () => 0 } as EngineModule<unknown>;

describe('HotStuff announces each QC as it forms, and its certifying blocks are not held', () => {
  it(`with a ${FLOOR_MS} ms floor, the median block commits within half a floor of its proposal (p90 one floor); lost announcements, over one floor`, async () => {
    // The child that certifies a block with transactions goes out empty at once; the next leader
    // announces its QC as it forms: the block commits two rounds after its proposal.
    const lags = await commitLags(false);
    expect(q(lags, 0.5)).toBeLessThan(0.5 * FLOOR_MS); // 68 ms in this run
    expect(q(lags, 0.9)).toBeLessThan(FLOOR_MS);
    // Without the announcement the replicas learn that QC from the next full block's proposal,
    // which the floor holds (the median was 291 ms).
    const lost = await commitLags(true);
    expect(q(lost, 0.5)).toBeGreaterThan(FLOOR_MS);
  }, 120_000);

  it('controls: held for the floor, the certifying child puts a floor under every commit; lost announcements, two', async () => {
    // A block commits on its child's QC, and the floor holds the child: never under one floor.
    const lags = await commitLags(false, withoutCertifying);
    expect(lags[0]).toBeGreaterThanOrEqual(FLOOR_MS);
    expect(lags[lags.length - 1]).toBeLessThan(1.5 * FLOOR_MS);
    // Without the announcements the replicas learn each QC from the next proposal, which the floor
    // holds too (the median was 515 ms, against 290 ms with them).
    const without = await commitLags(true, withoutCertifying);
    expect(q(without, 0.5)).toBeGreaterThan(2 * FLOOR_MS);
  }, 120_000);

  it('three-chain: the child and the grandchild go out at once, empty; held for the floor, two floors', async () => {
    const lags = await commitLags(false, undefined, 3);
    expect(q(lags, 0.5)).toBeLessThan(0.5 * FLOOR_MS); // 96 ms in this run
    expect(q(lags, 0.9)).toBeLessThan(FLOOR_MS);
    const held = await commitLags(false, withoutCertifying, 3);
    expect(held[0]).toBeGreaterThanOrEqual(2 * FLOOR_MS); // 540 ms median
  }, 120_000);
});
