/** Startup progress of `verity testnet up` / `npm start` (cli/commands/progress.ts). */
import { describe, expect, it } from 'vitest';
import { heightsProgress } from '../../cli/commands/progress.ts';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (t: string) => writes.push(t) };
}

describe('testnet startup progress', () => {
  it('piped: a plain line only when the heights change', () => {
    const s = stream(false);
    const p = heightsProgress(s, false);
    for (const h of [
      [-1, -1],
      [-1, -1],
      [0, -1],
      [0, -1],
      [0, 0],
      [1, 1],
    ])
      p.tick(h);
    p.done();
    expect(s.writes).toEqual([
      '  heights: … …\n',
      '  heights: 0 …\n',
      '  heights: 0 0\n',
      '  heights: 1 1\n',
    ]);
  });

  it('on a terminal: one line rewritten in place, ended when done', () => {
    const s = stream(true);
    const p = heightsProgress(s, false);
    for (const h of [[-1], [-1], [0], [1]]) p.tick(h);
    p.done();
    expect(s.writes).toEqual([
      '\r\x1b[2K  heights: …',
      '\r\x1b[2K  heights: 0',
      '\r\x1b[2K  heights: 1',
      '\n',
    ]);
  });

  it('with --json: nothing (stdout carries the result; stderr stays quiet)', () => {
    const s = stream(true);
    const p = heightsProgress(s, true);
    p.tick([1]);
    p.done();
    expect(s.writes).toEqual([]);
  });
});
