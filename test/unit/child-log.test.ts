/**
 * A child's stdout and stderr in one log file (src/node/child-log.ts): what a process writes to
 * stderr after closing its stdout — a crashing node's reason — must reach the file.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendOutputTo } from '../../src/node/child-log.ts';

// Writes a line to stdout, closes stdout, then writes its reason to stderr and exits 1.
const CRASH = `
process.stdout.write('started\\n', () => {
  require('node:fs').closeSync(1);
  setTimeout(() => { process.stderr.write('fatal: the reason\\n'); process.exit(1); }, 100);
});`;

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const crashingChild = () => spawn(process.execPath, ['-e', CRASH], { stdio: ['ignore', 'pipe', 'pipe'] });
const closed = (c: ReturnType<typeof crashingChild>) => new Promise((r) => c.once('close', r));

describe('a child process logging to one file', () => {
  it('keeps what comes on stderr after stdout closed, and ends the file once the child is gone', async () => {
    dir = await mkdtemp(join(tmpdir(), 'verity-child-log-'));
    const file = join(dir, 'node.log');
    const child = crashingChild();
    const out = appendOutputTo(child, file);
    const errors: unknown[] = [];
    out.on('error', (e) => errors.push(e));
    await new Promise<void>((r) => out.once('finish', () => r()));
    expect(child.exitCode).toBe(1);
    expect(await readFile(file, 'utf8')).toBe('started\nfatal: the reason\n');
    expect(errors).toEqual([]);
  });

  it('negative control: piping both streams with the default end loses the reason', async () => {
    dir = await mkdtemp(join(tmpdir(), 'verity-child-log-'));
    const file = join(dir, 'node.log');
    const child = crashingChild();
    const out = createWriteStream(file, { flags: 'a' });
    // (Written in the instant between the end and the file's finish, it is a 'write after end'
    // error instead: an e2e run saw that one.)
    out.on('error', () => {});
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    await closed(child);
    await new Promise((r) => setTimeout(r, 50));
    expect(await readFile(file, 'utf8')).toBe('started\n');
  });
});
