/** Structured logs (pino): JSON lines by default, human-readable with `pretty` for terminals. */
import { pino } from 'pino';
import pretty from 'pino-pretty';
import type { Logger } from '../runtime/ports.ts';

export interface PinoLoggerOptions {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly format: 'json' | 'pretty';
  readonly name?: string;
  /** Where JSON lines go (default stdout). */
  readonly destination?: NodeJS.WritableStream;
}

export function createLogger(
  opts: PinoLoggerOptions,
): Logger & { child(bindings: Record<string, unknown>): Logger } {
  const stream =
    opts.format === 'pretty'
      ? pretty({
          colorize: process.stdout.isTTY === true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname',
        })
      : (opts.destination ?? process.stdout);
  const base = pino(
    { level: opts.level, ...(opts.name === undefined ? {} : { name: opts.name }), base: null },
    stream as never,
  );
  const wrap = (l: pino.Logger): Logger & { child(b: Record<string, unknown>): Logger } => ({
    debug: (m, f) => l.debug(f ?? {}, m),
    info: (m, f) => l.info(f ?? {}, m),
    warn: (m, f) => l.warn(f ?? {}, m),
    error: (m, f) => l.error(f ?? {}, m),
    child: (b) => wrap(l.child(b)),
  });
  return wrap(base);
}
