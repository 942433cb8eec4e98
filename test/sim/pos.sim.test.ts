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
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeEquivocation, MAX_EVIDENCE_BYTES, verifyEquivocation } from '../../consensus/evidence.ts';
import { pos } from '../../consensus/pos/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { toHex } from '../../crypto/bytes.ts';
import { genesisToJson } from '../../ledger/genesis.ts';
import { simGenesis } from '../../src/sim/sim-world.ts';
import { runSimulation, type SimResult } from '../../src/sim/simulation.ts';
import { expectClean, expectDeterministic, sweep } from './sweep.ts';

const engine = pos as EngineModule<unknown>;

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
    const power = genesis.validators.powerOf(convicted);
    expect(3 * power).toBeGreaterThanOrEqual(genesis.validators.totalPower);
    // Offline, with the command a user runs: the genesis file and one piece of evidence.
    const dir = mkdtempSync(join(tmpdir(), 'pos-evidence-'));
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

  it('is deterministic: same seed, same trace hash; another seed, another trace', async () => {
    await expectDeterministic(engine);
  }, 300_000);
});
