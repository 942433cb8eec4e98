/**
 * Signature verification on worker threads (verify-worker.ts), off the event loop: a batch of
 * checks is split into at most one chunk per worker (none smaller than MIN_CHUNK), each chunk
 * crosses to its worker as one transferred buffer, and the answers come back as one byte each.
 * Every worker runs the main thread's own `ed25519.verify`, so the verdicts are the same bytes for
 * bytes — the pool changes where the work runs, not what is accepted.
 *
 * A worker that throws or exits is a bug, not an input: `onFailure` reports it, the worker's
 * unanswered checks are verified on the main thread, and so is everything the pool is given once
 * no worker is left. A node therefore never stalls or changes its answers on a worker's death.
 */
import { Worker } from 'node:worker_threads';
import {
  type BatchVerifier,
  packable,
  packChecks,
  type SignatureCheck,
  verifyEach,
} from '../../crypto/signature-batch.ts';

/** Fewer checks than this are not worth a second worker's message round trip. */
const MIN_CHUNK = 32;

interface Job {
  readonly checks: readonly SignatureCheck[];
  resolve(answers: boolean[]): void;
  reject(error: unknown): void;
}

interface Lane {
  readonly worker: Worker;
  readonly jobs: Map<number, Job>;
  /** Checks sent and not yet answered: a new chunk goes to the least loaded lane. */
  load: number;
}

export interface VerifyPoolOptions {
  /** Worker threads to start (at least 1). */
  readonly threads: number;
  /** A worker failed (threw or exited): said once per worker. */
  readonly onFailure?: (error: Error) => void;
  /** The worker's script (tests start a broken one); default verify-worker.ts. */
  readonly workerUrl?: URL;
}

export class VerifyPool implements BatchVerifier {
  readonly #lanes: Lane[] = [];
  readonly #onFailure: (error: Error) => void;
  readonly #workerUrl: URL;
  #nextId = 1;
  #closed = false;
  /** Chunks sent to workers, checks they answered, and checks answered on this thread instead. */
  readonly stats = { chunks: 0, checks: 0, inThread: 0 };

  constructor(opts: VerifyPoolOptions) {
    if (!Number.isSafeInteger(opts.threads) || opts.threads < 1)
      throw new RangeError(`VerifyPool: threads must be a positive integer, got ${opts.threads}`);
    this.#onFailure = opts.onFailure ?? (() => undefined);
    this.#workerUrl = opts.workerUrl ?? new URL('./verify-worker.ts', import.meta.url);
    for (let i = 0; i < opts.threads; i++) this.#lanes.push(this.#spawn());
  }

  /** Workers alive (fewer than asked for after a failure; 0 after `close`). */
  get threads(): number {
    return this.#lanes.length;
  }

  async verifyMany(checks: readonly SignatureCheck[]): Promise<boolean[]> {
    const answers = new Array<boolean>(checks.length).fill(false);
    const at: number[] = [];
    for (const [i, c] of checks.entries()) if (packable(c)) at.push(i);
    const chunks = Math.min(this.#lanes.length, Math.ceil(at.length / MIN_CHUNK));
    if (chunks === 0) {
      this.stats.inThread += at.length;
      verifyEach(at.map((i) => checks[i] as SignatureCheck)).forEach((ok, j) => {
        answers[at[j] as number] = ok;
      });
      return answers;
    }
    const size = Math.ceil(at.length / chunks);
    await Promise.all(
      Array.from({ length: chunks }, async (_, k) => {
        const slice = at.slice(k * size, (k + 1) * size);
        const got = await this.#send(slice.map((i) => checks[i] as SignatureCheck));
        got.forEach((ok, j) => {
          answers[slice[j] as number] = ok;
        });
      }),
    );
    return answers;
  }

  /** Stops every worker; checks still waiting on one are answered on this thread. */
  async close(): Promise<void> {
    this.#closed = true;
    const lanes = this.#lanes.splice(0);
    for (const lane of lanes) this.#drainInThread(lane);
    await Promise.all(lanes.map((l) => l.worker.terminate()));
  }

  #send(checks: readonly SignatureCheck[]): Promise<boolean[]> {
    let lane = this.#lanes[0] as Lane;
    for (const l of this.#lanes) if (l.load < lane.load) lane = l;
    const id = this.#nextId++;
    const packed = packChecks(checks);
    const { promise, resolve, reject } = Promise.withResolvers<boolean[]>();
    lane.jobs.set(id, { checks, resolve, reject });
    lane.load += checks.length;
    this.stats.chunks++;
    lane.worker.postMessage({ id, packed }, [packed.buffer as ArrayBuffer]);
    return promise;
  }

  #spawn(): Lane {
    const worker = new Worker(this.#workerUrl);
    const lane: Lane = { worker, jobs: new Map(), load: 0 };
    worker.on('message', (m: { id: number; answers: Uint8Array }) => {
      const job = lane.jobs.get(m.id);
      if (job === undefined) return;
      lane.jobs.delete(m.id);
      lane.load -= job.checks.length;
      this.stats.checks += job.checks.length;
      job.resolve(Array.from(m.answers, (a) => a === 1));
    });
    worker.on('error', (e) => this.#fail(lane, e));
    worker.on('exit', (code) => {
      if (!this.#closed) this.#fail(lane, new Error(`signature verification worker exited (code ${code})`));
    });
    // Idle workers never keep the process alive (after the listeners: attaching one refs again).
    worker.unref();
    return lane;
  }

  #fail(lane: Lane, error: Error): void {
    const i = this.#lanes.indexOf(lane);
    if (i < 0) return; // already reported (an 'error' is followed by an 'exit')
    this.#lanes.splice(i, 1);
    this.#onFailure(error);
    this.#drainInThread(lane);
    void lane.worker.terminate();
  }

  /** Answers a lane's waiting checks here, exactly as its worker would have. */
  #drainInThread(lane: Lane): void {
    for (const job of lane.jobs.values()) {
      this.stats.inThread += job.checks.length;
      try {
        job.resolve(verifyEach(job.checks));
      } catch (e) {
        job.reject(e);
      }
    }
    lane.jobs.clear();
    lane.load = 0;
  }
}
