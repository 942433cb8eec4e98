/**
 * The engine compliance suite: one set of behavioural tests that every consensus engine must
 * pass, run through the deterministic simulator with the real runtime (js-libp2p's
 * interface-compliance-tests, applied to consensus).
 */
import { describe, expect, it } from 'vitest';
import { encodeEnvelope, sealEnvelope } from '../../consensus/envelope.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { toHex } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { headerHash } from '../../ledger/block.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import { peerIdFromEd25519 } from '../../ledger/validators.ts';
import { runSimulation, type SimOptions } from '../../src/sim/simulation.ts';
import { WAL_DAMAGE_KINDS, type WalDamageKind } from '../../src/sim/storage-faults.ts';

export interface ComplianceOptions {
  readonly params?: EngineParams;
  /** A message of this engine to sign with forged keys (any well-formed message will do). */
  readonly sampleMessage: () => unknown;
  /**
   * Whether the engine, restarted right after signing, tries to sign something else in a slot it
   * signed before (which the runtime's persisted guard refuses) — Tendermint, PBFT and HotStuff do.
   * An engine that persists every signed decision first (Raft: its vote before the reply) never
   * does, so there is nothing for the guard to refuse until its WAL is lost. Default true.
   */
  readonly resignsAfterRestart?: boolean;
  /**
   * Whether crashing right after signing at heights 3–6 and losing both the WAL and the sign
   * fence makes the engine sign twice in some seed (the checker's negative control). Default true.
   * Raft re-sends the very same acknowledgements (the leader holds the entries); its amnesia
   * shows as a second vote in a term, which needs a contested election: its own tests show it
   * (test/unit/raft-paper.test.ts, "one vote per term").
   */
  readonly amnesiaDoubleSigns?: boolean;
  /**
   * Whether the engine, told at start that its WAL lost records (`lost`), itself signs nothing at
   * the heights concerned (Algorand: it may have left them), so the runtime's guard has nothing to
   * refuse; by default the engine tries and the guard refuses. Default false.
   */
  readonly mutesAfterLoss?: boolean;
  /**
   * Whether nothing the engine sends has a double-sign slot (EngineModule.slotless: Proof of Work):
   * crash-restarts with and without the WAL must stay safe and live, and there is nothing for the
   * guard to refuse, nor a double signature to catch. Default false.
   */
  readonly slotless?: boolean;
  /**
   * The double-sign slot heights after whose signatures the restart tests crash validator 1
   * (default 3–6: block heights). An engine whose slots are time (Proof of Stake: one slot a
   * second, most of them not this validator's) names a window that holds its signatures.
   */
  readonly crashSlots?: readonly [number, number];
  /** Simulated ms of each run's workload phase (default 20 s); longer for engines that commit k deep. */
  readonly durationMs?: number;
  readonly label?: string;
}

function base(
  engine: EngineModule<unknown>,
  params: EngineParams | undefined,
  durationMs = 20_000,
): Omit<SimOptions, 'seed'> {
  return {
    engine,
    ...(params === undefined ? {} : { engineParams: params }),
    nodes: 4,
    byzantine: 0,
    byzantineMode: 'twins',
    faults: new Set(),
    durationMs,
    txs: 60,
  };
}

export function engineCompliance(engine: EngineModule<unknown>, opts: ComplianceOptions): void {
  const params = opts.params;
  describe(`engine compliance: ${opts.label ?? engine.name}`, () => {
    it('commits blocks and every submitted transaction with no faults, identically on every node', async () => {
      const chains: string[][] = [];
      const r = await runSimulation({
        ...base(engine, params, opts.durationMs),
        seed: 'compliance-commit',
        inspect: async (ctl) => {
          for (let v = 0; v < 4; v++) {
            const rt = ctl.runtime(ctl.instancesOf(v)[0] as number);
            const chain = rt?.chain;
            if (chain === undefined) continue;
            const hashes: string[] = [];
            // The header hash commits to everything in the block (tx root, state and log roots).
            for (let h = 1; h <= chain.height; h++) {
              const block = await chain.getBlock(h);
              hashes.push(block === undefined ? 'missing' : toHex(headerHash(block.header)));
            }
            chains.push(hashes);
          }
        },
      });
      expect(r.safe, JSON.stringify(r.violations)).toBe(true);
      expect(r.live).toBe(true);
      expect(r.committedHeight).toBeGreaterThanOrEqual(5);
      expect(r.committedTxs).toBe(60);
      // Every node holds the same chain (prefix-wise: some may be a block behind).
      expect(chains.length).toBe(4);
      const shortest = Math.min(...chains.map((c) => c.length));
      expect(shortest).toBeGreaterThanOrEqual(5);
      for (const c of chains)
        expect(c.slice(0, shortest)).toEqual((chains[0] as string[]).slice(0, shortest));
    });

    it('keeps committing after the leader crashes for good', async () => {
      let heightAtCrash = 0;
      let crashed = -1;
      const r = await runSimulation({
        ...base(engine, params, opts.durationMs),
        seed: 'compliance-leader-crash',
        scenario: (ctl) => {
          ctl.at(5_000, () => {
            const status = ctl.runtime(0)?.status();
            crashed = status?.leader ?? 0;
            heightAtCrash = ctl.runtime(crashed)?.chain.height ?? 0;
            ctl.crash(crashed, { permanent: true });
          });
        },
        inspect: (ctl) => {
          for (let v = 0; v < 4; v++) {
            if (v === crashed) continue;
            // An engine without empty blocks makes blocks for the rest of the workload and the
            // liveness phase's transactions: at least 2; the others keep making them: 3.
            const after = engine.emptyBlocks ? 3 : 2;
            expect(ctl.runtime(v)?.chain.height ?? 0).toBeGreaterThanOrEqual(heightAtCrash + after);
          }
        },
      });
      expect(crashed).toBeGreaterThanOrEqual(0);
      expect(r.safe).toBe(true);
      expect(r.live).toBe(true);
      expect(r.committedTxs).toBe(60);
    });

    it('never double-signs across crash-restarts, nor when its WAL is lost (the sign fence); the checker catches it when both are lost', async () => {
      type Wipe = { wipeWal?: boolean; wipeFence?: boolean };
      const scenario = (wipe: Wipe) => (ctl: Parameters<NonNullable<SimOptions['scenario']>>[0]) => {
        // Crash a validator right after each of its first signatures at heights 3..6 (or the
        // engine's window) and restart it 1 ms later: it comes back mid-round, with everything it
        // signed already out.
        const [from, to] = opts.crashSlots ?? [3, 6];
        const done = new Set<string>();
        ctl.onSigned((instance, slot) => {
          if (instance !== 1 || slot === undefined || slot.height < from || slot.height > to) return;
          const key = `${slot.height}/${slot.step}`;
          if (done.has(key)) return;
          done.add(key);
          ctl.at(ctl.now(), () => ctl.crash(1));
          ctl.at(ctl.now() + 1, () => ctl.restart(1, wipe));
        });
      };
      const safe = await runSimulation({
        ...base(engine, params, opts.durationMs),
        seed: 'compliance-restart',
        scenario: scenario({}),
      });
      expect(safe.safe, JSON.stringify(safe.violations)).toBe(true);
      expect(safe.live).toBe(true);
      // The restarted engine did try to sign something else for an already-signed slot, and the
      // persisted guard re-sent the original instead.
      if (opts.slotless !== true && (opts.resignsAfterRestart ?? true))
        expect(safe.refusedDoubleSigns).toBeGreaterThan(0);
      else expect(safe.refusedDoubleSigns).toBe(0);
      // The WAL lost each time, the fence kept: the node notices and signs nothing it may have signed.
      for (let s = 0; s < 3; s++) {
        const r = await runSimulation({
          ...base(engine, params, opts.durationMs),
          seed: `compliance-wiped-${s}`,
          scenario: scenario({ wipeWal: true }),
        });
        expect(r.safe, JSON.stringify(r.violations)).toBe(true);
        expect(r.live, r.livenessFailure).toBe(true);
        if (opts.mutesAfterLoss === true || opts.slotless === true) expect(r.refusedDoubleSigns).toBe(0);
        else expect(r.refusedDoubleSigns).toBeGreaterThan(0);
      }
      // Negative control: the same crashes with the WAL and the fence wiped must be caught in some seed.
      if (opts.amnesiaDoubleSigns === false || opts.slotless === true) return;
      let caught = false;
      for (let s = 0; s < 6 && !caught; s++) {
        const r = await runSimulation({
          ...base(engine, params, opts.durationMs),
          seed: `compliance-wiped-${s}`,
          scenario: scenario({ wipeWal: true, wipeFence: true }),
        });
        caught = r.violations.some((v) => v.kind === 'double-sign');
      }
      expect(caught).toBe(true);
    });

    it('notices a damaged WAL record (a flipped bit, a torn value, a misdirected write) or a tail of batches LevelDB dropped when it restarts, and stays safe and live; a lost record is what the check catches', async () => {
      const damaged = (kind: WalDamageKind) =>
        runSimulation({
          ...base(engine, params, opts.durationMs),
          seed: `compliance-damage-${kind}`,
          scenario: (ctl) => {
            ctl.at(6_000, () => ctl.crash(1));
            ctl.at(6_001, async () => {
              expect(await ctl.damageWal(1, kind)).toBeDefined();
            });
            ctl.at(6_500, () => ctl.restart(1));
            ctl.at(6_501, () => {
              // Noticed, and named (it refuses every slot it may have signed before the damage):
              // a damaged record by its checksum, a dropped tail by the fence's batch count.
              if (kind === 'tail') expect(ctl.runtime(1)?.walLoss()?.gap).toBe(true);
              else if (kind !== 'lose') expect(ctl.runtime(1)?.walLoss()?.damagedRecords).toHaveLength(1);
            });
          },
        });
      // (A tail is dropped back to a signing batch; an engine that signs nothing has none.)
      for (const kind of WAL_DAMAGE_KINDS.filter((k) => k !== 'tail' || opts.slotless !== true)) {
        const r = await damaged(kind);
        expect(r.walRecordsDamaged, kind).toBe(1);
        expect(r.safe, `${kind}: ${JSON.stringify(r.violations)}`).toBe(true);
        expect(r.live, `${kind}: ${r.livenessFailure}`).toBe(true);
      }
      // Negative control: a record deleted outright passes every checksum, and the simulator says so.
      const lost = await damaged('lose');
      expect(lost.violations.map((v) => v.kind)).toContain('storage-unnoticed');
    });

    it('rejects messages from non-validators, with bad signatures, or undecodable, and keeps going', async () => {
      const outsider = ed25519.keygen(new Uint8Array(32).fill(99));
      let rejected = 0;
      const r = await runSimulation({
        ...base(engine, params, opts.durationMs),
        seed: 'compliance-reject',
        scenario: (ctl) => {
          const sample = opts.sampleMessage();
          for (let t = 2_000; t < 15_000; t += 500) {
            ctl.at(t, () => {
              const forged = sealEnvelope(engine.codec, sample, 'sim', 0, outsider.secretKey); // claims validator 0
              const unknown = sealEnvelope(engine.codec, sample, 'sim', 77, outsider.secretKey); // no validator 77
              const garbage = new Uint8Array(300).fill(t % 251);
              const badInner = encodeEnvelope(new Uint8Array([0xc0]), 0, new Uint8Array(64));
              const peer = peerIdFromEd25519(outsider.publicKey);
              for (const bytes of [forged.bytes, unknown.bytes, garbage, badInner])
                ctl.inject(peer, 'consensus', bytes);
            });
          }
        },
        inspect: (ctl) => {
          for (let v = 0; v < 4; v++) rejected += ctl.runtime(v)?.counters.rejected ?? 0;
        },
      });
      expect(rejected).toBeGreaterThanOrEqual(4 * 4 * 20);
      expect(r.safe).toBe(true);
      expect(r.live).toBe(true);
      expect(r.committedTxs).toBe(60);
    });

    // Only for engines that tolerate an equivocating validator: a crash-fault engine's fault model
    // (consensus/fault-model.ts) admits silence alone, and its negative controls are elsewhere.
    const admitsEquivocation =
      engine.faultModel.byzantineModes === 'all' || engine.faultModel.byzantineModes.includes('equivocate');
    it.runIf(admitsEquivocation)(
      'reports evidence when a validator equivocates, and stays safe and live',
      async () => {
        const r = await runSimulation({
          ...base(engine, params, opts.durationMs),
          seed: 'compliance-equivocate',
          byzantine: 1,
          byzantineMode: 'equivocate',
          durationMs: 30_000,
        });
        expect(r.safe, JSON.stringify(r.violations)).toBe(true);
        expect(r.live).toBe(true);
        // Verifiable evidence, against the equivocating validator and no one else.
        expect(r.evidence.length).toBeGreaterThan(0);
        const byzantine = r.nodeStates.filter((n) => n.byzantine).map((n) => n.validator);
        expect(new Set(r.evidence.map((e) => e.validator))).toEqual(new Set(byzantine));
      },
    );

    it('an honest run produces no equivocation evidence (negative control for the one above)', async () => {
      const r = await runSimulation({
        ...base(engine, params, opts.durationMs),
        seed: 'compliance-honest',
        faults: new Set(['crash', 'loss']),
      });
      expect(r.safe, JSON.stringify(r.violations)).toBe(true);
      expect(r.evidence).toEqual([]);
    });
  });
}
