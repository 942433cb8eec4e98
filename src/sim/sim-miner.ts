/**
 * The simulator's miner: a hash-rate model, not a grinder. Finding a block is a Poisson process, so
 * the time to a solution is exponential with mean work ÷ hash rate; it is drawn from the node's
 * seeded RNG and waited for in virtual time. Then the (easy) target is ground for real from nonce 0,
 * so the block carries a valid proof of work and the run stays deterministic.
 */
import { parsePowParams } from '../../consensus/pow/params.ts';
import { POW_ENGINE } from '../../consensus/pow/rules.ts';
import { decodeCompact, hashMeetsTarget, workOf } from '../../consensus/pow/target.ts';
import type { Rng } from '../../consensus/rng.ts';
import { sha256 } from '../../crypto/hash.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import type { MineJob, Miner, Timers } from '../runtime/ports.ts';

const NONCE_BYTES = 8;
const TIMER = 'sim-miner';

export class SimMiner implements Miner {
  readonly #timers: Timers;
  readonly #rng: Rng;
  readonly #hashesPerMs: number;

  /** `hashesPerMs`: this miner's share of the network's hash power. */
  constructor(timers: Timers, rng: Rng, hashesPerMs: number) {
    this.#timers = timers;
    this.#rng = rng;
    this.#hashesPerMs = hashesPerMs;
  }

  mine(job: MineJob, solved: (header: Uint8Array) => void): void {
    const meanMs = Number(workOf(job.target)) / this.#hashesPerMs;
    const u = this.#rng.next();
    const delay = Math.max(1, Math.ceil(-meanMs * Math.log(1 - u)));
    this.#timers.set(TIMER, delay, () => solved(grind(job)));
  }

  cancel(): void {
    this.#timers.cancel(TIMER);
  }
}

/** The first nonce from 0 that meets the target (the simulator's targets take a few hundred tries). */
export function grind(job: MineJob): Uint8Array {
  const header = job.header.slice();
  const view = new DataView(header.buffer, header.byteOffset + header.length - NONCE_BYTES, NONCE_BYTES);
  for (let nonce = 0n; ; nonce++) {
    view.setBigUint64(0, nonce);
    if (hashMeetsTarget(sha256(header), job.target)) return header;
  }
}

/**
 * A validator's hash rate: its `share` of a network that mines a genesis-target block every
 * `blockIntervalMs` when all are up (so the retarget starts on schedule). 1 for other engines.
 */
export function simHashesPerMs(genesis: Genesis, share = 1 / genesis.validators.size): number {
  if (genesis.engine.name !== POW_ENGINE) return 1;
  const p = parsePowParams(genesis.engine.params);
  return (Number(workOf(decodeCompact(p.genesisBits))) / p.blockIntervalMs) * share;
}

/** Validator `v`'s share of the hash power, from relative weights (equal shares without any). */
export function shareOf(weights: readonly number[] | undefined, v: number, n: number): number {
  if (weights === undefined) return 1 / n;
  const total = weights.reduce((a, b) => a + b, 0);
  return (weights[v] ?? 0) / total;
}
