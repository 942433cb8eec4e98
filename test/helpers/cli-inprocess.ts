/**
 * Commands run in this process through the CLI framework (a spawned CLI costs seconds on a small
 * machine), with what they print captured, and a terminal that answers from a script — for the
 * commands that ask for confirmation (reset, snapshot restore).
 */
import { vi } from 'vitest';
import type { ResetIo } from '../../cli/commands/reset.ts';
import { type Command, runCli } from '../../cli/framework.ts';

export interface InProcessRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `argv` against `commands`, capturing stdout and stderr. */
export async function runInProcess(commands: readonly Command[], argv: string[]): Promise<InProcessRun> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await runCli(commands, argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

export const jsonOf = <T>(r: InProcessRun): T => JSON.parse(r.stdout) as T;

/** A terminal (or none) that answers `answers` in turn; `asked` records the questions. */
export function scriptedTerminal(io: { isTTY: boolean; answers?: string[] }): {
  io: ResetIo;
  asked: string[];
} {
  const asked: string[] = [];
  const answers = [...(io.answers ?? [])];
  return {
    io: {
      isTTY: io.isTTY,
      ask: async (q) => {
        asked.push(q);
        return answers.shift() ?? '';
      },
    },
    asked,
  };
}
