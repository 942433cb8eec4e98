/**
 * Validator sets that change, through the real runtime in the simulator: a candidate registers
 * and bonds, a validator unbonds, and at the next epoch boundary every node starts a new engine
 * instance with the new set — the candidate signs from then on, the departed validator does not —
 * while every node keeps agreeing on each height. (The ledger's rules: test/unit/staking*.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { algorand } from '../../consensus/algorand/index.ts';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import { multipaxos } from '../../consensus/multipaxos/index.ts';
import { pbft } from '../../consensus/pbft/index.ts';
import { raft } from '../../consensus/raft/index.ts';
import { tendermint } from '../../consensus/tendermint/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { burnedStake, validatorRecord } from '../../ledger/staking/lifecycle.ts';
import { type EncodedTransaction, type Operation, signTransaction } from '../../ledger/tx.ts';
import { validatorKeys } from '../../src/sim/sim-world.ts';
import { runSimulation, type SimControl } from '../../src/sim/simulation.ts';

const STAKING = { mode: 'open', epochLength: 6, unbondingPeriod: 12, powerUnit: '1000', maxValidators: 16 };
const CANDIDATE = 4;
const LEAVER = 3;

function tx(validator: number, nonce: number, op: Operation): EncodedTransaction {
  const k = validatorKeys(validator).ed;
  return signTransaction({ chainId: 'sim', sender: k.publicKey, nonce, op }, k.secretKey);
}

async function submit(ctl: SimControl, validator: number, etx: EncodedTransaction): Promise<void> {
  const r = await ctl.submit(ctl.instancesOf(validator)[0] as number, etx);
  expect(r.ok, JSON.stringify(r)).toBe(true);
}

describe('validator sets that change at epoch boundaries (simulator)', () => {
  for (const engine of [tendermint, pbft, hotstuff, raft, multipaxos, algorand] as EngineModule<unknown>[]) {
    it(`${engine.name}: a bonded candidate joins and signs, an unbonded validator leaves, every node follows`, async () => {
      const signedAfterJoin = new Map<number, number>();
      const signedOutsideTheSet: string[] = [];
      let sets: string[] = [];
      const r = await runSimulation({
        engine,
        nodes: 4,
        byzantine: 0,
        byzantineMode: 'twins',
        faults: new Set(),
        durationMs: 25_000,
        // An engine without empty blocks makes blocks only for transactions: enough of them to
        // cross two epoch boundaries.
        txs: engine.emptyBlocks ? 20 : 400,
        seed: `staking-epochs-${engine.name}`,
        staking: { config: STAKING, candidates: 1 },
        scenario: (ctl) => {
          ctl.at(500, async () => {
            const keys = validatorKeys(CANDIDATE);
            await submit(
              ctl,
              CANDIDATE,
              tx(CANDIDATE, 0, {
                type: 'register-validator',
                name: 'candidate',
                blsPublicKey: keys.bls.publicKey,
                blsPop: keys.bls.pop,
                // Sortition engines need every validator's VRF key; the others take none.
                vrfPublicKey: engine.requiresVrfKeys === true ? keys.vrf.publicKey : new Uint8Array(0),
              }),
            );
            await submit(ctl, CANDIDATE, tx(CANDIDATE, 1, { type: 'stake', amount: 1000n }));
            await submit(ctl, LEAVER, tx(LEAVER, 0, { type: 'unstake', amount: 1000n }));
          });
          ctl.onSigned((instance, slot) => {
            const rt = ctl.runtime(instance);
            if (slot === undefined || rt === undefined) return;
            // Only members of the epoch's set sign in it.
            if (rt.self === undefined)
              signedOutsideTheSet.push(`instance ${instance} in epoch ${rt.epoch.epoch}`);
            if (rt.epoch.epoch > 0) signedAfterJoin.set(instance, (signedAfterJoin.get(instance) ?? 0) + 1);
          });
        },
        inspect: (ctl) => {
          sets = [0, 1, 2, 3, 4].map((v) => {
            const rt = ctl.runtime(ctl.instancesOf(v)[0] as number);
            const e = rt?.epoch;
            return `${e?.epoch}:${e?.validators.validators.map((x) => x.name).join(',')}`;
          });
        },
      });
      expect(r.safe, JSON.stringify(r.violations)).toBe(true);
      expect(r.live, r.livenessFailure).toBe(true);
      // Every node is in the same epoch with the same set: the candidate in, the leaver out.
      expect(new Set(sets).size, sets.join(' | ')).toBe(1);
      const [epoch, names] = (sets[0] as string).split(':') as [string, string];
      expect(Number(epoch)).toBeGreaterThanOrEqual(2);
      expect(names.split(',').sort()).toEqual(['candidate', 'v0', 'v1', 'v2']);
      // The candidate signs once it is in the set; nobody signs in an epoch whose set lacks it.
      expect(signedAfterJoin.get(CANDIDATE) ?? 0).toBeGreaterThan(0);
      expect(signedOutsideTheSet).toEqual([]);
    });
  }
});

describe('double signing is slashed through the committed chain (simulator)', () => {
  it('tendermint: an equivocating validator is caught, reported, slashed and tombstoned, and leaves the set', async () => {
    const OFFENDER = 2;
    let outcome: Array<{
      status: string | undefined;
      stake: bigint;
      burned: bigint;
      inSet: boolean;
      epoch: number;
    }> = [];
    const r = await runSimulation({
      engine: tendermint as EngineModule<unknown>,
      nodes: 4,
      byzantine: 1,
      byzantineValidators: [OFFENDER],
      byzantineMode: 'equivocate',
      faults: new Set(),
      durationMs: 20_000,
      txs: 20,
      seed: 'staking-slash-tendermint',
      staking: { config: STAKING },
      inspect: async (ctl) => {
        const offender = addressFromPublicKey(validatorKeys(OFFENDER).ed.publicKey);
        outcome = [];
        for (const v of [0, 1, 3]) {
          const rt = ctl.runtime(ctl.instancesOf(v)[0] as number);
          if (rt === undefined) continue;
          const state = await rt.chain.stateAt();
          outcome.push({
            status: (await validatorRecord(state, offender))?.status,
            stake: (await state.getAccount(offender)).stake,
            burned: await burnedStake(state),
            inSet: rt.epoch.validators.byAddress(offender) !== undefined,
            epoch: rt.epoch.epoch,
          });
        }
      },
    });
    expect(r.safe, JSON.stringify(r.violations)).toBe(true);
    expect(r.live, r.livenessFailure).toBe(true);
    expect(r.evidence.length).toBeGreaterThan(0);
    expect(outcome).toHaveLength(3);
    for (const o of outcome) {
      // 5% of power 1 × 1,000 burned, once; tombstoned; out of every set computed since.
      expect(o).toMatchObject({ status: 'tombstoned', stake: 950n, burned: 50n, inSet: false });
      expect(o.epoch).toBeGreaterThanOrEqual(1);
    }
  });
});
