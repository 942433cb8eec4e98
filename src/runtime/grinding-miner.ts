/**
 * The node's Proof-of-Work miner: grinds nonces on the event loop in short slices, yielding between
 * them (setImmediate), so blocks, votes and RPC keep being served while it mines. One job at a
 * time; a new job or `cancel` abandons the current one at the next slice.
 *
 * Why not a worker thread: the engine asks for one job per tip and a validator on this testnet
 * shares two cores with three others, so a worker would contend for the same cores; slices keep
 * the node's own latency bounded (SLICE_MS) without a second isolate. The slice size is the knob.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { MineJob, Miner } from './ports.ts';

/** Longest stretch of grinding before the event loop gets a turn. */
const SLICE_MS = 20;
const NONCE_BYTES = 8;

/** The target as 32 big-endian bytes: a digest meets it when it compares at most equal. */
function targetBytes(target: bigint): Buffer {
  return Buffer.from(target.toString(16).padStart(64, '0'), 'hex');
}

export class GrindingMiner implements Miner {
  #job = 0;
  /** Hashes tried since start (for metrics and the benchmark's hash-rate figure). */
  hashes = 0;

  mine(job: MineJob, solved: (header: Uint8Array) => void): void {
    const id = ++this.#job;
    const header = Buffer.from(job.header);
    const at = header.length - NONCE_BYTES;
    const target = targetBytes(job.target);
    // A random start, so a restarted job does not retry the nonces it already tried.
    let nonce = randomBytes(8).readBigUInt64BE();
    const slice = (): void => {
      if (id !== this.#job) return;
      const until = performance.now() + SLICE_MS;
      do {
        for (let i = 0; i < 256; i++) {
          header.writeBigUInt64BE(nonce, at);
          nonce = (nonce + 1n) & 0xffffffffffffffffn;
          this.hashes++;
          if (createHash('sha256').update(header).digest().compare(target) <= 0) {
            this.#job++;
            solved(new Uint8Array(header));
            return;
          }
        }
      } while (performance.now() < until);
      setImmediate(slice);
    };
    setImmediate(slice);
  }

  cancel(): void {
    this.#job++;
  }
}
