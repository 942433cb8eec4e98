/**
 * The /status ring buffer behind GET /status/history (src/rpc/status-history.ts): bounded to a
 * window's worth of samples, oldest first, the oldest evicted first. The same contract check runs
 * against three broken buffers (never evicts, drops new samples when full, newest first), which it must
 * catch. The sampler is driven by hand-fired timers; the route answers through a real RpcServer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcClient, RpcClientError } from '../../src/rpc/client.ts';
import { type NodeApi, RpcServer } from '../../src/rpc/server.ts';
import {
  STATUS_HISTORY_WINDOW_MS,
  STATUS_SAMPLE_INTERVAL_MS,
  StatusHistory,
  type StatusSample,
  sampleStatus,
} from '../../src/rpc/status-history.ts';
import { silentLogger, type Timers } from '../../src/runtime/ports.ts';

const sample = (i: number): StatusSample => ({
  time: 1_700_000_000_000 + i * 1000,
  height: i,
  round: i % 3,
  viewChanges: Math.floor(i / 4),
  peers: 3,
  mempool: { size: i, bytes: 100 * i },
});

interface Ring {
  readonly capacity: number;
  readonly size: number;
  record(s: StatusSample): void;
  samples(): StatusSample[];
}

/**
 * What a ring of `capacity` must hold after each of 0 … 2·capacity + 1 records: the last
 * min(n, capacity) samples, oldest first. Returns the violations (none for a correct ring).
 */
function violations(make: () => Ring): string[] {
  const found: string[] = [];
  const ring = make();
  const cap = ring.capacity;
  for (let n = 0; n <= 2 * cap + 1; n++) {
    if (n > 0) ring.record(sample(n));
    const want = Array.from({ length: Math.min(n, cap) }, (_, i) => n - Math.min(n, cap) + 1 + i);
    const got = ring.samples().map((s) => s.height);
    if (ring.size !== want.length) found.push(`after ${n}: size ${ring.size}, want ${want.length}`);
    if (got.join() !== want.join()) found.push(`after ${n}: [${got}], want [${want}]`);
  }
  return found;
}

/** Broken on purpose: the negative controls the contract check must reject. */
class Unbounded implements Ring {
  readonly capacity = 4;
  readonly #all: StatusSample[] = [];
  get size() {
    return this.#all.length;
  }
  record(s: StatusSample) {
    this.#all.push(s);
  }
  samples() {
    return [...this.#all];
  }
}
class KeepsOldest extends Unbounded {
  override record(s: StatusSample) {
    if (this.size < this.capacity) super.record(s);
  }
}
class NewestFirst extends StatusHistory {
  override samples() {
    return super.samples().reverse();
  }
}

describe('StatusHistory (ring buffer)', () => {
  it('holds a window of samples, oldest first, evicting the oldest (capacities 1, 2, 5, 7)', () => {
    for (const [intervalMs, windowMs, capacity] of [
      [1000, 1000, 1],
      [1000, 2000, 2],
      [1000, 5000, 5],
      [1000, 6500, 7],
    ] as const) {
      const make = () => new StatusHistory({ intervalMs, windowMs });
      expect(make().capacity).toBe(capacity);
      expect(violations(make)).toEqual([]);
    }
  });

  it('negative control: the check catches a ring that never evicts, drops new samples when full, or is newest first', () => {
    expect(violations(() => new Unbounded()).length).toBeGreaterThan(0);
    expect(violations(() => new KeepsOldest()).length).toBeGreaterThan(0);
    expect(violations(() => new NewestFirst({ intervalMs: 1000, windowMs: 3000 })).length).toBeGreaterThan(0);
  });

  it("the node's ring: 10 minutes every 5 s is 120 samples, and stays 120 under a day of samples", () => {
    const ring = new StatusHistory({
      intervalMs: STATUS_SAMPLE_INTERVAL_MS,
      windowMs: STATUS_HISTORY_WINDOW_MS,
    });
    expect(ring.capacity).toBe(120);
    for (let i = 1; i <= 17_280; i++) ring.record(sample(i));
    const held = ring.samples();
    expect(held).toHaveLength(120);
    expect(held[0]?.height).toBe(17_161);
    expect(held.at(-1)).toEqual(sample(17_280));
    // A copy: the caller cannot reach into the ring.
    held.length = 0;
    expect(ring.samples()).toHaveLength(120);
  });

  it('refuses an interval or window that is not a positive integer, or a window shorter than the interval', () => {
    expect(() => new StatusHistory({ intervalMs: 0, windowMs: 1000 })).toThrow(RangeError);
    expect(() => new StatusHistory({ intervalMs: 1.5, windowMs: 1000 })).toThrow(RangeError);
    expect(() => new StatusHistory({ intervalMs: 1000, windowMs: 999 })).toThrow(RangeError);
    expect(() => new StatusHistory({ intervalMs: 1000, windowMs: Number.NaN })).toThrow(RangeError);
  });
});

/** Timers fired by hand: `fire(id)` runs the armed callback once. */
class HandTimers implements Timers {
  readonly armed = new Map<string, { ms: number; cb: () => void }>();
  set(id: string, ms: number, cb: () => void) {
    this.armed.set(id, { ms, cb });
  }
  cancel(id: string) {
    this.armed.delete(id);
  }
  cancelAll() {
    this.armed.clear();
  }
  fire(id: string) {
    const t = this.armed.get(id);
    this.armed.delete(id);
    t?.cb();
  }
}

describe('sampleStatus', () => {
  it('samples at once, then each time its timer fires (re-armed at the interval), until stopped', () => {
    const history = new StatusHistory({ intervalMs: 5000, windowMs: 15_000 });
    const timers = new HandTimers();
    let n = 0;
    const stop = sampleStatus({ history, timers, sample: () => sample(++n) });
    expect(history.samples().map((s) => s.height)).toEqual([1]);
    expect([...timers.armed].map(([id, t]) => [id, t.ms])).toEqual([['status-history', 5000]]);
    for (let i = 0; i < 4; i++) timers.fire('status-history');
    expect(history.samples().map((s) => s.height)).toEqual([3, 4, 5]);
    const late = timers.armed.get('status-history')?.cb;
    stop();
    expect(timers.armed.size).toBe(0);
    // A callback already on its way when stopped records nothing and re-arms nothing.
    late?.();
    expect(history.samples().map((s) => s.height)).toEqual([3, 4, 5]);
    expect(timers.armed.size).toBe(0);
  });
});

describe('GET /status/history', () => {
  let server: RpcServer;
  let client: RpcClient;
  const history = new StatusHistory({ intervalMs: 5000, windowMs: 10_000 });

  beforeAll(async () => {
    const api = { statusHistory: () => ({ now: 1_700_000_009_999, history }) } as unknown as NodeApi;
    server = new RpcServer(api, {
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1024,
      commitTimeoutMs: 1000,
      logger: silentLogger,
    });
    client = new RpcClient(`http://127.0.0.1:${(await server.listen()).port}`);
  });

  afterAll(async () => {
    await server.close();
  });

  it('answers {now, intervalMs, windowMs, samples} oldest first, [] before the first sample', async () => {
    expect(await client.get('/status/history')).toEqual({
      now: 1_700_000_009_999,
      intervalMs: 5000,
      windowMs: 10_000,
      samples: [],
    });
    for (let i = 1; i <= 3; i++) history.record(sample(i));
    expect(await client.get('/status/history')).toEqual({
      now: 1_700_000_009_999,
      intervalMs: 5000,
      windowMs: 10_000,
      samples: [sample(2), sample(3)],
    });
  });

  it('is GET only: POST is 405 METHOD_NOT_ALLOWED, like every read route', async () => {
    const e = await client.post('/status/history', {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcClientError);
    expect([(e as RpcClientError).status, (e as RpcClientError).code]).toEqual([405, 'METHOD_NOT_ALLOWED']);
  });
});
