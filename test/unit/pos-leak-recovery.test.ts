/**
 * The inactivity leak on the engine harness (the real pos engine, real BLS, five validators of
 * equal stake): two crash, three of five (60%) are left — short of 2/3 — and finality stalls; once
 * the online validators' links span more than leakAfter epochs the leak lowers the threshold
 * (14/24 < 60% at six epochs), and finality resumes, every few epochs, with blocks committed and
 * a certificate that verifies. Negative controls: the leak off keeps it stalled, and so does a
 * minority (two of five online) however long it waits.
 */
import { describe, expect, it } from 'vitest';
import { type PosCertificate, posCertificateScheme } from '../../consensus/pos/certificate.ts';
import type { PosEngine } from '../../consensus/pos/engine.ts';
import { pos } from '../../consensus/pos/index.ts';
import type { PosMessage } from '../../consensus/pos/messages.ts';
import { EngineCluster } from '../helpers/engine-cluster.ts';

const S = 4;
const CRASH_AT_MS = 14_000;

function stalled(opts: { leakAfter?: number; crashed: number[]; untilMs: number }) {
  const c = new EngineCluster<PosMessage>({
    engine: pos,
    n: 5,
    params: {
      slotMs: 1000,
      slotsPerEpoch: S,
      ...(opts.leakAfter === undefined ? {} : { leakAfter: opts.leakAfter }),
    },
    latencyMs: 20,
    verifyCertificates: true,
  });
  const engine = () => c.node(0).engine as unknown as PosEngine;
  c.start();
  c.run(CRASH_AT_MS);
  const before = { finalized: engine().checkpoints().finalized.slot, height: c.height(0) };
  for (const i of opts.crashed) c.crash(i);
  // The finalized slot of node 0 at each epoch boundary from the crash on.
  const trace: number[] = [];
  for (let t = CRASH_AT_MS + S * 1000; t <= opts.untilMs; t += S * 1000) {
    c.run(t);
    trace.push(engine().checkpoints().finalized.slot);
  }
  return { c, before, trace, height: c.height(0) };
}

describe('pos inactivity leak: finality resumes with 3 of 5 validators online', () => {
  it('stalls with 60% of the stake online, resumes within 10 epochs, and keeps resuming', () => {
    const { c, before, trace, height } = stalled({ crashed: [3, 4], untilMs: CRASH_AT_MS + 24 * S * 1000 });
    expect(before.finalized).toBeGreaterThan(0); // finality worked with everyone
    // The first epochs after the crash: finality at most catches up on what was voted before it.
    const caughtUp = trace[1] as number;
    expect(trace.slice(1, 5).every((f) => f === caughtUp)).toBe(true);
    // Then it moves: the leak's first finalization within 10 epochs of the crash, and more after.
    const firstMove = trace.findIndex((f) => f > caughtUp);
    expect(firstMove).toBeGreaterThan(4);
    expect(firstMove).toBeLessThanOrEqual(10);
    expect(new Set(trace.slice(firstMove)).size).toBeGreaterThanOrEqual(2);
    expect(height).toBeGreaterThan(before.height + 10);
    // Every online node agrees, and what committed carries certificates that verify (the
    // harness verifies each with verifyCertificates).
    expect(c.agreement()).toBe(true);
    for (const i of [1, 2]) expect(c.height(i)).toBeGreaterThan(before.height + 10);
    // A light client checks the same thresholds and says the commits rest on the leak.
    const after = c.commits.filter((k) => k.node === 0 && k.height > before.height);
    const said = after.map((k) => {
      const r = posCertificateScheme.verify(k.certificate as PosCertificate, c.trust);
      return r.ok ? r.verified : r.reason;
    });
    expect(said.length).toBeGreaterThan(10);
    for (const line of said)
      expect(line).toMatch(
        /; inactivity leak: a link over \d+ epochs needs more than 1[2-5]\/24 of the stake/,
      );
  });

  it('negative controls: with the leak off, or with 2 of 5 online, finality never resumes', () => {
    for (const run of [
      stalled({ leakAfter: 0, crashed: [3, 4], untilMs: CRASH_AT_MS + 16 * S * 1000 }),
      stalled({ crashed: [2, 3, 4], untilMs: CRASH_AT_MS + 16 * S * 1000 }),
    ]) {
      const caughtUp = run.trace[1] as number;
      expect(run.trace.slice(1).every((f) => f === caughtUp)).toBe(true);
    }
  });
});
