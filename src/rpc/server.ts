/**
 * The node's HTTP + JSON API (node:http; the surface is small enough not to need a framework).
 *
 * Every response is JSON; errors are `{ "error": { "code", "message" } }` with a 4xx/5xx status
 * and never a stack trace. Request bodies are capped (413 beyond the cap, and the connection is
 * closed after a short lingering read rather than drained) and read with a deadline. Idle connections are closed and their
 * number is capped. `GET /events` streams committed blocks as server-sent events.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type Equivocation, encodeEquivocation } from '../../consensus/evidence.ts';
import type { ReadMode } from '../../consensus/types.ts';
import { fromHexExact, toHex, utf8 } from '../../crypto/bytes.ts';
import { onlyTyped, VerityError } from '../../crypto/errors.ts';
import type { BatchVerifier } from '../../crypto/signature-batch.ts';
import { formatAddress, parseAddress } from '../../ledger/address.ts';
import type { Block } from '../../ledger/block.ts';
import { encodeHeader, headerHash } from '../../ledger/block.ts';
import { encodeCertificate } from '../../ledger/certificate.ts';
import type { ChainStore, TxLocation } from '../../ledger/chain.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import { StorageError } from '../../ledger/kv.ts';
import {
  buildAccountProof,
  buildConsistencyProof,
  buildRecordProof,
  buildTxProof,
} from '../../ledger/proofs.ts';
import { receiptToJson } from '../../ledger/receipt.ts';
import { decodeTransaction, type EncodedTransaction, TxError, transactionId } from '../../ledger/tx.ts';
import { operationToJson } from '../../ledger/tx-json.ts';
import type { SyncingAnswer } from '../runtime/client-intake.ts';
import type { AdmitResult } from '../runtime/mempool.ts';
import type { Logger } from '../runtime/ports.ts';
import { ReadError } from '../runtime/read-barrier.ts';
import { AddressBudget } from './address-budget.ts';
import { CLIENT_GONE } from './body.ts';
import { badRequest, notFound, RpcError } from './errors.ts';
import { isExplorerPath, serveExplorer } from './explorer.ts';
import type { StatusHistory } from './status-history.ts';
import { Submissions } from './submit.ts';
import { candidateJson, setJson, validatorsAtHeight } from './validators.ts';

export interface NodeApi {
  readonly genesis: Genesis;
  readonly chain: ChainStore;
  readonly genesisHash: Uint8Array;
  status(): { round: number; step: string; leader?: number; viewChanges: number };
  /** The recent /status samples (GET /status/history) and the node's clock now. */
  statusHistory(): { now: number; history: StatusHistory };
  validator(): { index: number; name: string; address: string } | undefined;
  peers(): string[];
  syncing(): boolean;
  mempool(): { size: number; bytes: number };
  pendingNonce(address: Uint8Array, committedNonce: number): number;
  submit(etx: EncodedTransaction): Promise<AdmitResult>;
  /**
   * False when the mempool would refuse `etx` for space (full, no fair eviction): a batch answers
   * MEMPOOL_FULL without checking its signature. True for a transaction already seen.
   */
  hasRoomFor(etx: EncodedTransaction): boolean;
  /** Admits several as one unit (nothing else runs between them); one result each, in order. */
  submitMany(etxs: readonly EncodedTransaction[]): Promise<AdmitResult[]>;
  /** The transaction waits in the mempool. */
  pending(id: Uint8Array): boolean;
  /** Intake is saturated: refuse submissions (503) before decoding and verifying them. */
  overloaded(): boolean;
  /** NODE_SYNCING (naming the heights) while the node catches up; undefined when it does not. */
  syncingAnswer(): SyncingAnswer | undefined;
  /** Where the transaction took effect, once committed. */
  waitForCommit(id: Uint8Array, signal: AbortSignal): Promise<TxLocation>;
  onBlock(listener: (height: number) => void): () => void;
  metricsText(): Promise<string>;
  noteSubmitted(etx: EncodedTransaction): void;
  /** Equivocation evidence this node holds (verified). */
  equivocations(): Equivocation[];
  /** This node's clock against its peers' (positive: ahead), if any peer reported its clock. */
  clockOffset(): { offsetMs: number; peers: number } | undefined;
  /** Whether the node is fully started and working, and what is wrong if not (GET /health). */
  health(): { ok: boolean; problems: string[] };
  /**
   * Waits until a read in `mode` may be served from the committed state (runtime.ts `read`);
   * rejects with a ReadError (READ_UNAVAILABLE, READ_FAILED, READ_TIMEOUT).
   */
  read(mode: ReadMode): Promise<number>;
  /** The node's own storage failed while serving a request: the node halts (runtime.ts, Halt). */
  storageFault(e: StorageError): void;
}

export interface RpcOptions {
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly commitTimeoutMs: number;
  /** Largest transaction accepted for submission (committed ones are always served). */
  readonly maxTxBytes?: number;
  /**
   * A connection that sends nothing for this long while no request of it is being answered
   * (before its first request, mid-request, or kept alive between requests) is closed.
   */
  readonly idleTimeoutMs?: number;
  /** Concurrent connections; beyond it new connections are closed on accept. */
  readonly maxConnections?: number;
  /** Concurrent connections from one address (0: no limit); beyond it closed on accept. */
  readonly maxConnectionsPerIp?: number;
  /** Requests a second from one address (0: no limit); beyond it 429 RATE_LIMITED. */
  readonly maxRequestsPerSecondPerIp?: number;
  /** Checks submitted transactions' signatures (a worker pool); default: on this thread. */
  readonly verifier?: BatchVerifier;
  readonly logger: Logger;
}

export const DEFAULT_RPC_IDLE_TIMEOUT_MS = 5_000;
export const DEFAULT_RPC_MAX_CONNECTIONS = 1_024;
/** A quarter of the global cap: one address cannot shut the others out. */
export const DEFAULT_RPC_MAX_CONNECTIONS_PER_IP = 256;

export function txToJson(etx: EncodedTransaction): Record<string, unknown> {
  return {
    id: toHex(etx.id),
    from: formatAddress(etx.from),
    nonce: etx.tx.nonce,
    op: operationToJson(etx.tx.op),
    raw: toHex(etx.bytes),
  };
}

/**
 * `/block`'s `txs` parameter: `full` (default) decodes every transaction; `ids` gives each as its
 * id alone (`{"id"}`: the hash of its bytes, nothing decoded), for a client that only matches
 * what it submitted against what was committed — about a seventh of the transactions' JSON.
 */
function txsDetailParam(url: URL): 'full' | 'ids' {
  const v = url.searchParams.get('txs') ?? 'full';
  if (v !== 'full' && v !== 'ids') throw badRequest('INVALID_PARAMETER', '"txs" must be full or ids');
  return v;
}

function blockJson(chain: ChainStore, block: Block, txs: 'full' | 'ids' = 'full'): Record<string, unknown> {
  const h = block.header;
  return {
    height: h.height,
    hash: toHex(headerHash(h)),
    header: {
      chainId: h.chainId,
      height: h.height,
      parentHash: toHex(h.parentHash),
      time: h.time.ms,
      timeLogical: h.time.logical,
      proposer: formatAddress(h.proposer),
      txRoot: toHex(h.txRoot),
      txCount: h.txCount,
      stateRoot: toHex(h.stateRoot),
      logSize: h.logSize,
      logRoot: toHex(h.logRoot),
      validatorsHash: toHex(h.validatorsHash),
      engine: h.engine,
      engineData: toHex(h.engineData),
      raw: toHex(encodeHeader(h)),
    },
    // Committed: checked before it was; a block request must not cost a thousand verifications.
    txs:
      txs === 'ids'
        ? block.txs.map((bytes) => ({ id: toHex(transactionId(bytes)) }))
        : chain.decodeTxsUnverified(block.txs).map(txToJson),
  };
}

/** Transactions per /txs answer, and blocks per height range. */
const MAX_TXS_PAGE = 100;
const MAX_TXS_BLOCKS = 100;

/**
 * GET /txs?account=ADDR[&limit=N][&before=H]: the account's committed transactions (sent, or
 * transfers to it), newest first, from the node's account index; `next` pages on. GET
 * /txs?from=H[&to=H]: every transaction of blocks H..H2 (at most MAX_TXS_BLOCKS), in order.
 */
async function txsQuery(chain: ChainStore, url: URL): Promise<Record<string, unknown>> {
  const limit = intParam(url, 'limit') ?? 20;
  if (limit < 1 || limit > MAX_TXS_PAGE)
    throw badRequest('INVALID_PARAMETER', `"limit" must be between 1 and ${MAX_TXS_PAGE}`);
  // Blocks read once per answer, however many of their transactions it lists.
  const blocks = new Map<number, Promise<Block | undefined>>();
  const blockAt = (height: number) => {
    let b = blocks.get(height);
    if (b === undefined) blocks.set(height, (b = chain.getBlock(height)));
    return b;
  };
  const at = async (height: number, position: number) => {
    const bytes = (await blockAt(height))?.txs[position];
    if (bytes === undefined) throw new RpcError(500, 'INTERNAL', 'transaction index is inconsistent');
    const etx = decodeTransaction(bytes);
    const loc = await chain.getTxLocation(etx.id);
    // The index keeps a transaction's first inclusion; a later copy could only fail its nonce.
    const first = loc !== undefined && loc.height === height && loc.position === position;
    return {
      ...txToJson(etx),
      height,
      position,
      ...(first
        ? { logIndex: loc.logIndex, receipt: receiptToJson(loc.receipt) }
        : {
            receipt: { ok: false, code: 'BAD_NONCE' },
            firstIncludedAt: loc && { height: loc.height, position: loc.position },
          }),
    };
  };
  if (url.searchParams.has('account')) {
    if (url.searchParams.has('from') || url.searchParams.has('to'))
      throw badRequest('INVALID_PARAMETER', 'give "account", or "from" and "to", not both');
    let addr: Uint8Array;
    try {
      addr = parseAddress(strParam(url, 'account'));
    } catch (e) {
      if (e instanceof RpcError) throw e;
      throw badRequest('INVALID_ADDRESS', onlyTyped(e).message);
    }
    const before = intParam(url, 'before');
    const found = await chain.accountTxs(addr, {
      limit: limit + 1,
      ...(before === undefined ? {} : { beforeHeight: before }),
    });
    const page = found.slice(0, limit);
    const last = page.at(-1);
    // A next page starts below the last height shown (a block's other transactions come with it).
    const more = found.length > limit && last !== undefined;
    return {
      account: formatAddress(addr),
      txs: await Promise.all(page.map((t) => at(t.height, t.position))),
      indexedFrom: chain.accountIndexFrom,
      ...(more ? { next: { before: last.height } } : {}),
    };
  }
  const from = intParam(url, 'from', { required: true }) as number;
  const to = Math.min(intParam(url, 'to') ?? chain.height, chain.height);
  if (from < 1 || from > to + 1 || to - from + 1 > MAX_TXS_BLOCKS)
    throw badRequest(
      'INVALID_PARAMETER',
      `"from" and "to" must name 1 to ${MAX_TXS_BLOCKS} committed heights, from ≤ to (the head is ${chain.height})`,
    );
  const txs = [];
  for (let h = from; h <= to; h++) {
    const count = (await blockAt(h))?.txs.length ?? 0;
    for (let i = 0; i < count; i++) txs.push(await at(h, i));
  }
  return { from, to, txs };
}

function intParam(url: URL, name: string, opts: { required?: boolean } = {}): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null) {
    if (opts.required) throw badRequest('MISSING_PARAMETER', `query parameter "${name}" is required`);
    return undefined;
  }
  if (!/^\d{1,15}$/.test(v))
    throw badRequest('INVALID_PARAMETER', `"${name}" must be a non-negative integer`);
  return Number(v);
}

const CONSISTENCY = ['local', 'linearizable', 'lease'] as const;
type Consistency = (typeof CONSISTENCY)[number];

/**
 * `consistency` of an account or record read (default `local`): `local` serves this node's
 * committed state as it is (possibly behind the cluster); `linearizable` and `lease` first have
 * the engine confirm the read (consensus/types.ts ReadMode) and wait until this node caught up.
 */
function consistencyParam(url: URL): Consistency {
  const v = url.searchParams.get('consistency') ?? 'local';
  if (!(CONSISTENCY as readonly string[]).includes(v))
    throw badRequest('INVALID_PARAMETER', `"consistency" must be one of ${CONSISTENCY.join(', ')}`);
  return v as Consistency;
}

function strParam(url: URL, name: string): string {
  const v = url.searchParams.get(name);
  if (v === null || v.length === 0)
    throw badRequest('MISSING_PARAMETER', `query parameter "${name}" is required`);
  if (v.length > 1024) throw badRequest('INVALID_PARAMETER', `"${name}" is too long`);
  return v;
}

function address(url: URL): Uint8Array {
  try {
    return parseAddress(strParam(url, 'address'));
  } catch (e) {
    if (e instanceof RpcError) throw e;
    throw badRequest('INVALID_ADDRESS', onlyTyped(e).message);
  }
}

function txId(url: URL): Uint8Array {
  try {
    return fromHexExact(strParam(url, 'id'), 32, 'transaction id');
  } catch (e) {
    if (onlyTyped(e) instanceof RpcError) throw e;
    throw badRequest('INVALID_PARAMETER', 'id must be a 32-byte hex transaction id');
  }
}

/**
 * `/block?hash=`: the height of the committed block with that header hash (the chain store's hash
 * index); undefined without the parameter. Malformed is 400 INVALID_PARAMETER, unknown 404.
 */
async function blockHashHeight(chain: ChainStore, url: URL): Promise<number | undefined> {
  if (!url.searchParams.has('hash')) return undefined;
  if (url.searchParams.has('height'))
    throw badRequest('INVALID_PARAMETER', 'give "height" or "hash", not both');
  let hash: Uint8Array;
  try {
    hash = fromHexExact(strParam(url, 'hash'), 32, 'block hash');
  } catch (e) {
    if (!(e instanceof VerityError) || (e instanceof RpcError && e.code === 'MISSING_PARAMETER')) throw e;
    throw badRequest('INVALID_PARAMETER', '"hash" must be a 32-byte block hash in hex (64 hex digits)');
  }
  const height = await chain.heightOfHash(hash);
  if (height === undefined) throw notFound(`no committed block has hash ${toHex(hash)}`);
  return height;
}

function recordKeyParam(url: URL): Uint8Array {
  const key = utf8(strParam(url, 'key'));
  if (key.length > 256) throw badRequest('INVALID_PARAMETER', 'key is longer than 256 bytes');
  return key;
}

function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    throw badRequest('BAD_REQUEST', 'the request URL is invalid');
  }
}

/** How long, and for how many bytes, a lingering close keeps reading a client's upload. */
const LINGER_MS = 2_000;
const LINGER_BYTES = 2 * 1024 * 1024;
/**
 * Closes lingering at once beyond which a new one reads only LINGER_BYTES_BUSY. Reading is the
 * cost of a lingering close (a Buffer per read, and the collections they bring): fifty clients
 * re-sending 8 MiB uploads kept the event loop busy discarding 2 MiB each and a good client's
 * p50 went from 2 ms to 120-350 ms. A client alone still gets the full allowance.
 */
const LINGER_FULL = 8;
const LINGER_BYTES_BUSY = 64 * 1024;

/** Lingering closes under way, per server. */
interface Lingering {
  count: number;
}

/**
 * nginx's lingering close. A socket closed with bytes unread makes the kernel send a reset, and a
 * reset discards what the client had received and not yet read: a client still uploading would
 * get ECONNRESET instead of our 413. So: send the answer and a FIN, then read and discard what the
 * client still sends until it closes, for at most LINGER_MS and LINGER_BYTES (LINGER_BYTES_BUSY
 * while LINGER_FULL others linger).
 */
function lingerThenClose(socket: Socket, lingering: Lingering): void {
  const from = socket.bytesRead;
  const bytes = lingering.count < LINGER_FULL ? LINGER_BYTES : LINGER_BYTES_BUSY;
  lingering.count++;
  socket.end();
  // The byte allowance is checked as data arrives: on a timer alone, a fast client got tens of
  // megabytes in between.
  const onData = () => {
    if (socket.bytesRead - from > bytes) socket.destroy();
  };
  socket.on('data', onData);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('end', () => socket.destroy());
  socket.once('close', () => {
    lingering.count--;
    socket.off('data', onData);
    clearTimeout(timer);
  });
}

export class RpcServer {
  readonly #api: NodeApi;
  readonly #o: RpcOptions;
  readonly #server: Server;
  readonly #sse = new Set<ServerResponse>();
  readonly #lingering: Lingering = { count: 0 };
  /** Requests being answered, by connection (the idle timeout spares a connection the node is answering). */
  readonly #active = new WeakMap<Socket, Set<IncomingMessage>>();
  readonly #budget: AddressBudget;
  readonly #submissions: Submissions;
  readonly #pruneTimer: NodeJS.Timeout;
  #refused = 0;
  #refusedWarnedAt = -Infinity;

  constructor(api: NodeApi, opts: RpcOptions) {
    this.#api = api;
    this.#o = opts;
    this.#submissions = new Submissions(api, opts);
    // Check the headers and request deadlines every second, not every 30 s (node's default).
    this.#server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
      void this.#handle(req, res);
    });
    this.#server.requestTimeout = 60_000;
    this.#server.headersTimeout = 10_000;
    const idle = opts.idleTimeoutMs ?? DEFAULT_RPC_IDLE_TIMEOUT_MS;
    this.#server.timeout = idle;
    this.#server.keepAliveTimeout = idle;
    this.#server.maxConnections = opts.maxConnections ?? DEFAULT_RPC_MAX_CONNECTIONS;
    // With a listener here node:http no longer destroys timed-out sockets itself; #onIdle decides.
    this.#server.on('timeout', (socket: Socket) => this.#onIdle(socket));
    this.#server.on('drop', () => this.#onRefused('limit'));
    this.#budget = new AddressBudget({
      maxConnections: opts.maxConnectionsPerIp ?? DEFAULT_RPC_MAX_CONNECTIONS_PER_IP,
      maxRequestsPerSecond: opts.maxRequestsPerSecondPerIp ?? 0,
    });
    this.#server.on('connection', (socket: Socket) => {
      const address = socket.remoteAddress;
      if (!this.#budget.admitConnection(address)) {
        this.#onRefused('address', address);
        socket.destroy();
        return;
      }
      socket.once('close', () => this.#budget.releaseConnection(address));
    });
    this.#pruneTimer = setInterval(() => this.#budget.prune(performance.now()), 60_000);
    this.#pruneTimer.unref();
  }

  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      // A deep accept queue (the kernel caps it at net.core.somaxconn): with node's 511, a flood of
      // connects overflowed it and everyone's SYNs were dropped — a good client waited for its
      // 1 s SYN retransmit (test/nemesis/rpc-abuse.ts).
      this.#server.listen({ port: this.#o.port, host: this.#o.host, backlog: 4096 }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const a = this.#server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  #onIdle(socket: Socket): void {
    // A request received in full and still being answered (mode=commit, /events) waits on the
    // node, not on the client; its connection is not idle.
    const active = this.#active.get(socket);
    if (active !== undefined && active.size > 0 && [...active].every((r) => r.complete)) return;
    this.#o.logger.debug('rpc connection idle; closing', { remote: socket.remoteAddress });
    socket.destroy();
  }

  #onRefused(why: 'limit' | 'address', address?: string): void {
    // Once a minute at most: a flood of connections must not become a flood of log lines.
    this.#refused++;
    const now = performance.now();
    if (now - this.#refusedWarnedAt < 60_000) return;
    if (why === 'limit')
      this.#o.logger.warn('rpc connection limit reached; refusing new connections', {
        maxConnections: this.#server.maxConnections,
        refused: this.#refused,
      });
    else
      this.#o.logger.warn('rpc connections from one address over its share; refusing its new ones', {
        address,
        maxConnectionsPerIp: this.#o.maxConnectionsPerIp ?? DEFAULT_RPC_MAX_CONNECTIONS_PER_IP,
        refused: this.#refused,
      });
    this.#refusedWarnedAt = now;
    this.#refused = 0;
  }

  async close(): Promise<void> {
    clearInterval(this.#pruneTimer);
    for (const res of this.#sse) res.end();
    this.#sse.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    let status = 200;
    let active = this.#active.get(req.socket);
    if (active === undefined) this.#active.set(req.socket, (active = new Set()));
    active.add(req);
    res.once('close', () => active.delete(req));
    try {
      if (!this.#budget.admitRequest(req.socket.remoteAddress, performance.now())) {
        status = 429;
        this.#json(
          res,
          429,
          {
            error: {
              code: 'RATE_LIMITED',
              message: `more than ${this.#o.maxRequestsPerSecondPerIp} requests a second from this address (rpc.max_requests_per_second_per_ip); retry in a second`,
            },
          },
          false,
          { 'retry-after': '1' },
        );
        return;
      }
      const url = requestUrl(req);
      if (req.method === 'GET' && url.pathname === '/events') return this.#events(req, res);
      if (req.method === 'GET' && isExplorerPath(url.pathname)) {
        status = await serveExplorer(res, url.pathname, this.#api.genesis);
        return;
      }
      if (req.method === 'GET' && url.pathname === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(await this.#api.metricsText());
        return;
      }
      if (req.method === 'GET' && url.pathname === '/health') {
        // 503 while the node is starting, halted or degraded: a supervisor or load balancer
        // reads the status code, an operator the problems.
        const h = this.#api.health();
        status = h.ok ? 200 : 503;
        this.#json(res, status, { ok: h.ok, height: this.#api.chain.height, problems: h.problems });
        return;
      }
      const body = await this.#route(req, url);
      this.#json(res, 200, body);
    } catch (e) {
      if (e instanceof StorageError) this.#api.storageFault(e);
      const err =
        e instanceof RpcError
          ? e
          : e instanceof StorageError
            ? new RpcError(503, e.code, `this node's storage failed: ${e.message}`)
            : e instanceof TxError
              ? new RpcError(400, e.code, e.message)
              : e instanceof ReadError
                ? new RpcError(e.code === 'READ_UNAVAILABLE' ? 400 : 503, e.code, e.message)
                : e instanceof VerityError && (e.code === 'NOT_FOUND' || e.code === 'INVALID_ADDRESS')
                  ? new RpcError(e.code === 'NOT_FOUND' ? 404 : 400, e.code, e.message)
                  : undefined;
      if (err !== undefined) {
        status = err.status;
        this.#json(res, err.status, { error: { code: err.code, message: err.message } }, err.status === 413);
      } else if (e === req.errored || e === CLIENT_GONE) {
        // The connection went away mid-request (the client left, or it idled out): nobody to answer.
        status = 499;
      } else {
        status = 500;
        this.#o.logger.error('rpc handler failed', {
          error: (e as Error).message,
          stack: (e as Error).stack,
        });
        this.#json(res, 500, { error: { code: 'INTERNAL', message: 'internal error; see the node log' } });
      }
    } finally {
      this.#o.logger.debug('rpc', {
        method: req.method,
        url: req.url,
        status,
        ms: Math.round(performance.now() - started),
      });
    }
  }

  /** `close`: end the connection once the answer is out, leaving the rest of the request unread. */
  #json(
    res: ServerResponse,
    status: number,
    body: unknown,
    close = false,
    headers: Record<string, string> = {},
  ): void {
    if (res.headersSent) return;
    const text = JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    res.writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...(close ? { connection: 'close' } : {}),
      ...headers,
    });
    // node:http ends a `connection: close` answer with socket.destroySoon(), a close with the
    // upload unread; on this socket it becomes a lingering close (the rpc-hardening test pins it).
    const socket = res.socket;
    if (close && socket !== null) socket.destroySoon = () => lingerThenClose(socket, this.#lingering);
    res.end(text);
  }

  async #route(req: IncomingMessage, url: URL): Promise<unknown> {
    const api = this.#api;
    const chain = api.chain;
    const method = req.method ?? 'GET';
    const path = url.pathname;
    if (method === 'POST' && path === '/tx') return this.#submissions.one(req, url);
    if (method === 'POST' && path === '/txs') return this.#submissions.batch(req);
    if (method !== 'GET') throw new RpcError(405, 'METHOD_NOT_ALLOWED', `${method} ${path} is not supported`);
    switch (path) {
      case '/status': {
        const s = api.status();
        return {
          chainId: api.genesis.chainId,
          height: chain.height,
          // The lowest block this node holds (above genesis): > 1 after a state snapshot.
          lowestBlock: chain.lowestBlock,
          latestHash: toHex(chain.headHash),
          latestTime: chain.head.time.ms,
          logSize: chain.head.logSize,
          logRoot: toHex(chain.head.logRoot),
          stateRoot: toHex(chain.head.stateRoot),
          genesisHash: toHex(api.genesisHash),
          engine: api.genesis.engine.name,
          round: s.round,
          step: s.step,
          leader: s.leader ?? null,
          viewChanges: s.viewChanges,
          validator: api.validator() ?? null,
          peers: api.peers().length,
          peerIds: api.peers(),
          syncing: api.syncing(),
          mempool: api.mempool(),
          // How far this node's clock is from its peers' (median; positive: ahead of them).
          clockOffsetMs: api.clockOffset()?.offsetMs ?? null,
        };
      }
      case '/status/history': {
        // The last ~10 minutes of /status, oldest first (status-history.ts); `now` dates the newest.
        const { now, history } = api.statusHistory();
        return {
          now,
          intervalMs: history.intervalMs,
          windowMs: history.windowMs,
          samples: history.samples(),
        };
      }
      case '/block': {
        const txs = txsDetailParam(url);
        const height = (await blockHashHeight(chain, url)) ?? intParam(url, 'height') ?? chain.height;
        const block = await chain.getBlock(height);
        if (block === undefined)
          throw notFound(
            height > 0 && height < chain.lowestBlock
              ? `no block at height ${height}: this node's chain starts from a state snapshot at ${chain.lowestBlock} (ask a node that replayed the whole chain)`
              : `no block at height ${height} (head is ${chain.height})`,
          );
        const cert = await chain.getCertificateBytes(height);
        return { ...blockJson(chain, block, txs), certificate: cert === undefined ? null : toHex(cert) };
      }
      case '/tx': {
        const id = txId(url);
        const loc = await chain.getTxLocation(id);
        if (loc === undefined) throw notFound(`transaction ${toHex(id)} is not committed`);
        const block = await chain.getBlock(loc.height);
        const bytes = block?.txs[loc.position];
        if (bytes === undefined) throw new RpcError(500, 'INTERNAL', 'transaction index is inconsistent');
        return {
          ...txToJson(decodeTransaction(bytes)),
          height: loc.height,
          position: loc.position,
          logIndex: loc.logIndex,
          receipt: receiptToJson(loc.receipt),
        };
      }
      case '/txs':
        return txsQuery(chain, url);
      case '/account': {
        const addr = address(url);
        const consistency = consistencyParam(url);
        if (consistency !== 'local') await api.read(consistency);
        const state = await chain.stateAt();
        const a = await state.getAccount(addr);
        return {
          address: formatAddress(addr),
          nonce: a.nonce,
          nextNonce: api.pendingNonce(addr, a.nonce),
          balance: a.balance.toString(),
          stake: a.stake.toString(),
          height: chain.height,
          consistency,
        };
      }
      case '/record': {
        const key = recordKeyParam(url);
        const consistency = consistencyParam(url);
        if (consistency !== 'local') await api.read(consistency);
        const r = await (await chain.stateAt()).getRecord(key);
        if (r === undefined) throw notFound(`no record with key "${Buffer.from(key).toString('utf8')}"`);
        return {
          key: Buffer.from(key).toString('utf8'),
          owner: formatAddress(r.owner),
          value: Buffer.from(r.value).toString('utf8'),
          valueHex: toHex(r.value),
          height: chain.height,
          consistency,
        };
      }
      case '/evidence':
        // Each item verifies offline: `verity evidence verify FILE --genesis GENESIS`.
        return {
          evidence: api.equivocations().map((e) => ({
            validator: e.validator,
            epoch: e.epoch ?? 0,
            // `validator` indexes its epoch's set: named here when that is the genesis set.
            name: (e.epoch ?? 0) === 0 ? (api.genesis.validators.at(e.validator)?.name ?? null) : null,
            slot: e.slot,
            evidence: toHex(encodeEquivocation(e)),
          })),
        };
      case '/validators': {
        const height = intParam(url, 'height') ?? chain.height + 1;
        const found = await validatorsAtHeight(chain, height);
        if (found === undefined)
          throw notFound(
            `the validator set of block ${height} is not known yet (head is ${chain.height}; sets are known up to the end of the next epoch)`,
          );
        return { epoch: found.epoch, height, ...setJson(found.set) };
      }
      case '/validator': {
        const addr = address(url);
        const found = await candidateJson(chain, addr);
        if (found === undefined)
          throw notFound(
            chain.genesis.staking === undefined
              ? 'this chain has no staking (its validator set is fixed at genesis): see GET /validators'
              : `${formatAddress(addr)} is not a registered validator`,
          );
        return found;
      }
      case '/proof/account':
        return buildAccountProof(chain, address(url), intParam(url, 'height'));
      case '/proof/record':
        return buildRecordProof(chain, recordKeyParam(url), intParam(url, 'height'));
      case '/proof/tx':
        return buildTxProof(chain, txId(url), intParam(url, 'height'));
      case '/proof/consistency':
        return buildConsistencyProof(
          chain,
          intParam(url, 'from', { required: true }) as number,
          intParam(url, 'to') ?? chain.height,
        );
      case '/certificate': {
        const height = intParam(url, 'height', { required: true }) as number;
        const cert = await chain.getCertificate(height);
        if (cert === undefined) throw notFound(`no certificate at height ${height}`);
        return { height, kind: cert.kind, certificate: toHex(encodeCertificate(cert, chain.schemes)) };
      }
      default:
        throw notFound(`no route ${path}`);
    }
  }

  #events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(': verity block stream\n\n');
    this.#sse.add(res);
    const off = this.#api.onBlock((height) => {
      void this.#api.chain.getBlock(height).then((block) => {
        if (block === undefined) return;
        res.write(
          `event: block\ndata: ${JSON.stringify({ height, hash: toHex(headerHash(block.header)), txs: block.txs.length, time: block.header.time.ms })}\n\n`,
        );
      });
    });
    req.on('close', () => {
      off();
      this.#sse.delete(res);
    });
  }
}
