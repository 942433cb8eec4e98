/**
 * The RPC abuse suite's short version (test/nemesis/rpc-abuse.ts; `npm run test:rpc-abuse` runs
 * longer): a real node under connection floods, slowloris, oversized and deeply nested bodies,
 * malformed numbers and a request flood, while a good client from another address keeps asking.
 * Then the negative control of the connection check: with no per-address share
 * (rpc.max_connections_per_ip = 0) the flood takes every slot and the good client must fail.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const SCRIPT = join(process.cwd(), 'test/nemesis/rpc-abuse.ts');

interface Report {
  attack: string;
  good: { asked: number; failed: number; p50Ms: number | null; p99Ms: number | null };
  answers: Record<string, number>;
  peakRssMiB: number;
  checks: string[];
}

async function abuse(args: string[]): Promise<{ reports: Report[]; code: number; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SCRIPT, '--json', ...args], {
      maxBuffer: 1 << 24,
    });
    return { reports: JSON.parse(stdout) as Report[], code: 0, stderr };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { reports: JSON.parse(err.stdout) as Report[], code: err.code, stderr: err.stderr };
  }
}

describe('rpc abuse', () => {
  it('every attack gets typed 4xx answers or closed connections; the good client is served; RSS bounded; no error line', async () => {
    const { reports, code, stderr } = await abuse(['--seconds', '6']);
    expect(reports.map((r) => r.attack)).toEqual([
      'none',
      'connections',
      'slowloris',
      'bodies',
      'nested',
      'numbers',
      'flood',
    ]);
    expect(
      reports.flatMap((r) => r.checks),
      stderr,
    ).toEqual([]);
    for (const r of reports) expect(r.good.asked, r.attack).toBeGreaterThan(20);
    // The bad requests were answered, not just dropped.
    for (const a of ['bodies', 'nested', 'numbers'])
      expect(
        Object.entries(reports.find((r) => r.attack === a)?.answers ?? {})
          .filter(([s]) => /^4\d\d$/.test(s))
          .reduce((n, [, k]) => n + k, 0),
        a,
      ).toBeGreaterThan(10);
    expect(code).toBe(0);
  });

  it('negative control: with no per-address share, the connection flood shuts the good client out and the check says so', async () => {
    const { reports, code } = await abuse([
      '--seconds',
      '4',
      '--attacks',
      'connections',
      '--set',
      'rpc.max_connections_per_ip=0',
    ]);
    const flood = reports.find((r) => r.attack === 'connections');
    expect(flood?.checks.join('\n')).toMatch(/the good client failed/);
    expect(code).toBe(1);
  });
});
