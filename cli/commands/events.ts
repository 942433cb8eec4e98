/**
 * `verity events`: follows committed blocks as they happen (the node's GET /events stream), the way
 * `etcdctl watch` follows keys — one line per block, or one JSON object per line with --json.
 */
import { RpcClientError } from '../../src/rpc/client.ts';
import { type Command, EXIT_FAILED, EXIT_OK, intOption } from '../framework.ts';
import { rpcBase, rpcOption } from './client.ts';

/** What the node sends for each committed block. */
export interface BlockEvent {
  readonly height: number;
  readonly hash: string;
  readonly txs: number;
  /** Header time, ms since the epoch. */
  readonly time: number;
}

/** One event's longest accepted text: a block event is ~200 bytes; anything far longer is not one. */
const MAX_EVENT_CHARS = 64 * 1024;

/**
 * Splits a server-sent-event stream into `block` events. Comments (`: …`) and other event types
 * are skipped; a malformed block event is an error (the node is not speaking this protocol).
 */
export async function* blockEvents(body: AsyncIterable<string>): AsyncGenerator<BlockEvent> {
  let buffer = '';
  for await (const chunk of body) {
    buffer += chunk.replaceAll('\r\n', '\n');
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parseFrame(frame);
      if (event !== undefined) yield event;
    }
    if (buffer.length > MAX_EVENT_CHARS) throw new Error('the event stream sent an over-long event');
  }
}

function parseFrame(frame: string): BlockEvent | undefined {
  let type = 'message';
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  if (type !== 'block' || data.length === 0) return undefined;
  const v = JSON.parse(data.join('\n')) as Partial<BlockEvent>;
  if (
    !Number.isSafeInteger(v.height) ||
    typeof v.hash !== 'string' ||
    !Number.isSafeInteger(v.txs) ||
    !Number.isSafeInteger(v.time)
  )
    throw new Error(`the event stream sent a malformed block event: ${data.join(' ').slice(0, 200)}`);
  return v as BlockEvent;
}

export function formatBlockEvent(e: BlockEvent): string {
  const txs = `${e.txs} tx${e.txs === 1 ? '' : 's'}`;
  return `height ${e.height}  ${e.hash.slice(0, 16)}…  ${txs.padStart(7)}  ${new Date(e.time).toISOString()}`;
}

export const events: Command = {
  name: 'events',
  summary: 'follow committed blocks as they happen (like etcdctl watch)',
  synopsis: '[--count N] [--rpc URL] [--json]',
  description:
    'Prints one line per block the node commits from now on: height, hash, transactions, header time.\nWith --json, one JSON object per line ({height, hash, txs, time}). Runs until Ctrl-C, or until\n--count blocks were printed. Exit 0; 1 if the node cannot be reached or closes the stream.',
  options: {
    count: { type: 'string', valueName: 'N', description: 'stop after N blocks' },
    ...rpcOption,
  },
  examples: ['verity events', 'verity events --count 5 --json | jq .height'],
  async run({ values, json }) {
    const count = intOption(values, 'count', 0, 1, 1_000_000_000);
    const base = rpcBase(values);
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    let res: Response;
    try {
      res = await fetch(`${base}/events`, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
    } catch (e) {
      process.off('SIGINT', onSignal);
      if (abort.signal.aborted) return EXIT_OK;
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      throw new RpcClientError(
        0,
        'RPC_UNREACHABLE',
        `cannot reach the node at ${base} (${cause}); is it running?`,
      );
    }
    if (!res.ok || res.body === null) {
      process.off('SIGINT', onSignal);
      throw new RpcClientError(res.status, 'RPC_ERROR', `GET ${base}/events answered HTTP ${res.status}`);
    }
    let printed = 0;
    try {
      for await (const e of blockEvents(res.body.pipeThrough(new TextDecoderStream()))) {
        process.stdout.write(`${json ? JSON.stringify(e) : formatBlockEvent(e)}\n`);
        printed++;
        if (count > 0 && printed >= count) {
          abort.abort();
          return EXIT_OK;
        }
      }
    } catch (e) {
      if (abort.signal.aborted) return EXIT_OK; // Ctrl-C, or --count reached
      throw e;
    } finally {
      process.off('SIGINT', onSignal);
    }
    if (abort.signal.aborted) return EXIT_OK;
    process.stderr.write(`error: the node at ${base} closed the event stream\n`);
    return EXIT_FAILED;
  },
};
