/**
 * Raft sweeps with the membership changing during the fault phase: the options of the standard
 * crash-fault sweep (sweep-options.ts: n = 3, 5, 7, f silent validators or f − 1 and damaged WALs,
 * every network, node and clock fault) plus three `membership` requests at random times, each
 * choosing random voters and learners. The voters are chosen so that they keep a quorum once the
 * faults heal: v0 … v{f−1} are silent for good, and on the seeds whose fault budget leaves room for
 * damaged WALs one honest validator may refuse to vote until the chain passes what it lost — so a
 * majority of the voters must remain without the silent ones and without one honest voter more.
 * A request is submitted to every instance that is up, again every 2 s until it is committed (the
 * same signed bytes: it executes once), and only after the one before it is committed.
 *
 * At the end (`inspect` throws otherwise: the run fails) every honest instance's committed head
 * names the configuration the last committed request asked for, once SETTLE_BLOCKS blocks have
 * followed the request's: the leader carried it out through C_old,new under the faults, and nobody
 * stopped halfway.
 */
import { decodeEngineData } from '../../consensus/raft/entry.ts';
import { raft } from '../../consensus/raft/index.ts';
import { SeededRng } from '../../consensus/rng.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { equalBytes } from '../../crypto/bytes.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { validatorKeys } from '../../src/sim/sim-world.ts';
import type { SimControl, SimOptions } from '../../src/sim/simulation.ts';
import { sweepOptions } from './sweep-options.ts';

const REQUESTS = 3;
const RETRY_MS = 2_000;
/**
 * Blocks after the one that committed a request within which the change must be complete: up to
 * maxInflight (4) blocks already on their way, C_old,new, as many again while it commits, C_new,
 * and room for an election's no-op.
 */
const SETTLE_BLOCKS = 16;

const address = (v: number) => addressFromPublicKey(validatorKeys(v).ed.publicKey);

/** The highest membership request seq any running instance of `validators` has committed. */
export async function highestCommittedRequest(
  ctl: SimControl,
  validators: readonly number[],
): Promise<number> {
  let seq = 0;
  for (const v of validators) {
    const rt = ctl.runtime(ctl.instancesOf(v)[0] as number);
    if (rt !== undefined) seq = Math.max(seq, (await rt.chain.membershipRequest())?.seq ?? 0);
  }
  return seq;
}

/** `checked`: told how many honest nodes' end configurations were checked (settled requests). */
export function membershipSweepOptions(seed: number, checked?: (nodes: number) => void): SimOptions {
  const base = sweepOptions(raft as EngineModule<unknown>, seed);
  const n = base.nodes;
  const f = base.byzantine;
  const rng = new SeededRng(`membership-sweep-${seed}`);
  const honest = Array.from({ length: n - f }, (_, k) => f + k);
  const silent = Array.from({ length: f }, (_, k) => k);
  const pick = (from: readonly number[], count: number) => {
    const pool = [...from];
    const out: number[] = [];
    while (out.length < count && pool.length > 0) out.push(...pool.splice(rng.int(pool.length), 1));
    return out.sort((a, b) => a - b);
  };
  // Honest validators that may be unable to vote (a damaged WAL): the fault budget f left unused.
  const fenced = raft.faultModel.tolerated(n) - f;
  /** The transaction last submitted for each request (the same bytes on every retry). */
  const submitted = new Map<number, Uint8Array>();
  const requests = Array.from({ length: REQUESTS }, (_, r) => {
    let k: number;
    let s: number;
    do {
      k = 1 + rng.int(honest.length);
      s = rng.int(f + 1);
    } while (k - fenced < Math.floor((k + s) / 2) + 1);
    const voters = [...pick(honest, k), ...pick(silent, s)].sort((a, b) => a - b);
    const rest = [...honest, ...silent].filter((v) => !voters.includes(v));
    const learners = pick(rest, rng.int(rest.length + 1));
    return {
      voters,
      learners,
      sender: honest[r % honest.length] as number,
      at: 5_000 + rng.int(base.durationMs - 10_000),
    };
  }).sort((a, b) => a.at - b.at);

  /** Any up honest instance's runtime, for reading committed state. */
  const anyRuntime = (ctl: SimControl) =>
    honest.map((v) => ctl.runtime(ctl.instancesOf(v)[0] as number)).find((rt) => rt !== undefined);
  const committedSeq = (ctl: SimControl) => highestCommittedRequest(ctl, honest);
  const submit = (ctl: SimControl, r: number, at: number): void => {
    ctl.at(at, async () => {
      if (at > base.durationMs) return; // requests belong to the fault phase
      const done = await committedSeq(ctl);
      if (done >= r + 1) return;
      const rt = anyRuntime(ctl);
      if (done === r && rt !== undefined) {
        const req = requests[r] as (typeof requests)[number];
        const k = validatorKeys(req.sender).ed;
        const nonce = (await (await rt.chain.stateAt()).getAccount(address(req.sender))).nonce;
        const etx = signTransaction(
          {
            chainId: 'sim',
            sender: k.publicKey,
            nonce,
            op: { type: 'membership', voters: req.voters.map(address), learners: req.learners.map(address) },
          },
          k.secretKey,
        );
        submitted.set(r, etx.id);
        for (let i = 0; i < n; i++) await ctl.submit(i, etx).catch(() => undefined);
      }
      submit(ctl, r, at + RETRY_MS);
    });
  };

  return {
    ...base,
    seed: `membership-sweep-${seed}`,
    byzantineValidators: silent,
    // A request committed as the faults end still needs its two entries (C_old,new, then C_new)
    // and a leader's no-op: the liveness phase runs until a few more blocks than the usual two.
    livenessBlocks: SETTLE_BLOCKS + 4,
    scenario: (ctl) => {
      for (const [r, req] of requests.entries()) submit(ctl, r, req.at);
    },
    inspect: async (ctl) => {
      let nodes = 0;
      for (const v of honest) {
        const rt = ctl.runtime(ctl.instancesOf(v)[0] as number);
        if (rt === undefined || rt.halted !== undefined) continue;
        const request = await rt.chain.membershipRequest();
        const id = request === undefined ? undefined : submitted.get(request.seq - 1);
        const at = id === undefined ? undefined : (await rt.chain.getTxLocation(id))?.height;
        if (at !== undefined && rt.chain.height < at + SETTLE_BLOCKS) continue; // may be under way
        const head = await rt.chain.getBlock(rt.chain.height);
        const config = head === undefined ? undefined : decodeEngineData(head.header.engineData).config;
        const index = (a: Uint8Array) =>
          rt.epoch.validators.validators.findIndex((x) => equalBytes(x.address, a));
        const voters = request?.voters.map(index).sort((a, b) => a - b);
        const learners = request?.learners
          .map(index)
          .filter((l) => !voters?.includes(l))
          .sort((a, b) => a - b);
        const expected = request === undefined ? undefined : { voters, learners };
        const actual =
          config === undefined ? undefined : { voters: config.voters, learners: config.learners };
        // A request for every validator as a voter and no learners is the default configuration.
        const isDefault =
          expected !== undefined && expected.learners?.length === 0 && expected.voters?.length === n;
        const want = isDefault ? undefined : expected;
        if (JSON.stringify(actual) !== JSON.stringify(want) || config?.outgoing !== undefined)
          throw new Error(
            `seed ${seed}: validator ${v} ends at height ${rt.chain.height} with configuration ${JSON.stringify(config ?? 'default')}; request ${request?.seq ?? 0} asked for ${JSON.stringify(want ?? 'default')}`,
          );
        nodes++;
      }
      checked?.(nodes);
    },
  };
}
