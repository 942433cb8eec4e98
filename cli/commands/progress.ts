/**
 * Progress while a testnet starts: on a terminal one line rewritten in place; piped (a log, CI),
 * a plain line only when something changed — never the same line every second.
 */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export function heightsProgress(stream: ProgressStream, quiet: boolean) {
  let last = '';
  const live = stream.isTTY === true;
  return {
    /** Each node's height (-1: not answering yet). */
    tick(heights: readonly number[]): void {
      if (quiet) return;
      const text = `  heights: ${heights.map((x) => (x < 0 ? '…' : String(x))).join(' ')}`;
      if (text === last) return;
      last = text;
      stream.write(live ? `\r\x1b[2K${text}` : `${text}\n`);
    },
    /** Ends the line being rewritten, so that what follows starts on its own. */
    done(): void {
      if (live && last !== '') stream.write('\n');
      last = '';
    },
  };
}
