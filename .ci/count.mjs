// Sums vitest JSON reports into the one line CI reads: "N passed, N failed".
// Every expected report that is missing (install, typecheck or lint failed before vitest ran)
// counts as one failure. Plain JS on purpose: it must run on whatever Node is first on PATH.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.error(`missing test report ${file}: the step that writes it did not run to completion`);
    failed += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  // A file that failed without a failing test — it did not load, or a beforeAll/afterAll hook
  // threw and its tests were skipped — is still a failure: count it once.
  for (const suite of report.testResults ?? []) {
    const tests = suite.assertionResults ?? [];
    if (suite.status === 'failed' && !tests.some((t) => t.status === 'failed')) {
      console.error(`test file failed outside its tests: ${suite.name}`);
      failed += 1;
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
