/**
 * Raft membership through the real runtime and ledger in the simulator: signed `membership`
 * transactions demote two voters to learners, then replace two of the three voters — each change
 * through the joint configuration — under crashes, loss, reordering and partitions. Every node
 * agrees on every height, every node ends on the requested configuration, and the learners stay
 * caught up. (The engine's rules claim by claim: test/unit/raft-membership.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { decodeEngineData } from '../../consensus/raft/entry.ts';
import { raft } from '../../consensus/raft/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { type EncodedTransaction, type Operation, signTransaction } from '../../ledger/tx.ts';
import { validatorKeys } from '../../src/sim/sim-world.ts';
import { runSimulation, type SimControl } from '../../src/sim/simulation.ts';
import { highestCommittedRequest } from './membership-sweep.ts';

const address = (v: number) => addressFromPublicKey(validatorKeys(v).ed.publicKey);

function tx(validator: number, nonce: number, op: Operation): EncodedTransaction {
  const k = validatorKeys(validator).ed;
  return signTransaction({ chainId: 'sim', sender: k.publicKey, nonce, op }, k.secretKey);
}

/** The highest membership request seq any running node has committed. */
const committedSeq = (ctl: SimControl) => highestCommittedRequest(ctl, [0, 1, 2, 3, 4]);

/**
 * From `at`, submits `etx` every 2 s until a node has committed request number `seq` — the node
 * that admitted it may crash with it in its mempool — once request `seq − 1` is committed. The
 * same signed bytes every time: it executes at most once.
 */
function submitUntilCommitted(ctl: SimControl, at: number, etx: EncodedTransaction, seq: number): void {
  ctl.at(at, async () => {
    const committed = await committedSeq(ctl);
    if (committed >= seq) return;
    if (committed === seq - 1)
      for (let v = 0; v < 5; v++) {
        const r = await ctl.submit(ctl.instancesOf(v)[0] as number, etx).catch(() => undefined);
        if (r?.ok === true) break;
      }
    submitUntilCommitted(ctl, at + 2000, etx, seq);
  });
}

describe('raft membership changes (simulator)', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}: voters 0–4 → voters 0,1,2 + learners 3,4 → voters 2,3,4 + learners 0,1, under faults; safe, live, all on C_new`, async () => {
      let finals: string[] = [];
      let heights: number[] = [];
      let requests = 0;
      const r = await runSimulation({
        engine: raft as EngineModule<unknown>,
        nodes: 5,
        byzantine: 0,
        byzantineMode: 'twins',
        faults: new Set(['crash', 'loss', 'reorder', 'partition']),
        durationMs: 30_000,
        txs: 600,
        seed: `raft-membership-${seed}`,
        scenario: (ctl) => {
          const demote = tx(0, 0, {
            type: 'membership',
            voters: [0, 1, 2].map(address),
            learners: [3, 4].map(address),
          });
          const replace = tx(1, 0, {
            type: 'membership',
            voters: [2, 3, 4].map(address),
            learners: [0, 1].map(address),
          });
          submitUntilCommitted(ctl, 2_000, demote, 1);
          submitUntilCommitted(ctl, 12_000, replace, 2);
        },
        inspect: async (ctl) => {
          finals = [];
          heights = [];
          for (let v = 0; v < 5; v++) {
            const rt = ctl.runtime(ctl.instancesOf(v)[0] as number);
            if (rt === undefined) continue;
            const head = await rt.chain.getBlock(rt.chain.height);
            const config = head === undefined ? undefined : decodeEngineData(head.header.engineData).config;
            finals.push(JSON.stringify(config ?? 'default'));
            heights.push(rt.chain.height);
          }
          requests = await committedSeq(ctl);
        },
      });
      expect(r.safe, JSON.stringify(r.violations)).toBe(true);
      expect(r.live, r.livenessFailure).toBe(true);
      expect(requests).toBe(2);
      expect(new Set(finals), finals.join(' | ')).toEqual(
        new Set([JSON.stringify({ voters: [2, 3, 4], learners: [0, 1] })]),
      );
      expect(Math.min(...heights)).toBeGreaterThan(10);
    });
  }
});
