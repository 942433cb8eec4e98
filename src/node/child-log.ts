/**
 * A child process's stdout and stderr, appended to one log file (`verity testnet up`'s node.log).
 * The file is ended once the child has exited and both streams have closed. `pipe()` on its own
 * ends the destination as soon as its source ends: with two sources, stdout closing first ended
 * the file, and what came later on stderr — a crashing node's last words — was lost, with a
 * 'write after end' error besides.
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export function appendOutputTo(child: ChildProcess, file: string): WriteStream {
  const out = createWriteStream(file, { flags: 'a' });
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  child.once('close', () => out.end());
  return out;
}
