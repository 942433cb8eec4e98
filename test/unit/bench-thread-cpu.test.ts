// bench:node's per-thread CPU split (test/bench/thread-cpu.ts): Linux's /proc, grouped by the
// names Node gives its threads, with deltas taken per thread.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  readThreads,
  statTicks,
  type ThreadReading,
  threadGroup,
  threadShares,
} from '../bench/thread-cpu.ts';

describe('threadGroup', () => {
  it('groups the threads beside the main one by the names Node gives them', () => {
    expect(threadGroup('WorkerThread')).toBe('workers');
    expect(threadGroup('libuv-worker')).toBe('libuv');
    expect(threadGroup('V8Worker')).toBe('V8');
    expect(threadGroup('DelayedTaskSche')).toBe('V8');
    expect(threadGroup('SignalInspector')).toBe('other');
    expect(threadGroup('node')).toBe('other');
  });
});

describe('statTicks', () => {
  it('adds utime and stime (fields 14 and 15), even when the name holds spaces and parentheses', () => {
    const fields = (comm: string) =>
      `4242 (${comm}) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 567 0 0 20 0 9 0 100 1000000 2000 18446744073709551615`;
    expect(statTicks(fields('MainThread'))).toBe(1234 + 567);
    expect(statTicks(fields('a (b) c'))).toBe(1234 + 567);
  });

  it('refuses a line that is not a stat line', () => {
    expect(() => statTicks('garbage')).toThrow(/not a \/proc stat line/);
    expect(() => statTicks('1 (x) S 1 2')).toThrow(/not a \/proc stat line/);
  });
});

function reading(entries: Array<[string, ThreadReading extends ReadonlyMap<string, infer V> ? V : never]>) {
  return new Map(entries) as ThreadReading;
}

describe('threadShares', () => {
  it("gives each group its share of what was spent between the readings, other threads' CPU in the whole", () => {
    const before = reading([
      ['1/1', { group: 'main', seconds: 10 }],
      ['1/2', { group: 'workers', seconds: 10 }],
      ['1/3', { group: 'libuv', seconds: 1 }],
      ['1/4', { group: 'V8', seconds: 1 }],
      ['1/5', { group: 'other', seconds: 0 }],
    ]);
    const after = reading([
      ['1/1', { group: 'main', seconds: 13 }],
      ['1/2', { group: 'workers', seconds: 13 }],
      ['1/3', { group: 'libuv', seconds: 2 }],
      ['1/4', { group: 'V8', seconds: 2 }],
      ['1/5', { group: 'other', seconds: 2 }],
    ]);
    expect(threadShares(before, after)).toBe('30/30/10/10 %');
  });

  it('counts a thread that started in full and one that ended not at all, never below zero', () => {
    const before = reading([
      ['1/1', { group: 'main', seconds: 5 }],
      ['1/9', { group: 'workers', seconds: 50 }], // ended before the second reading
    ]);
    const after = reading([
      ['1/1', { group: 'main', seconds: 6 }],
      ['1/7', { group: 'workers', seconds: 3 }], // started after the first
    ]);
    expect(threadShares(before, after)).toBe('25/75/0/0 %');
    expect(threadShares(after, after)).toBe('');
  });
});

describe.runIf(process.platform === 'linux')('readThreads (Linux)', () => {
  it("reads this process's threads: the main one as main, a busy worker thread as a worker", async () => {
    const busy = new Worker('const end = Date.now() + 2000; while (Date.now() < end) {}', { eval: true });
    await new Promise((r) => setTimeout(r, 400));
    const during = readThreads([process.pid]);
    await busy.terminate();
    expect(during?.get(`${process.pid}/${process.pid}`)?.group).toBe('main');
    const workers = [...(during?.values() ?? [])].filter((t) => t.group === 'workers');
    expect(workers.length).toBeGreaterThan(0);
    expect(Math.max(...workers.map((t) => t.seconds))).toBeGreaterThan(0.1);
  });

  it('gives undefined for a process that is not there', () => {
    expect(readThreads([2 ** 22 + 1])).toBeUndefined();
  });
});
