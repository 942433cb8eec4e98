/**
 * The node's miner (src/runtime/grinding-miner.ts), on its worker thread and inline: a solution
 * meets its target and changes only the nonce (the header's last 8 bytes); a cancelled or
 * replaced job never reports.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GrindingMiner } from '../../src/runtime/grinding-miner.ts';

const EASY = (1n << 256n) / 64n; // 64 hashes expected
const NEVER = 0n; // no SHA-256 is zero

const meets = (header: Uint8Array, target: bigint) =>
  BigInt(`0x${createHash('sha256').update(header).digest('hex')}`) <= target;

for (const inline of [false, true]) {
  describe(`GrindingMiner (${inline ? 'inline slices' : 'worker thread'})`, () => {
    const miner = new GrindingMiner({ inline });
    afterAll(() => miner.close());

    it('finds a nonce that meets the target, changing only the last 8 bytes', async () => {
      const header = new Uint8Array(200).map((_, i) => i);
      const solved = await new Promise<Uint8Array>((res) => miner.mine({ header, target: EASY }, res));
      expect(meets(solved, EASY)).toBe(true);
      expect(solved.length).toBe(header.length);
      expect(solved.subarray(0, 192)).toEqual(header.subarray(0, 192));
      // Negative control: the header as given does not meet a far harder target.
      expect(meets(header, EASY / 2n ** 40n)).toBe(false);
    });

    it('a cancelled job never reports, and the next job is served', async () => {
      let late = 0;
      miner.mine({ header: new Uint8Array(100), target: NEVER }, () => late++);
      miner.cancel();
      const solved = await new Promise<Uint8Array>((res) =>
        miner.mine({ header: new Uint8Array(100).fill(1), target: EASY }, res),
      );
      expect(meets(solved, EASY)).toBe(true);
      // A job replaced by another never reports either.
      miner.mine({ header: new Uint8Array(100).fill(2), target: NEVER }, () => late++);
      await new Promise<Uint8Array>((res) =>
        miner.mine({ header: new Uint8Array(100).fill(3), target: EASY }, res),
      );
      await new Promise((r) => setTimeout(r, 100));
      expect(late).toBe(0);
      miner.cancel();
    });
  });
}

describe('GrindingMiner and process exit', () => {
  it('a miner whose worker was never closed does not keep the process alive (a node must exit on SIGTERM)', () => {
    const script = join(tmpdir(), `verity-miner-exit-${process.pid}.ts`);
    const module = new URL('../../src/runtime/grinding-miner.ts', import.meta.url).pathname;
    writeFileSync(
      script,
      `import { GrindingMiner } from ${JSON.stringify(module)};
const m = new GrindingMiner();
m.mine({ header: new Uint8Array(100), target: 0n }, () => {});
setTimeout(() => m.cancel(), 200);
`,
    );
    const r = spawnSync(process.execPath, [script], { timeout: 15_000 });
    rmSync(script, { force: true, maxRetries: 3 }); // spawnSync reports a failed child, it does not throw
    // Killed by the timeout (signal set), it would have hung like the e2e nodes once did.
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
  }, 30_000);
});
