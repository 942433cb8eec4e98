// bench:node's per-thread CPU split (test/bench/thread-cpu.ts): Linux's /proc, grouped by the
// names Node gives its threads.
import { describe, expect, it } from 'vitest';
import { statTicks, threadCpuSeconds, threadGroup, threadShares } from '../bench/thread-cpu.ts';

describe('threadGroup', () => {
  it('groups the threads a validator runs by their names', () => {
    expect(threadGroup('MainThread')).toBe('main');
    expect(threadGroup('WorkerThread')).toBe('verify');
    expect(threadGroup('libuv-worker')).toBe('libuv');
    expect(threadGroup('V8Worker')).toBe('V8');
    expect(threadGroup('DelayedTaskSche')).toBe('V8');
    expect(threadGroup('SignalInspector')).toBe('other');
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
  });
});

describe('threadShares', () => {
  it('gives each group its share of what was spent between the readings, other included in the whole', () => {
    const before = new Map([
      ['main', 10],
      ['verify', 10],
      ['libuv', 1],
      ['V8', 1],
      ['other', 0],
    ] as const);
    const after = new Map([
      ['main', 14],
      ['verify', 13],
      ['libuv', 3],
      ['V8', 2],
      ['other', 0],
    ] as const);
    expect(threadShares(before, after)).toBe('40/30/20/10 %');
  });

  it('never counts a thread that ended between the readings as negative, and says nothing of no CPU', () => {
    const before = new Map([
      ['main', 5],
      ['verify', 9],
    ] as const);
    const after = new Map([
      ['main', 6],
      ['verify', 4],
    ] as const);
    expect(threadShares(before, after)).toBe('100/0/0/0 %');
    expect(threadShares(after, after)).toBe('');
  });
});

describe.runIf(process.platform === 'linux')('threadCpuSeconds (Linux)', () => {
  it("reads this process's own threads: its main thread has spent CPU", () => {
    let x = 0;
    for (let i = 0; i < 2e7; i++) x += i;
    const cpu = threadCpuSeconds([process.pid]);
    expect(x).toBeGreaterThan(0);
    expect(cpu?.get('main') ?? 0).toBeGreaterThan(0);
  });

  it('gives undefined for a process that is not there', () => {
    expect(threadCpuSeconds([2 ** 22 + 1])).toBeUndefined();
  });
});
