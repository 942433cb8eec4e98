/**
 * The temp-directory guard's logic (test/helpers/tmp-guard-setup.ts runs it around a vitest run):
 * which `verity-*` entries of the system temp directory a run created and left behind. Pure but
 * for the directory listing, so that test/unit/tmp-hygiene.test.ts can check it.
 */
import { readdirSync } from 'node:fs';

/** What the tests' temp directories and files are named: mkdtemp(join(tmpdir(), 'verity-…')). */
export const TMP_PREFIX = 'verity-';

/** Set to 1, a run that leaves `verity-*` entries behind fails (exit code 1); otherwise it only says so. */
export const STRICT_ENV = 'VERITY_STRICT_TMP';

/** The names in `dir` that start with `prefix` (none when `dir` cannot be read). */
export function prefixedEntries(dir: string, prefix: string = TMP_PREFIX): string[] {
  try {
    return readdirSync(dir).filter((name) => name.startsWith(prefix));
  } catch {
    return [];
  }
}

/**
 * The names in `after` (the temp directory's entries once the run is over) that start with
 * `prefix` and were not in `before` (its entries when the run started): what the run left
 * behind, sorted. An entry there before the run is never a leak, even if the run touched it.
 */
export function leakedEntries(
  before: Iterable<string>,
  after: Iterable<string>,
  prefix: string = TMP_PREFIX,
): string[] {
  const existed = new Set(before);
  return [...new Set(after)].filter((name) => name.startsWith(prefix) && !existed.has(name)).sort();
}

/** The message for leaks in `dir` (empty when there are none), one path a line. */
export function leakReport(dir: string, leaks: readonly string[], strict: boolean): string {
  if (leaks.length === 0) return '';
  const paths = leaks.map((name) => `  ${dir}/${name}`);
  return [
    '',
    `temp-directory guard: ${leaks.length} ${leaks.length === 1 ? 'entry' : 'entries'} named ${TMP_PREFIX}* appeared in ${dir} during this run and ${leaks.length === 1 ? 'is' : 'are'} still there:`,
    ...paths,
    'A test must remove what it creates there once it finishes (rm(dir, { recursive: true, force: true, maxRetries: 3 })',
    'in afterEach/afterAll or a finally, after stopping any process that uses it). An e2e suite that failed keeps its',
    'directory on purpose (its path is printed with the failure). Another process making verity-* entries at the',
    'same time (a benchmark, another test run) is listed too.',
    strict
      ? `${STRICT_ENV}=1: the run fails (exit code 1).`
      : `Not failing the run: set ${STRICT_ENV}=1 to make this an error.`,
    '',
  ].join('\n');
}
