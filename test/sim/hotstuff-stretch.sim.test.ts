/**
 * The nemesis finding, end to end in the simulator (real runtime, chain stores, WALs): a schedule
 * under which QCs form only in views that never come in consecutive pairs — every vote of an odd
 * view is lost — grows a certified but uncommitted chain well past 64 blocks; then every node
 * crashes and restarts at once. After healing, the cluster must commit the whole stretch (through
 * ancestor certificates) and keep going; the checkers (agreement, roots, stores, logs) must stay
 * clean. Before the fix the height froze for good while views kept climbing.
 */
import { describe, expect, it } from 'vitest';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import type { HsMessage } from '../../consensus/hotstuff/messages.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { asBytes, asList, rlpDecodeStrict } from '../../ledger/codec.ts';
import { runSimulation } from '../../src/sim/simulation.ts';

const engine = hotstuff as EngineModule<unknown>;

/** The HotStuff message inside a consensus envelope (no signature check: the adversary only reads). */
function messageOf(bytes: Uint8Array): HsMessage | undefined {
  try {
    const f = asList(rlpDecodeStrict(bytes, 1 << 24, 'envelope'), 'envelope', 3);
    return hotstuff.codec.decode(asBytes(f[0], 'message'));
  } catch {
    return undefined;
  }
}

describe('hotstuff: a long uncommitted stretch in the simulator', () => {
  for (const chain of [2, 3] as const) {
    it(`${chain}-chain: > 64 certified, uncommitted blocks, then a restart of every node: commits all of it after healing`, async () => {
      let heightAtDrop = -1;
      let heightAtRestart = -1;
      let certifiedAtRestart = 0;
      const r = await runSimulation({
        engine,
        engineParams: { chain, viewTimeoutMs: 200, maxViewTimeoutMs: 400, emptyBlockIntervalMs: 50 },
        nodes: 4,
        byzantine: 0,
        byzantineMode: 'silent',
        faults: new Set(),
        seed: `stretch-${chain}`,
        durationMs: 90_000,
        txs: 60,
        livenessMs: 60_000,
        scenario: (ctl) => {
          ctl.at(1_000, () => {
            heightAtDrop = ctl.runtime(0)?.chain.height ?? -1;
            ctl.dropMessages((_from, _to, channel, bytes) => {
              if (channel !== 'consensus') return false;
              const m = messageOf(bytes);
              return m?.type === 'vote' && m.view % 2 === 1;
            });
          });
          ctl.at(80_000, async () => {
            const rt = ctl.runtime(0);
            heightAtRestart = rt?.chain.height ?? -1;
            certifiedAtRestart = (rt?.status().round ?? 0) / 2;
            for (const i of [0, 1, 2, 3]) ctl.crash(i);
            for (const i of [0, 1, 2, 3]) await ctl.restart(i);
          });
        },
      });
      expect(r.safe, JSON.stringify(r.violations.slice(0, 3))).toBe(true);
      // The schedule stopped the commits (a block or two may finish as it starts) while the views
      // — half of them certifying a block — ran on.
      expect(heightAtRestart - heightAtDrop).toBeLessThan(3);
      expect(certifiedAtRestart).toBeGreaterThan(64 + heightAtDrop);
      expect(r.live, r.livenessFailure).toBe(true);
      expect(r.committedHeight).toBeGreaterThan(heightAtRestart + 64);
    }, 300_000);
  }
});
