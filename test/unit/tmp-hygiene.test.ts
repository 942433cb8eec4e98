// The temp-directory guard (test/helpers/tmp-guard.ts, run around every vitest run by
// test/helpers/tmp-guard-setup.ts): what a run left behind is what appeared under the prefix and
// is still there — never what was there before it, nor what is not ours.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { leakedEntries, leakReport, prefixedEntries, STRICT_ENV, TMP_PREFIX } from '../helpers/tmp-guard.ts';

describe('leakedEntries', () => {
  it('names the verity-* entries that appeared during the run, sorted', () => {
    const before = ['verity-old-1', 'systemd-private-x', 'verity-old-2'];
    const after = ['verity-old-1', 'verity-new-b', 'systemd-private-x', 'verity-new-a', 'verity-old-2'];
    expect(leakedEntries(before, after)).toEqual(['verity-new-a', 'verity-new-b']);
  });

  it('negative control: the same entries before and after, or fewer after, are no leak', () => {
    const before = ['verity-a', 'verity-b', 'other'];
    expect(leakedEntries(before, before)).toEqual([]);
    expect(leakedEntries(before, ['verity-a'])).toEqual([]); // removed: fine
    expect(leakedEntries([], [])).toEqual([]);
  });

  it('ignores new entries without the prefix, and counts a name once', () => {
    expect(leakedEntries([], ['pos-evidence-x', 'playwright_chromiumdev_profile-y', 'veritas-z'])).toEqual(
      [],
    );
    expect(leakedEntries([], ['verity-x', 'verity-x'])).toEqual(['verity-x']);
    expect(leakedEntries([], ['verity-x', 'other-y'], 'other-')).toEqual(['other-y']);
  });
});

describe('leakReport', () => {
  it('is empty without leaks, and otherwise lists every path and says whether the run fails', () => {
    expect(leakReport('/tmp', [], true)).toBe('');
    const soft = leakReport('/tmp', ['verity-a-1', 'verity-b-2'], false);
    expect(soft).toContain('2 entries named verity-* appeared in /tmp');
    expect(soft).toContain('\n  /tmp/verity-a-1\n  /tmp/verity-b-2\n');
    expect(soft).toContain(`set ${STRICT_ENV}=1 to make this an error`);
    expect(leakReport('/tmp', ['verity-a-1'], true)).toContain(
      `${STRICT_ENV}=1: the run fails (exit code 1)`,
    );
  });
});

describe('the guard on a real directory', () => {
  it('sees an entry made after the snapshot, and no longer once it is removed', async () => {
    const dir = await mkdtemp(join(tmpdir(), `${TMP_PREFIX}tmp-hygiene-`));
    onTestFinished(() => rm(dir, { recursive: true, force: true, maxRetries: 3 }));
    await mkdir(join(dir, `${TMP_PREFIX}before`));
    await writeFile(join(dir, 'unrelated'), '');
    const before = prefixedEntries(dir);
    expect(before).toEqual([`${TMP_PREFIX}before`]);

    await mkdir(join(dir, `${TMP_PREFIX}left-behind`));
    await writeFile(join(dir, `${TMP_PREFIX}file.ts`), '');
    await writeFile(join(dir, 'also-unrelated'), '');
    expect(leakedEntries(before, prefixedEntries(dir))).toEqual([
      `${TMP_PREFIX}file.ts`,
      `${TMP_PREFIX}left-behind`,
    ]);

    await rm(join(dir, `${TMP_PREFIX}left-behind`), { recursive: true });
    await rm(join(dir, `${TMP_PREFIX}file.ts`));
    expect(leakedEntries(before, prefixedEntries(dir))).toEqual([]);
    expect(prefixedEntries(join(dir, 'missing'))).toEqual([]);
  });
});
