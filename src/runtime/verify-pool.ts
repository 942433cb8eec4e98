/**
 * Signature verification on worker threads (verify-worker.ts), off the event loop: a batch of
 * checks is split into chunks of about equal size — one per worker when that keeps them between
 * MIN_CHUNK and MAX_CHUNK checks, fewer for small batches, more for large ones — each chunk
 * crosses to its worker as one transferred buffer, and the answers come back as one byte each.
 * Every worker runs the main thread's own `ed25519.verify`, so the verdicts are the same bytes for
 * bytes — the pool changes where the work runs, not what is accepted.
 *
 * Chunks wait in the pool, not in a worker's message queue: each worker holds at most
 * IN_FLIGHT chunks of at most MAX_CHUNK checks, and the next one sent is the oldest urgent chunk
 * (a proposal's transactions, which consensus waits on) before any bulk one (client and gossip
 * intake). Posted to the workers at once, a block's checks waited behind every intake chunk
 * queued before them: 50–200 ms per block at 4,000 tx/s on the benchmark machine.
 *
 * A chunk is sent without the checks its caller says were found valid while it waited
 * (`SignatureCheck.knownValid`), answered true here: under load a block's urgent checks overtake
 * the gossip chunks holding the same transactions, which would otherwise check them again (13–29%
 * more checks than transactions at 8,000 tx/s offered, past the benchmark's capacity;
 * docs/THROUGHPUT.md).
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
  type VerifyPriority,
  verifyEach,
} from '../../crypto/signature-batch.ts';
import { Fifo } from './fifo.ts';

/** Fewer checks than this are not worth a second worker's message round trip. */
const MIN_CHUNK = 32;
/** At most this many checks per chunk: an urgent chunk waits for at most IN_FLIGHT of these. */
const MAX_CHUNK = 256;
/** Chunks a worker holds at once: the next is there when it finishes one (no idle round trip). */
const IN_FLIGHT = 2;

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
  readonly #waiting: Record<VerifyPriority, Fifo<Job>> = { urgent: new Fifo(), bulk: new Fifo() };
  readonly #onFailure: (error: Error) => void;
  readonly #workerUrl: URL;
  #nextId = 1;
  #closed = false;
  /**
   * Chunks sent to workers, checks they answered, checks answered on this thread instead, and
   * checks answered without checking (found valid meanwhile: `knownValid`).
   */
  readonly stats = { chunks: 0, checks: 0, inThread: 0, skipped: 0 };

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

  async verifyMany(checks: readonly SignatureCheck[], priority: VerifyPriority = 'bulk'): Promise<boolean[]> {
    const answers = new Array<boolean>(checks.length).fill(false);
    const at: number[] = [];
    for (const [i, c] of checks.entries()) if (packable(c)) at.push(i);
    if (at.length === 0) return answers;
    if (this.#lanes.length === 0) {
      this.stats.inThread += at.length;
      verifyEach(at.map((i) => checks[i] as SignatureCheck)).forEach((ok, j) => {
        answers[at[j] as number] = ok;
      });
      return answers;
    }
    // One chunk per worker if none is then under MIN_CHUNK; never one over MAX_CHUNK.
    const chunks = Math.max(
      Math.min(this.#lanes.length, Math.ceil(at.length / MIN_CHUNK)),
      Math.ceil(at.length / MAX_CHUNK),
    );
    const size = Math.ceil(at.length / chunks);
    await Promise.all(
      Array.from({ length: chunks }, async (_, k) => {
        const slice = at.slice(k * size, (k + 1) * size);
        const got = await this.#submit(
          slice.map((i) => checks[i] as SignatureCheck),
          priority,
        );
        got.forEach((ok, j) => {
          answers[slice[j] as number] = ok;
        });
      }),
    );
    return answers;
  }

  /** Stops every worker; checks still waiting, here or on one, are answered on this thread. */
  async close(): Promise<void> {
    this.#closed = true;
    const lanes = this.#lanes.splice(0);
    for (const lane of lanes) this.#drainInThread(lane);
    this.#drainWaitingInThread();
    await Promise.all(lanes.map((l) => l.worker.terminate()));
  }

  #submit(checks: readonly SignatureCheck[], priority: VerifyPriority): Promise<boolean[]> {
    const { promise, resolve, reject } = Promise.withResolvers<boolean[]>();
    this.#waiting[priority].push({ checks, resolve, reject });
    this.#dispatch();
    return promise;
  }

  /** Sends waiting chunks, urgent first, to workers holding fewer than IN_FLIGHT. */
  #dispatch(): void {
    for (;;) {
      let lane: Lane | undefined;
      for (const l of this.#lanes)
        if (l.jobs.size < IN_FLIGHT && (lane === undefined || l.load < lane.load)) lane = l;
      if (lane === undefined) return;
      const waiting = this.#waiting.urgent.shift() ?? this.#waiting.bulk.shift();
      if (waiting === undefined) return;
      const job = this.#withoutKnownValid(waiting);
      if (job === undefined) continue;
      const id = this.#nextId++;
      const packed = packChecks(job.checks);
      lane.jobs.set(id, job);
      if (lane.jobs.size === 1) lane.worker.ref(); // owed an answer: keeps the process alive
      lane.load += job.checks.length;
      this.stats.chunks++;
      lane.worker.postMessage({ id, packed }, [packed.buffer as ArrayBuffer]);
    }
  }

  /**
   * The job as sent: without the checks found valid while it waited, which are answered true with
   * the others' answers; undefined when none is left to send (the job is then answered).
   */
  #withoutKnownValid(job: Job): Job | undefined {
    const keep: number[] = [];
    job.checks.forEach((c, i) => {
      if (c.knownValid?.() !== true) keep.push(i);
    });
    if (keep.length === job.checks.length) return job;
    this.stats.skipped += job.checks.length - keep.length;
    if (keep.length === 0) {
      job.resolve(new Array<boolean>(job.checks.length).fill(true));
      return undefined;
    }
    return {
      checks: keep.map((i) => job.checks[i] as SignatureCheck),
      resolve: (answers) => {
        const all = new Array<boolean>(job.checks.length).fill(true);
        keep.forEach((i, j) => {
          all[i] = answers[j] as boolean;
        });
        job.resolve(all);
      },
      reject: job.reject,
    };
  }

  #spawn(): Lane {
    const worker = new Worker(this.#workerUrl);
    const lane: Lane = { worker, jobs: new Map(), load: 0 };
    worker.on('message', (m: { id: number; answers: Uint8Array }) => {
      const job = lane.jobs.get(m.id);
      if (job === undefined) return;
      lane.jobs.delete(m.id);
      if (lane.jobs.size === 0) lane.worker.unref();
      lane.load -= job.checks.length;
      this.stats.checks += job.checks.length;
      job.resolve(Array.from(m.answers, (a) => a === 1));
      // Sent on setImmediate, once the caller whose batch this answer completed has cached what
      // verified (microtasks): the next chunk may hold the same transactions (`knownValid`). The
      // worker meanwhile works on its other chunk, if it holds one (IN_FLIGHT).
      setImmediate(() => this.#dispatch());
    });
    worker.on('error', (e) => this.#fail(lane, e));
    worker.on('exit', (code) => {
      if (!this.#closed) this.#fail(lane, new Error(`signature verification worker exited (code ${code})`));
    });
    // An idle worker never keeps the process alive, and one that owes answers does (#dispatch):
    // a caller awaiting them with nothing else to wait on would otherwise see the process exit
    // (unref after the listeners: attaching one refs again).
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
    // The others take what waits; with none left, it is answered here.
    if (this.#lanes.length === 0) this.#drainWaitingInThread();
    else this.#dispatch();
  }

  /** Answers a lane's waiting checks here, exactly as its worker would have. */
  #drainInThread(lane: Lane): void {
    for (const job of lane.jobs.values()) this.#answerInThread(job);
    lane.jobs.clear();
    lane.worker.unref(); // owes nothing now, even before terminate() ends it
    lane.load = 0;
  }

  #drainWaitingInThread(): void {
    for (const queue of [this.#waiting.urgent, this.#waiting.bulk])
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) this.#answerInThread(job);
  }

  #answerInThread(job: Job): void {
    this.stats.inThread += job.checks.length;
    try {
      job.resolve(verifyEach(job.checks));
    } catch (e) {
      job.reject(e);
    }
  }
}
