/**
 * Sweeps with validator sets that change during the fault phase: the options of the standard sweep
 * (sweep-options.ts: every network and node fault, f Byzantine validators in rotating modes) on a
 * chain with staking and epochs of 6 blocks, plus one candidate node, and a scenario that churns
 * the set while the faults run — the candidate registers and bonds, an honest validator unbonds
 * and bonds again, the candidate unbonds. Byzantine validators are v0 … v{f−1}; the churn uses
 * the last honest validator and never lets the set shrink below n, so it never holds more faulty
 * power than the model allows. Transactions go to every instance that is up. An equivocator
 * whose evidence an honest node held when the faults ended must be tombstoned on every honest
 * node by the end of the run (`inspect` throws otherwise: the run fails).
 */
import type { EngineModule } from '../../consensus/types.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { validatorRecord } from '../../ledger/staking/lifecycle.ts';
import { type Operation, signTransaction } from '../../ledger/tx.ts';
import { validatorKeys } from '../../src/sim/sim-world.ts';
import type { SimControl, SimOptions } from '../../src/sim/simulation.ts';
import { sweepOptions } from './sweep-options.ts';

export const STAKING_SWEEP = { mode: 'open', epochLength: 6, unbondingPeriod: 12, powerUnit: '1000' };

export function stakingSweepOptions(engine: EngineModule<unknown>, seed: number): SimOptions {
  const base = sweepOptions(engine, seed);
  const n = base.nodes;
  const candidate = n;
  const churner = n - 1;
  const nonces = new Map<number, number>();
  // To every instance that is up (one that crashes before gossiping would lose it otherwise).
  const send = async (ctl: SimControl, validator: number, op: Operation) => {
    const k = validatorKeys(validator).ed;
    const nonce = nonces.get(validator) ?? 0;
    const etx = signTransaction({ chainId: 'sim', sender: k.publicKey, nonce, op }, k.secretKey);
    let admitted = false;
    for (let i = 0; i <= n; i++) admitted = (await ctl.submit(i, etx)).ok || admitted;
    if (admitted) nonces.set(validator, nonce + 1);
    return admitted;
  };
  /** Whether the churner's unstake went out (it bonds again only then: never twice the power). */
  let churnerLeft = false;
  /** Whether `validator` is in the set an up honest instance runs now. */
  const inSet = (ctl: SimControl, validator: number) => {
    const key = validatorKeys(validator).ed.publicKey;
    for (let i = n; i >= 0; i--) {
      const rt = ctl.runtime(i);
      if (rt !== undefined) return rt.epoch.validators.byPublicKey(key) !== undefined;
    }
    return false;
  };
  /**
   * Whether `validator`'s stake is bonded in the committed state of an up honest instance: every
   * set computed from then on (at an epoch's last block) holds it. The set an instance runs now
   * is no answer: an unbond already committed leaves it only at the next epoch's start.
   */
  const bonded = async (ctl: SimControl, validator: number) => {
    const address = addressFromPublicKey(validatorKeys(validator).ed.publicKey);
    for (const i of honestInstances(ctl)) {
      const rt = ctl.runtime(i);
      if (rt === undefined) continue;
      if ((await (await rt.chain.stateAt()).getAccount(address)).stake >= 1000n) return true;
    }
    return false;
  };
  /** Instances of the honest validators and of the candidate (twins come first in the ids). */
  const honestInstances = (ctl: SimControl) =>
    Array.from({ length: n + 1 - base.byzantine }, (_, k) => ctl.instancesOf(base.byzantine + k)).flat();
  /** Offenders whose evidence an honest node held when the faults ended (validator indices). */
  const offenders = new Set<number>();
  return {
    ...base,
    seed: `staking-sweep-${seed}`,
    /**
     * An equivocator whose evidence reached honest nodes during the fault phase is slashed in the
     * committed chain by the end of the run (the Byzantine modes act in epoch 0, whose set is the
     * genesis set: evidence indices are genesis indices).
     */
    inspect: async (ctl) => {
      if (offenders.size === 0) return;
      for (const i of honestInstances(ctl)) {
        const rt = ctl.runtime(i);
        if (rt === undefined || rt.halted !== undefined) continue;
        const state = await rt.chain.stateAt();
        for (const v of offenders) {
          const record = await validatorRecord(state, addressFromPublicKey(validatorKeys(v).ed.publicKey));
          if (record?.status !== 'tombstoned')
            throw new Error(
              `seed ${seed}: validator ${v}'s evidence was held at the end of the faults, but it is ${record?.status} on instance ${i} at height ${rt.chain.height}`,
            );
        }
      }
    },
    byzantineValidators: Array.from({ length: base.byzantine }, (_, i) => i),
    staking: { config: STAKING_SWEEP, candidates: 1 },
    // After healing, every honest node commits past an epoch boundary. Evidence held at the end of
    // the faults may still be pending then — on an engine whose epoch's last block waited for
    // finality all through the faults (PoS), every block built meanwhile was a transactionless
    // suffix — and it can only be included in a block after the ones already built: two new blocks
    // (the default) can be exactly the epoch's pending last ones (PoS seed 200076). Not for an
    // engine whose commits wait k confirmations (PoW): it mines a block every few seconds, too
    // slowly for eight in 30 s (the long sweep: every PoW seed short of it).
    // Four times the default's blocks, so twice its time (a run ends as soon as every honest node
    // has them: it costs only the slow ones): with f Byzantine leaders in the rotation each cycle
    // of n views loses f timeouts, and an epoch change throws away the suffix its last views built
    // (HotStuff seed 200144: 7 blocks in 30 s after healing, 18 → 25, with no stall).
    ...(engine.confirmations === undefined
      ? { livenessBlocks: STAKING_SWEEP.epochLength + 2, livenessMs: 60_000 }
      : {}),
    scenario: (ctl) => {
      // (Evidence is held in memory: an instance that crashed may have forgotten what it reported.)
      ctl.at(base.durationMs, () => {
        for (const i of honestInstances(ctl))
          for (const e of ctl.runtime(i)?.equivocations() ?? [])
            if ((e.epoch ?? 0) === 0) offenders.add(e.validator);
      });
      const keys = validatorKeys(candidate);
      ctl.at(2_000, async () => {
        await send(ctl, candidate, {
          type: 'register-validator',
          name: 'candidate',
          blsPublicKey: keys.bls.publicKey,
          blsPop: keys.bls.pop,
          vrfPublicKey: engine.requiresVrfKeys === true ? keys.vrf.publicKey : new Uint8Array(0),
        });
        await send(ctl, candidate, { type: 'stake', amount: 1000n });
      });
      // The churner leaves only once the candidate is in, and bonds again only if its unbond went
      // out (or it would hold two seats' power, which a storage fault could then take out at once: a
      // third of epoch 2's power in seed 200091); the candidate leaves only once the churner is
      // back: the set never shrinks below n, whose f the run's faults may use up.
      ctl.at(15_000, async () => {
        if (inSet(ctl, candidate)) churnerLeft = await send(ctl, churner, { type: 'unstake', amount: 1000n });
      });
      ctl.at(25_000, async () => {
        if (churnerLeft) await send(ctl, churner, { type: 'stake', amount: 1000n });
      });
      // Once the churner is back in the committed state, not in the set of the epoch running now:
      // after an unbond that has committed, that set still holds the churner until the epoch ends,
      // and its stake may have been lost with the mempools of the instances that crashed (Raft
      // seed 200066: the candidate left, and epoch 3's six seats held the three silent ones).
      ctl.at(45_000, async () => {
        if (await bonded(ctl, churner)) await send(ctl, candidate, { type: 'unstake', amount: 1000n });
      });
    },
  };
}
