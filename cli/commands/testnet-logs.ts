/**
 * `verity testnet logs`: every node's log (HOME/node.log, pino JSON lines) as one stream, in time
 * order, each line tagged with its node — readable on a terminal, JSON lines with --json.
 */
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, EXIT_OK, intOption, str, UsageError } from '../framework.ts';
import { LOCAL_TESTNET_DIR } from './defaults.ts';
import { manifestForUsage, testnetDirOption } from './testnet-dir.ts';

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
type LevelName = keyof typeof LEVELS;
const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const COLORS: Record<number, string> = { 20: '\x1b[90m', 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[31m' };
/** How far back from a log's end to look for its last lines (the rest is not read). */
const TAIL_BYTES = 1024 * 1024;
const POLL_MS = 250;

export interface LogLine {
  readonly node: string;
  /** ms since the epoch; undefined for a line that is not a pino record (e.g. a stack trace). */
  readonly time: number | undefined;
  readonly level: number | undefined;
  readonly record: Record<string, unknown> | undefined;
  readonly raw: string;
}

export function parseLogLine(node: string, raw: string): LogLine {
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const r = v as Record<string, unknown>;
      return {
        node,
        time: typeof r.time === 'number' ? r.time : undefined,
        level: typeof r.level === 'number' ? r.level : undefined,
        record: r,
        raw,
      };
    }
  } catch {
    // not JSON: printed as it is
  }
  return { node, time: undefined, level: undefined, record: undefined, raw };
}

/** Time order across nodes; lines without a time keep their place after the line before them. */
export function mergeByTime(lines: readonly LogLine[]): LogLine[] {
  let last = Number.NEGATIVE_INFINITY;
  const keyed = lines.map((l, i) => {
    if (l.time !== undefined) last = l.time;
    return { l, t: l.time ?? last, i };
  });
  return keyed.sort((a, b) => a.t - b.t || a.i - b.i).map((k) => k.l);
}

export function formatLogLine(l: LogLine, width: number, color: boolean): string {
  const node = l.node.padEnd(width);
  if (l.record === undefined) return `${' '.repeat(12)} ${node} ${l.raw}`;
  const { time, level, msg, name: _name, ...fields } = l.record;
  const when = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : ' '.repeat(12);
  const lvl = (LEVEL_NAMES[level as number] ?? String(level)).padEnd(5);
  const rest = Object.keys(fields).length === 0 ? '' : ` ${JSON.stringify(fields)}`;
  const text = `${when} ${node} ${lvl} ${typeof msg === 'string' ? msg : ''}${rest}`;
  const c = color ? COLORS[level as number] : undefined;
  return c === undefined ? text : `${c}${text}\x1b[0m`;
}

/** The last `n` complete lines of a file that ends at `size`, and nothing else read. */
async function lastLines(path: string, size: number, n: number): Promise<string[]> {
  if (n === 0 || size === 0) return [];
  const start = Math.max(0, size - TAIL_BYTES);
  const text = await readRange(path, start, size);
  const lines = text.split('\n');
  if (start > 0) lines.shift(); // the first one is cut
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-n);
}

async function readRange(path: string, from: number, to: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    const { bytesRead } = await fh.read(buf, 0, buf.length, from);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0; // not written yet: the node has not started
  }
}

export const testnetLogs: Command = {
  name: 'testnet logs',
  summary: "every node's log in one stream, in time order (pretty on a terminal, JSON with --json)",
  synopsis: '[--dir DIR] [--lines N] [--follow] [--level debug|info|warn|error] [--node NAME]',
  description: [
    "Reads each node's HOME/node.log (JSON lines) and prints the last --lines of all of them merged",
    'by time, each tagged with its node; --follow keeps printing new lines until Ctrl-C.',
    'Lines that are not log records (a crash trace) are printed as they are.',
    '--json: the log records themselves, one per line, with a "node" field added.',
    'Exit codes: 0, 2 usage error (no testnet in DIR, unknown --node or --level).',
  ].join('\n'),
  options: {
    ...testnetDirOption,
    lines: { type: 'string', valueName: 'N', description: 'lines per node to show first (default 20)' },
    follow: { type: 'boolean', short: 'f', description: 'keep printing new lines' },
    level: { type: 'string', valueName: 'LEVEL', description: 'the lowest level shown (default debug)' },
    node: { type: 'string', valueName: 'NAME', description: 'only this node (e.g. node0)' },
  },
  examples: [
    'verity testnet logs',
    'verity testnet logs -f --level warn',
    'verity testnet logs --json | jq .msg',
  ],
  async run({ values, json }) {
    const dir = str(values, 'dir') ?? LOCAL_TESTNET_DIR;
    const n = intOption(values, 'lines', 20, 0, 100_000);
    const levelName = str(values, 'level') ?? 'debug';
    if (!Object.hasOwn(LEVELS, levelName))
      throw new UsageError(`--level must be one of ${Object.keys(LEVELS).join(', ')}`);
    const minLevel = LEVELS[levelName as LevelName];
    const m = await manifestForUsage(dir);
    const only = str(values, 'node');
    const nodes = only === undefined ? m.nodes : m.nodes.filter((x) => x.name === only);
    if (nodes.length === 0)
      throw new UsageError(`no node "${only}" in ${dir} (nodes: ${m.nodes.map((x) => x.name).join(', ')})`);
    const width = Math.max(...nodes.map((x) => x.name.length));
    const color = !json && process.stdout.isTTY === true;
    const show = (lines: readonly LogLine[]) => {
      for (const l of mergeByTime(lines)) {
        if (l.level !== undefined && l.level < minLevel) continue;
        const text = json
          ? JSON.stringify(
              l.record === undefined ? { node: l.node, raw: l.raw } : { node: l.node, ...l.record },
            )
          : formatLogLine(l, width, color);
        process.stdout.write(`${text}\n`);
      }
    };
    const files = nodes.map((x) => ({
      name: x.name,
      path: join(x.home, 'node.log'),
      offset: 0,
      partial: '',
    }));
    const first: LogLine[] = [];
    for (const f of files) {
      f.offset = await sizeOf(f.path);
      for (const raw of await lastLines(f.path, f.offset, n)) first.push(parseLogLine(f.name, raw));
    }
    show(first);
    if (values.follow !== true) return EXIT_OK;
    let stopped = false;
    process.once('SIGINT', () => {
      stopped = true;
    });
    while (!stopped) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const batch: LogLine[] = [];
      for (const f of files) {
        const size = await sizeOf(f.path);
        if (size < f.offset) f.offset = 0; // truncated or replaced: start over
        if (size === f.offset) continue;
        const text = f.partial + (await readRange(f.path, f.offset, size));
        f.offset = size;
        const lines = text.split('\n');
        f.partial = lines.pop() ?? ''; // an unfinished line waits for its end
        for (const raw of lines) if (raw !== '') batch.push(parseLogLine(f.name, raw));
      }
      show(batch);
    }
    return EXIT_OK;
  },
};
