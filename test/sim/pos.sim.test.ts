/**
 * Proof of Stake under the simulator: the 50-seed sweep (n ∈ {4, 7}, f Byzantine validators in
 * every mode, every network, node, clock and storage fault, 60 simulated seconds, then a healed
 * liveness phase), determinism, and accountable safety — Casper FFG's theorem made executable:
 * with twins holding half the stake, a partition makes the two halves finalize conflicting
 * blocks; the checker catches the conflict, and the evidence the honest nodes hold convicts
 * validators with at least 1/3 of the stake, each piece verifiable offline (`verity evidence
 * verify`, run here on one of them). Below 1/3 (the sweep's one twin of four), no seed finalizes
 * conflicting blocks. The split is scripted (each half holds 3 of 4 validators through twins):
 * the simulator's random partitions are mostly shorter than the two epochs finality takes.
 * And the inactivity leak's price, made executable the same way: below 1/3 but with a partition
 * outlasting the leak's onset, both sides finalize — and the evidence convicts exactly the
 * validators that signed on both (leak.ts); with the leak off the same run stays safe.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { decodeEquivocation, MAX_EVIDENCE_BYTES, verifyEquivocation } from '../../consensus/evidence.ts';
import { pos } from '../../consensus/pos/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { toHex } from '../../crypto/bytes.ts';
import { type Genesis, genesisToJson } from '../../ledger/genesis.ts';
import { simGenesis } from '../../src/sim/sim-world.ts';
import { runSimulation, type SimResult } from '../../src/sim/simulation.ts';
import { expectClean, expectDeterministic, sweep } from './sweep.ts';

const engine = pos as EngineModule<unknown>;

/** The validators a run's evidence convicts: every piece must verify against genesis alone. */
function convictedBy(r: SimResult, genesis: Genesis): Set<number> {
  const convicted = new Set<number>();
  for (const bytes of r.evidenceBytes) {
    const check = verifyEquivocation(decodeEquivocation(bytes, MAX_EVIDENCE_BYTES), {
      engine: 'pos',
      chainId: genesis.chainId,
      validators: genesis.validators,
      codec: engine.codec,
    });
    expect(check.ok).toBe(true);
    if (check.ok) convicted.add(check.validator);
  }
  return convicted;
}

describe('pos under the simulator', () => {
  it('50 seeds × 60 s of faults (n ∈ {4, 7}, f Byzantine in every mode, or f − 1 and damaged WALs): safe, then live after healing', async () => {
    const result = await sweep(engine, 1, 50);
    expectClean(result);
    expect(result.walRecordsDamaged).toBeGreaterThan(0);
  }, 900_000);

  it('accountable safety: twins with half the stake finalize conflicting blocks, and the evidence convicts ≥ 1/3 of the stake', async () => {
    const { genesis } = simGenesis('pos', { ...pos.simParams }, 4);
    // From 3 s to 28 s the network splits in two halves that each hold 3 of the 4 validators'
    // stake: honest v0 with one twin of v2 and of v3, honest v1 with the other twins. Each half
    // justifies and finalizes its own chain; after the partition heals, the twins' next votes
    // (one target, two links) reach the honest nodes. (Random partitions, 1–5 s each, are too
    // short to finalize on both sides — two epochs — in most seeds: the split is scripted.)
    let conflicted: SimResult | undefined;
    for (let s = 1; s <= 3 && conflicted === undefined; s++) {
      const r = await runSimulation({
        engine,
        nodes: 4,
        byzantine: 2,
        byzantineMode: 'twins',
        byzantineValidators: [2, 3],
        faults: new Set(),
        seed: `negative-${s}`,
        durationMs: 40_000,
        txs: 50,
        scenario: (ctl) => {
          ctl.at(3_000, () => {
            const half = new Set([ctl.instancesOf(0)[0], ctl.instancesOf(2)[0], ctl.instancesOf(3)[0]]);
            ctl.dropMessages((from, to) => half.has(from) !== half.has(to));
          });
          ctl.at(28_000, () => ctl.dropMessages(undefined));
        },
      });
      expect(r.tolerated).toBe(false);
      if (r.violations.some((v) => v.kind === 'agreement')) conflicted = r;
    }
    // The checker caught conflicting finalized blocks…
    expect(conflicted, 'no seed produced conflicting finality').toBeDefined();
    const r = conflicted as SimResult;
    // …and every piece of evidence verifies against genesis alone; the convicted hold ≥ 1/3.
    const convicted = convictedBy(r, genesis);
    const power = genesis.validators.powerOf(convicted);
    expect(3 * power).toBeGreaterThanOrEqual(genesis.validators.totalPower);
    // Offline, with the command a user runs: the genesis file and one piece of evidence.
    const dir = mkdtempSync(join(tmpdir(), 'verity-pos-evidence-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
    writeFileSync(join(dir, 'genesis.json'), JSON.stringify(genesisToJson(genesis)));
    writeFileSync(join(dir, 'evidence.hex'), toHex(r.evidenceBytes[0] as Uint8Array));
    const out = execFileSync(
      join(process.cwd(), 'node_modules/.bin/node'),
      [
        'cli/verity.ts',
        'evidence',
        'verify',
        join(dir, 'evidence.hex'),
        '--genesis',
        join(dir, 'genesis.json'),
        '--json',
      ],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toMatchObject({ ok: true });
  }, 300_000);

  it('the leak’s price: twins with 2/7 of the stake and a partition outlasting the leak finalize both sides — caught, and the evidence convicts the twins; with the leak off, the same run is safe', async () => {
    // Seven validators, v5 and v6 Byzantine with twins (2/7: below 1/3). From 3 s to 63 s the
    // network splits: {v0, v1, v4} with one twin of each holds 5/7 (a full 2/3) and finalizes;
    // {v2, v3} with the other twins holds 4/7 — short of 2/3 and more than 1/2 — and, once its
    // links span 7 epochs, the leak lets it finalize too (leak.ts: q₁ + q₂ − 1 = 5/7 + 4/7 − 1 =
    // 2/7 of the stake must have signed on both sides, and that is exactly the twins).
    const { genesis } = simGenesis('pos', { ...pos.simParams }, 7);
    const run = (leakAfter: number) =>
      runSimulation({
        engine,
        engineParams: { leakAfter },
        nodes: 7,
        byzantine: 2,
        byzantineMode: 'twins',
        byzantineValidators: [5, 6],
        faults: new Set(),
        seed: 'leak-price',
        durationMs: 80_000,
        txs: 50,
        scenario: (ctl) => {
          ctl.at(3_000, () => {
            const side = new Set([2, 3].map((v) => ctl.instancesOf(v)[0]));
            for (const v of [5, 6]) side.add(ctl.instancesOf(v)[1]);
            ctl.dropMessages((from, to) => side.has(from) !== side.has(to));
          });
          ctl.at(63_000, () => ctl.dropMessages(undefined));
        },
      });
    const leaked = await run(4);
    expect(leaked.violations.some((v) => v.kind === 'agreement')).toBe(true);
    expect([...convictedBy(leaked, genesis)].sort()).toEqual([5, 6]);
    // Negative control: the leak off, the 4/7 side never finalizes — no conflict.
    const off = await run(0);
    expect(off.violations.filter((v) => v.kind === 'agreement')).toEqual([]);
  }, 300_000);

  it('is deterministic: same seed, same trace hash; another seed, another trace', async () => {
    await expectDeterministic(engine);
  }, 300_000);
});
