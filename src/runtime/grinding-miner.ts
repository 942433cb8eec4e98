/**
 * The node's Proof-of-Work miner: grinds nonces on a worker thread (miner-worker.ts), so the
 * node's event loop — blocks, votes, RPC — never waits on a hash; one job at a time, and a new job
 * or `cancel` reaches the worker within one batch. `inline` grinds on the event loop in 20 ms
 * slices instead — the alternative measured beside it (test/bench/miner.bench.ts: the event
 * loop's delay at p50 1 ms with the worker against 22 ms inline, for a hash rate 6–16% lower).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { MineJob, Miner } from './ports.ts';

/** Longest stretch of inline grinding before the event loop gets a turn. */
const SLICE_MS = 20;
const NONCE_BYTES = 8;

/** The target as 32 big-endian bytes: a digest meets it when it compares at most equal. */
function targetBytes(target: bigint): Buffer {
  return Buffer.from(target.toString(16).padStart(64, '0'), 'hex');
}

export class GrindingMiner implements Miner {
  #job = 0;
  #worker: Worker | undefined;
  #solved: ((header: Uint8Array) => void) | undefined;
  /** Hashes tried (inline mode counts each; the worker reports them with a solution). */
  hashes = 0;

  readonly #inlineOnly: boolean;
  #closed = false;

  constructor(opts: { inline?: boolean } = {}) {
    this.#inlineOnly = opts.inline === true;
  }

  mine(job: MineJob, solved: (header: Uint8Array) => void): void {
    const id = ++this.#job;
    if (this.#inlineOnly) {
      this.#inline(id, job, solved);
      return;
    }
    this.#solved = solved;
    // A copy of its own: the header may be a view into a shared slab (crypto/bytes.ts), which a
    // structured clone would copy whole.
    this.#spawn()?.postMessage({ id, header: job.header.slice(), target: targetBytes(job.target) });
  }

  /** The worker, started on the first job (an engine that never mines never starts one). */
  #spawn(): Worker | undefined {
    if (this.#worker !== undefined || this.#closed) return this.#worker;
    const worker = new Worker(new URL('./miner-worker.ts', import.meta.url));
    worker.on('message', (m: { id: number; header: Uint8Array; hashes: number }) => {
      this.hashes += m.hashes;
      if (m.id !== this.#job) return;
      this.#job++;
      this.#solved?.(m.header);
    });
    // A mining worker never keeps the process alive: the node decides when to exit. (After the
    // listener: attaching a 'message' listener refs the worker again.)
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  cancel(): void {
    this.#job++;
    this.#worker?.postMessage({ id: 0 });
  }

  /** Stops the worker for good (the runtime stopped: nothing is mined again). */
  async close(): Promise<void> {
    this.cancel();
    const worker = this.#worker;
    this.#closed = true;
    await worker?.terminate();
  }

  #inline(id: number, job: MineJob, solved: (header: Uint8Array) => void): void {
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
}
