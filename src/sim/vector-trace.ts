/**
 * A run's messages with vector clocks, in the ShiViz log format (https://bestchai.bitbucket.io/shiviz/),
 * so that a simulated run — a violating scenario above all — reads as a space-time diagram of who
 * knew what when. Sans-I/O: the simulator calls `send`, `receive` and `local` from the hooks it
 * already has (the network's send and delivery observers, commits, crashes, starts), and `render`
 * returns the text.
 *
 * Vector clocks (Fidge, Mattern): every host (a simulator instance, `n0`, `n1`…, or a Twins instance
 * name) keeps one entry per host. A send increments the sender's own entry and remembers a copy
 * under the message's delivery id; a receive merges that copy in (component-wise max) and
 * increments the receiver's own entry; a local event increments its host's entry. A message that
 * is lost, cut, dropped or never delivered is a send with no receive; a duplicated one has two
 * receives of one send.
 *
 * File layout (ShiViz's "load a file"): the parsing regular expression, an empty line (no
 * multiple-execution delimiter), then two lines per event:
 *
 *     t=<virtual ms> wall=<the host's clock reading, ms> <event>
 *     <host> {"<host>": n, …}
 *
 * `t` is true simulated time since the start, `wall` what the host's (possibly skewed) clock read.
 * The first event is on the pseudo-host `sim` and says what the run was, and whether the trace was
 * truncated: runs are bounded at `maxEvents` events, after which nothing more is recorded (a prefix
 * in time order, hence a consistent cut: every logged receive has its send logged).
 */

import type { MessageCodec } from '../../consensus/types.ts';
import { asBytes, asList, asSafeUint, rlpDecodeStrict } from '../../ledger/codec.ts';
import { decodeSync } from '../runtime/sync-codec.ts';
import { GENESIS_TIME } from './sim-world.ts';

/** The parsing regular expression (ShiViz syntax; JS accepts it as is). */
export const SHIVIZ_REGEX = String.raw`t=(?<time>\d+) wall=(?<wall>-?\d+) (?<event>.*)\n(?<host>\S+) (?<clock>\{.*\})`;
/** The pseudo-host carrying the run's description. */
export const META_HOST = 'sim';
export const DEFAULT_MAX_TRACE_EVENTS = 100_000;

export interface VectorTraceOptions {
  /** Host names, by simulator instance id (default `n<id>`). */
  readonly hostNames?: readonly string[];
  /** Events recorded at most (two lines each; default 100,000). */
  readonly maxEvents?: number;
  /** What the run was, for the first event (default: as the simulator describes it). */
  readonly about?: string;
}

/** When and, per host, what its clock read: ms since the run's start. */
export interface TraceTime {
  readonly t: number;
  readonly wall: number;
}

export class VectorTrace {
  readonly #names: string[];
  readonly #clocks: number[][];
  /** The sender's clock at each send, by delivery id. */
  readonly #sent = new Map<number, readonly number[]>();
  readonly #lines: string[] = [];
  readonly #max: number;
  readonly #about: string | undefined;
  #events = 0;
  #dropped = 0;

  constructor(hosts: number, o: VectorTraceOptions = {}) {
    // Host names must be one \S+ token; a quote (a Twins name like v0') is spelled out.
    this.#names = Array.from({ length: hosts }, (_, i) =>
      (o.hostNames?.[i] ?? `n${i}`).replaceAll("'", '-twin').replace(/[\s"]/g, '_'),
    );
    this.#about = o.about;
    this.#clocks = this.#names.map(() => new Array<number>(hosts).fill(0));
    this.#max = o.maxEvents ?? DEFAULT_MAX_TRACE_EVENTS;
  }

  /** Events recorded. */
  get events(): number {
    return this.#events;
  }

  /** Events not recorded because the cap was reached. */
  get truncated(): number {
    return this.#dropped;
  }

  name(host: number): string {
    return this.#names[host] ?? `n${host}`;
  }

  /** `msg` is the network's delivery id; `fate` says why it will never arrive, if known now. */
  send(
    at: TraceTime,
    msg: number,
    from: number,
    to: number,
    channel: string,
    description: string,
    fate?: string,
  ): void {
    if (!this.#room()) return;
    const c = this.#tick(from);
    if (fate === undefined) this.#sent.set(msg, [...c]);
    const note = fate === undefined ? '' : ` [${fate}]`;
    this.#emit(at, from, `send ${channel} #${msg} to ${this.name(to)}${note} ${description}`);
  }

  receive(
    at: TraceTime,
    msg: number,
    from: number,
    to: number,
    channel: string,
    description: string,
    duplicate = false,
  ): void {
    if (!this.#room()) return;
    const sent = this.#sent.get(msg);
    // Not a logged, scheduled send (a trace begun mid-run): not a logged receive either.
    if (sent === undefined) return;
    const c = this.#clocks[to] as number[];
    for (let i = 0; i < c.length; i++) c[i] = Math.max(c[i] as number, sent[i] as number);
    this.#tick(to);
    const note = duplicate ? ' [duplicate]' : '';
    this.#emit(at, to, `recv ${channel} #${msg} from ${this.name(from)}${note} ${description}`);
  }

  /** A local event: a commit, a crash, a start, a pause. */
  local(at: TraceTime, host: number, text: string): void {
    if (!this.#room()) return;
    this.#tick(host);
    this.#emit(at, host, text);
  }

  /** The ShiViz file; `about` describes the run (engine, seed…) in the first event. */
  render(about = 'verity sim'): string {
    const trunc =
      this.#dropped > 0
        ? `; TRUNCATED: the first ${this.#events} events only (${this.#dropped} more not recorded, cap ${this.#max})`
        : `; ${this.#events} events`;
    const hosts = this.#names.map((n, i) => (n === `n${i}` ? n : `${n}=n${i}`)).join(' ');
    const head = [
      `t=0 wall=0 trace of ${this.#about ?? about}; hosts ${hosts}${trunc}`,
      `${META_HOST} ${JSON.stringify({ [META_HOST]: 1 })}`,
    ];
    return `${[SHIVIZ_REGEX, '', ...head, ...this.#lines].join('\n')}\n`;
  }

  #room(): boolean {
    if (this.#events < this.#max) return true;
    this.#dropped++;
    if (this.#sent.size > 0) this.#sent.clear();
    return false;
  }

  #tick(host: number): number[] {
    const c = this.#clocks[host] as number[];
    c[host] = (c[host] as number) + 1;
    return c;
  }

  #emit(at: TraceTime, host: number, text: string): void {
    this.#events++;
    const c = this.#clocks[host] as number[];
    const clock: Record<string, number> = {};
    // The host's own entry first, then the others it has heard of (ShiViz needs no zeros).
    clock[this.name(host)] = c[host] as number;
    for (let i = 0; i < c.length; i++)
      if (i !== host && (c[i] as number) > 0) clock[this.name(i)] = c[i] as number;
    this.#lines.push(
      `t=${at.t} wall=${at.wall} ${text.replaceAll('\n', ' ')}`,
      `${this.name(host)} ${JSON.stringify(clock)}`,
    );
  }
}

/**
 * A one-line description of a message as it travels (no signature check: a trace shows what was
 * sent, forged or not): a consensus envelope through the engine's codec and its signer, a sync
 * message by kind (a status carries the sender's clock reading), a transaction frame by size.
 */
export function describeWire(codec: MessageCodec<unknown>, channel: string, bytes: Uint8Array): string {
  try {
    if (channel === 'consensus') {
      const f = asList(rlpDecodeStrict(bytes, codec.maxBytes + 128, 'envelope'), 'envelope', 3);
      const msg = codec.decode(asBytes(f[0], 'envelope.message', { max: codec.maxBytes }));
      return `${codec.describe(msg)} (signer v${asSafeUint(f[1], 'envelope.signer')})`;
    }
    if (channel === 'sync') {
      const m = decodeSync(bytes);
      switch (m.kind) {
        case 'status':
          return `status height=${m.height} clock=${m.clockMs - GENESIS_TIME}`;
        case 'get-blocks':
          return `get-blocks from=${m.from} count=${m.count}`;
        case 'blocks':
          return `blocks x${m.items.length}`;
        case 'evidence':
          return 'evidence';
      }
    }
  } catch {
    return `undecodable (${bytes.length} B)`;
  }
  return `${bytes.length} B`;
}

// -- reading a trace back, and checking it --------------------------------------------------------

export interface ParsedEvent {
  readonly time: number;
  readonly wall: number;
  readonly host: string;
  readonly event: string;
  readonly clock: Readonly<Record<string, number>>;
}

/** Parses a trace with the regular expression on its own first line (a ShiViz file). */
export function parseShiViz(text: string): ParsedEvent[] {
  const nl = text.indexOf('\n');
  const re = new RegExp(text.slice(0, nl), 'g');
  // Line 2 is the (empty) multiple-execution delimiter; the log follows it.
  const log = text.slice(text.indexOf('\n', nl + 1) + 1);
  const out: ParsedEvent[] = [];
  let end = 0;
  for (const m of log.matchAll(re)) {
    const g = m.groups ?? {};
    if (log.slice(end, m.index).trim() !== '')
      throw new Error(`unparsed text before event ${out.length}: ${log.slice(end, m.index).slice(0, 80)}`);
    end = (m.index as number) + m[0].length;
    out.push({
      time: Number(g.time),
      wall: Number(g.wall),
      host: g.host as string,
      event: g.event as string,
      clock: JSON.parse(g.clock as string) as Record<string, number>,
    });
  }
  if (log.slice(end).trim() !== '')
    throw new Error(`unparsed text after the last event: ${log.slice(end, end + 80)}`);
  return out;
}

/**
 * What a vector-clocked log must satisfy for its timestamps to respect happened-before: every
 * host's own entry counts its events (1, 2, 3…), so its clocks are totally ordered; no clock knows
 * of more events of another host than that host has logged so far; every receive has an earlier
 * send and its clock dominates the send's (≥ everywhere, greater somewhere — at least the
 * receiver's own entry). Returns the violations (empty: consistent).
 */
export function checkHappenedBefore(events: readonly ParsedEvent[]): string[] {
  const problems: string[] = [];
  const count = new Map<string, number>();
  const last = new Map<string, Readonly<Record<string, number>>>();
  const sends = new Map<string, Readonly<Record<string, number>>>();
  const at = (c: Readonly<Record<string, number>>, h: string) => c[h] ?? 0;
  const geq = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) =>
    Object.keys(b).every((h) => at(a, h) >= at(b, h));
  events.forEach((e, i) => {
    const where = `event ${i} (${e.host}: ${e.event.slice(0, 60)})`;
    const n = (count.get(e.host) ?? 0) + 1;
    count.set(e.host, n);
    if (at(e.clock, e.host) !== n) problems.push(`${where}: own entry ${at(e.clock, e.host)}, expected ${n}`);
    const prev = last.get(e.host);
    if (prev !== undefined && !geq(e.clock, prev))
      problems.push(`${where}: does not follow its host's previous event`);
    last.set(e.host, e.clock);
    for (const [h, v] of Object.entries(e.clock))
      if (h !== e.host && v > (count.get(h) ?? 0))
        problems.push(`${where}: knows ${h}'s event ${v}, which is not logged yet`);
    const m = /^(send|recv) (\S+) #(\d+) /.exec(e.event);
    if (m === null) return;
    const id = `${m[2]}#${m[3]}`;
    if (m[1] === 'send') {
      sends.set(id, e.clock);
      return;
    }
    const s = sends.get(id);
    if (s === undefined) problems.push(`${where}: receive without a logged send`);
    else if (!geq(e.clock, s) || !(at(e.clock, e.host) > at(s, e.host)))
      problems.push(`${where}: does not dominate its send's clock ${JSON.stringify(s)}`);
  });
  return problems;
}
