/**
 * A vitest globalSetup (vitest.config.ts and vitest.e2e.config.ts): notes the `verity-*` entries of
 * the system temp directory before the run and, at teardown, lists on stderr those the run created
 * and left behind (the logic: ./tmp-guard.ts). It only reports, unless VERITY_STRICT_TMP=1, which
 * makes such leftovers fail the run (exit code 1).
 *
 * It compares names, not owners: a benchmark or another test run making `verity-*` entries at the
 * same time is reported as well. That is why it reports rather than fails by default — a strict
 * run (VERITY_STRICT_TMP=1) is for a machine where nothing else makes them meanwhile.
 */
import { tmpdir } from 'node:os';
import { leakedEntries, leakReport, prefixedEntries, STRICT_ENV } from './tmp-guard.ts';

export default function setup(): () => void {
  const dir = tmpdir();
  const before = prefixedEntries(dir);
  return () => {
    const leaks = leakedEntries(before, prefixedEntries(dir));
    if (leaks.length === 0) return;
    const strict = process.env[STRICT_ENV] === '1';
    process.stderr.write(leakReport(dir, leaks, strict));
    if (strict) process.exitCode = 1;
  };
}
