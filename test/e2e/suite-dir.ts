/**
 * The end of an e2e suite's temp directory (made with tmpDir, ./helpers.ts): removed when the suite
 * passed, kept with its path printed when anything in it failed — the nodes' homes and logs are
 * what one debugs with. Apart from helpers.ts because it registers a vitest hook, and helpers.ts is
 * also loaded by scripts that run outside vitest (test/nemesis, test/bench).
 */
import { rm } from 'node:fs/promises';
import { afterAll, type RunnerTask, type RunnerTestFile, type RunnerTestSuite } from 'vitest';

/** Whether `task` or anything in it failed (a test, or a beforeAll/afterAll hook of a suite). */
function anyFailed(task: Readonly<RunnerTask>): boolean {
  if (task.result?.state === 'fail') return true;
  return 'tasks' in task && task.tasks.some(anyFailed);
}

/**
 * After `stop` (whatever still uses the directory: the suite's nodes): removes `dir` if everything
 * in `suite` passed; otherwise keeps it and prints its path. `dir` undefined (a beforeAll that
 * failed before making it) is nothing to do.
 */
export async function keepIfFailed(
  dir: string | undefined,
  suite: Readonly<RunnerTestSuite | RunnerTestFile>,
): Promise<void> {
  if (dir === undefined) return;
  if (anyFailed(suite)) {
    console.error(`e2e: "${suite.name}" failed; its directory is kept for debugging: ${dir}`);
    return;
  }
  // Reported, not thrown: a passing suite does not fail on its cleanup (the run's temp-directory
  // guard, test/helpers/tmp-guard-setup.ts, lists whatever is left).
  await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch((e: Error) =>
    console.error(`e2e: could not remove ${dir}: ${e.message}`),
  );
}

/**
 * The suite's afterAll: `stop`, then keepIfFailed(dir(), suite). A `stop` that throws fails the
 * hook and keeps the directory (something may still be using it).
 */
export function afterSuite(dir: () => string | undefined, stop: () => unknown): void {
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a hook's first parameter as its fixtures and requires a destructuring pattern; the suite is the second
  afterAll(async ({}, suite) => {
    try {
      await stop();
    } catch (e) {
      const d = dir();
      if (d !== undefined) console.error(`e2e: stopping "${suite.name}" failed; its directory is kept: ${d}`);
      throw e;
    }
    await keepIfFailed(dir(), suite);
  });
}
