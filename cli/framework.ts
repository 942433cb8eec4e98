/**
 * A small command framework on node:util parseArgs: every command declares its options, help
 * text and handler; the framework handles --help, --json, usage errors (exit 2) and typed errors
 * (exit 1, message and code, no stack trace). A typed error whose `meta.usage` is true (an unset
 * --passphrase-env variable, an output file that exists, an unknown engine…) is the invocation's
 * mistake, so it is a usage error too.
 */
import { type ParseArgsOptionDescriptor, parseArgs } from 'node:util';
import { VerityError } from '../crypto/errors.ts';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {}

export type OptionSpec = ParseArgsOptionDescriptor & {
  readonly description: string;
  readonly valueName?: string;
  /** The values it takes, for shell completion (`verity completion`). */
  readonly choices?: readonly string[];
};

export interface CommandContext {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
  readonly json: boolean;
  readonly out: Output;
}

export interface Command {
  /** Space-separated path, e.g. "keys generate". */
  readonly name: string;
  readonly summary: string;
  /** Synopsis line after the command name, e.g. "--out FILE [--passphrase-env VAR]". */
  readonly synopsis: string;
  readonly description?: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Names of positional arguments, in order (all required). */
  readonly positionals?: readonly string[];
  /** Names of optional positional arguments, after the required ones. */
  readonly optionalPositionals?: readonly string[];
  /** The values its positional argument takes, for shell completion (`verity completion`). */
  readonly positionalChoices?: readonly string[];
  readonly examples?: readonly string[];
  run(ctx: CommandContext): Promise<number>;
}

export class Output {
  readonly json: boolean;
  constructor(json: boolean) {
    this.json = json;
  }
  /** Prints `data` as one JSON object with --json, else the human rendering. */
  result(data: unknown, human: () => string): void {
    if (this.json) process.stdout.write(`${JSON.stringify(data, jsonReplacer)}\n`);
    else process.stdout.write(`${human()}\n`);
  }
  /** Progress and notes go to stderr so stdout stays machine-readable. */
  info(line: string): void {
    if (!this.json) process.stderr.write(`${line}\n`);
  }
}

export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}

/** Options every command takes. */
export const COMMON_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
  json: { type: 'boolean', description: 'print machine-readable JSON' },
};

/** `verity NAME SYNOPSIS [--json]`: every command takes --json, so every usage line says so. */
export function usageLine(cmd: Command): string {
  const synopsis = /(^|\s|\[)--json\b/.test(cmd.synopsis) ? cmd.synopsis : `${cmd.synopsis} [--json]`;
  return `verity ${cmd.name} ${synopsis.trim()}`;
}

export function commandHelp(cmd: Command): string {
  const lines = [`verity ${cmd.name} — ${cmd.summary}`, '', `Usage: ${usageLine(cmd)}`];
  if (cmd.description) lines.push('', cmd.description);
  const opts = { ...cmd.options, ...COMMON_OPTIONS };
  lines.push('', 'Options:');
  for (const [name, spec] of Object.entries(opts)) {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : ''}`;
    lines.push(`  ${flag.padEnd(30)} ${spec.description}`);
  }
  if (cmd.examples?.length) lines.push('', 'Examples:', ...cmd.examples.map((e) => `  ${e}`));
  lines.push('', 'Exit codes: 0 ok, 1 validation or verification failed, 2 usage error.');
  return lines.join('\n');
}

export function rootHelp(commands: readonly Command[], opts: { version?: boolean } = {}): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'verity — a Byzantine fault-tolerant ledger node',
    '',
    'Usage: verity <command> [options]     (verity <command> --help for details)',
    ...(opts.version
      ? ['       verity --version [--json]      (this version of verity and the Node.js it runs on)']
      : []),
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
    '',
    'Exit codes: 0 ok, 1 validation or verification failed, 2 usage error.',
  ].join('\n');
}

/** Finds the longest command name that prefixes argv. */
function match(
  commands: readonly Command[],
  argv: readonly string[],
): { cmd: Command; rest: string[] } | undefined {
  let best: { cmd: Command; rest: string[] } | undefined;
  for (const cmd of commands) {
    const parts = cmd.name.split(' ');
    if (
      parts.every((p, i) => argv[i] === p) &&
      (best === undefined || parts.length > best.cmd.name.split(' ').length)
    ) {
      best = { cmd, rest: argv.slice(parts.length) };
    }
  }
  return best;
}

/** `--version`, alone or with `--json` (in any order). */
function isVersionRequest(argv: readonly string[]): boolean {
  return argv.includes('--version') && argv.every((a) => a === '--version' || a === '--json');
}

export interface CliOptions {
  /** The program's version (read only when asked for): enables `--version`. */
  readonly version?: () => string;
}

export async function runCli(
  commands: readonly Command[],
  argv: readonly string[],
  opts: CliOptions = {},
): Promise<number> {
  if (opts.version !== undefined && isVersionRequest(argv)) {
    const data = { version: opts.version(), node: process.versions.node };
    new Output(argv.includes('--json')).result(data, () => `verity ${data.version} (Node.js ${data.node})`);
    return EXIT_OK;
  }
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(`${rootHelp(commands, { version: opts.version !== undefined })}\n`);
    return argv.length === 0 ? EXIT_USAGE : EXIT_OK;
  }
  const found = match(commands, argv);
  if (found === undefined) {
    // "verity keys" alone: list the group's subcommands.
    const group = commands.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (group.length > 0 && (argv.length === 1 || argv[1] === '--help' || argv[1] === '-h')) {
      process.stdout.write(`${rootHelp(group)}\n`);
      return argv.length === 1 ? EXIT_USAGE : EXIT_OK;
    }
    process.stderr.write(`error: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${rootHelp(commands)}\n`);
    return EXIT_USAGE;
  }
  const { cmd, rest } = found;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...cmd.options, ...COMMON_OPTIONS } as Record<string, ParseArgsOptionDescriptor>,
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\nUsage: ${usageLine(cmd)}\n`);
    return EXIT_USAGE;
  }
  const values = parsed.values as CommandContext['values'];
  if (values.help) {
    process.stdout.write(`${commandHelp(cmd)}\n`);
    return EXIT_OK;
  }
  const expected = cmd.positionals ?? [];
  const optional = cmd.optionalPositionals ?? [];
  const given = parsed.positionals.length;
  if (given < expected.length || given > expected.length + optional.length) {
    const names = [...expected, ...optional.map((o) => `[${o}]`)];
    process.stderr.write(
      `error: expected ${names.length ? names.join(' ') : 'no positional arguments'}, got ${given ? parsed.positionals.join(' ') : 'none'}\n\nUsage: ${usageLine(cmd)}\n`,
    );
    return EXIT_USAGE;
  }
  const json = values.json === true;
  const out = new Output(json);
  try {
    return await cmd.run({ values, positionals: parsed.positionals, json, out });
  } catch (e) {
    if (e instanceof UsageError || (e instanceof VerityError && e.meta.usage === true)) {
      process.stderr.write(`error: ${e.message}\n\nUsage: ${usageLine(cmd)}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof VerityError) {
      if (json) process.stdout.write(`${JSON.stringify({ ok: false, code: e.code, error: e.message })}\n`);
      else process.stderr.write(`error: ${e.message} [${e.code}]\n`);
      return EXIT_FAILED;
    }
    const err = e as NodeJS.ErrnoException;
    if (typeof err.code === 'string' && typeof err.message === 'string' && err.syscall !== undefined) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT_FAILED;
    }
    throw e;
  }
}

/** Typed option readers: they turn bad values into usage errors that name the flag. */
export function str(values: CommandContext['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function required(values: CommandContext['values'], name: string): string {
  const v = str(values, name);
  if (v === undefined || v.length === 0) throw new UsageError(`--${name} is required`);
  return v;
}

export function intOption(
  values: CommandContext['values'],
  name: string,
  dflt: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = str(values, name);
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got "${v}"`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be between ${min} and ${max}`);
  return n;
}

export function bigintOption(
  values: CommandContext['values'],
  name: string,
  max?: bigint,
): bigint | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^(0|[1-9]\d*)$/.test(v) || v.length > 80)
    throw new UsageError(
      `--${name} must be a decimal integer, got "${v.length > 80 ? `${v.slice(0, 80)}…` : v}"`,
    );
  const n = BigInt(v);
  if (max !== undefined && n > max) throw new UsageError(`--${name} must be at most ${max}`);
  return n;
}

/** `--force`: the one flag that lets a command overwrite existing key files or homes. */
export const forceOption = {
  force: { type: 'boolean', description: 'overwrite existing files (keys are replaced for good)' },
} as const;

/**
 * Runs `f`; an OUTPUT_EXISTS / FILE_EXISTS refusal becomes a usage error that points at --force.
 */
export async function refusingOverwrite<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof VerityError && (e.code === 'OUTPUT_EXISTS' || e.code === 'FILE_EXISTS')) {
      throw new UsageError(`${e.message}; use --force to overwrite (existing keys are lost)`);
    }
    throw e;
  }
}
