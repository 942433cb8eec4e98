/**
 * Transaction submission: `POST /tx` (one transaction, admitted in mode async, sync or commit)
 * and `POST /txs` (a batch of up to 1,000, each admitted like mode=sync). A transaction is decoded
 * under the size cap, checked (chain id, signature: on the configured verifier, a worker pool) and
 * only then handed to the node; an overloaded node refuses before any of that work.
 */
import type { IncomingMessage } from 'node:http';
import { getEngine } from '../../consensus/registry.ts';
import { fromHex, toHex } from '../../crypto/bytes.ts';
import { onlyTyped, VerityError } from '../../crypto/errors.ts';
import { inThreadVerifier } from '../../crypto/signature-batch.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import { receiptToJson } from '../../ledger/receipt.ts';
import {
  decodeTransaction,
  type EncodedTransaction,
  type TxError,
  verifyTransactions,
} from '../../ledger/tx.ts';
import type { AdmitResult } from '../runtime/mempool.ts';
import { parseJsonField, readBody } from './body.ts';
import { badRequest, overloaded, RpcError } from './errors.ts';
import type { NodeApi, RpcOptions } from './server.ts';

/** Most transactions in one `POST /txs`. */
const MAX_BATCH_TXS = 1000;
/** Refusals that are the node's state, not the transaction's: HTTP 503, retry (here or elsewhere). */
const RETRY_LATER: ReadonlySet<string> = new Set(['MEMPOOL_FULL', 'NODE_HALTED', 'NODE_SYNCING']);

export class Submissions {
  readonly #api: NodeApi;
  readonly #o: RpcOptions;

  constructor(api: NodeApi, opts: RpcOptions) {
    this.#api = api;
    this.#o = opts;
  }

  readonly #refuseIfOverloaded = (): void => {
    if (!this.#api.overloaded()) return;
    // A node catching up is full of what its peers already committed: say that, not "overloaded".
    const syncing = this.#api.syncingAnswer();
    if (syncing === undefined) throw overloaded();
    throw new RpcError(503, syncing.code, `${syncing.reason} (nothing in this request was admitted)`);
  };

  /** `POST /tx?mode=async|sync|commit` with {"tx": "<hex>"}. */
  async one(req: IncomingMessage, url: URL): Promise<unknown> {
    const mode = url.searchParams.get('mode') ?? 'sync';
    if (mode !== 'async' && mode !== 'sync' && mode !== 'commit') {
      throw badRequest('INVALID_PARAMETER', 'mode must be async, sync or commit');
    }
    const body = await readBody(req, this.#o.maxBodyBytes);
    this.#refuseIfOverloaded();
    const hex = parseJsonField(body, 'tx', '{"tx": "<hex>"}');
    if (typeof hex !== 'string') throw badRequest('MALFORMED_JSON', 'body must be JSON: {"tx": "<hex>"}');
    let bytes: Uint8Array;
    try {
      bytes = fromHex(hex);
    } catch (e) {
      onlyTyped(e);
      throw badRequest('TX_MALFORMED', '"tx" is not valid hex');
    }
    const etx = decodeTransaction(bytes, this.#o.maxTxBytes);
    const [refused] = await this.#verify([etx]);
    if (refused !== undefined) throw refused;
    const id = toHex(etx.id);
    const existing = await this.#api.chain.getTxLocation(etx.id);
    if (existing !== undefined) {
      return {
        id,
        height: existing.height,
        receipt: receiptToJson(existing.receipt),
        alreadyCommitted: true,
      };
    }
    const admission = this.#api.submit(etx);
    if (mode === 'async') {
      void admission.then((r) => r.ok && this.#api.noteSubmitted(etx));
      return { id };
    }
    const r = await admission;
    // DUPLICATE is fine when the first copy is pending (it will commit; wait for it); a copy seen
    // and refused before (a replay of a used nonce) will never commit — say so instead of waiting.
    const pending = r.ok || (r.code === 'DUPLICATE' && this.#api.pending(etx.id));
    if (!r.ok && !pending) {
      const committed = await this.#api.chain.getTxLocation(etx.id);
      if (committed !== undefined)
        return {
          id,
          height: committed.height,
          receipt: receiptToJson(committed.receipt),
          alreadyCommitted: true,
        };
      if (r.code === 'DUPLICATE')
        throw badRequest('DUPLICATE', 'this transaction was seen and refused before; it is not pending');
      throw new RpcError(RETRY_LATER.has(r.code) ? 503 : 400, r.code, r.reason);
    }
    if (r.ok) this.#api.noteSubmitted(etx);
    if (mode === 'sync') return { id, admitted: r.ok, pending: true };
    const timeout = AbortSignal.timeout(this.#o.commitTimeoutMs);
    // Probabilistic finality: the blocks mined on it before it committed (outside the try: only
    // the wait's own failure is a timeout).
    const engine = (this.#api.genesis as Partial<Genesis>).engine;
    const confirmations =
      engine === undefined ? undefined : getEngine(engine.name)?.confirmations?.(engine.params);
    try {
      const loc = await this.#api.waitForCommit(etx.id, timeout);
      return {
        id,
        height: loc.height,
        receipt: receiptToJson(loc.receipt),
        ...(confirmations === undefined ? {} : { confirmations: confirmations.blocks }),
      };
    } catch (e) {
      // Only the wait running out is a timeout: a failed lookup (this node's storage) is its own
      // error, not "not committed yet".
      if (!timeout.aborted || e !== timeout.reason) throw e;
      throw new RpcError(
        504,
        'COMMIT_TIMEOUT',
        `not committed within ${this.#o.commitTimeoutMs} ms; it may still be; query /tx?id=${id}`,
      );
    }
  }

  /** Chain and signature checks of submitted transactions, on the configured verifier. */
  #verify(etxs: readonly EncodedTransaction[]): Promise<Array<TxError | undefined>> {
    return verifyTransactions(etxs, this.#api.genesis.chainId, this.#o.verifier ?? inThreadVerifier);
  }

  /**
   * Batch submission (high-throughput clients and benchmarks): {"txs": ["<hex>", …]}, at most
   * 1,000 per request, each admitted like mode=sync; one result per transaction, in order.
   */
  async batch(req: IncomingMessage): Promise<unknown> {
    const body = await readBody(req, this.#o.maxBodyBytes * 16);
    this.#refuseIfOverloaded();
    const txs = parseJsonField(body, 'txs', '{"txs": ["<hex>", …]}');
    if (!Array.isArray(txs) || txs.length > MAX_BATCH_TXS)
      throw badRequest('MALFORMED_JSON', '"txs" must be an array of at most 1000 hex strings');
    // Decode each, verify them together; admit the valid ones as one unit (runtime.ts submitMany).
    type Result = { id?: string; ok: boolean; code?: string };
    const results: Result[] = [];
    const decoded: Array<{ at: number; etx: EncodedTransaction }> = [];
    let noRoom: string | undefined;
    for (const hex of txs as unknown[]) {
      try {
        if (typeof hex !== 'string') throw badRequest('TX_MALFORMED', 'not a string');
        const etx = decodeTransaction(fromHex(hex), this.#o.maxTxBytes);
        // No room for it (a full pool, no fair eviction): say so before the signature check,
        // which under overload would be spent on a transaction refused anyway.
        if (!this.#api.hasRoomFor(etx)) {
          // (The same refusal from the pool itself would say NODE_SYNCING on a node catching up.)
          noRoom ??= this.#api.syncingAnswer()?.code ?? 'MEMPOOL_FULL';
          results.push({ id: toHex(etx.id), ok: false, code: noRoom });
          continue;
        }
        decoded.push({ at: results.length, etx });
        results.push({ ok: false });
      } catch (e) {
        // A malformed transaction is the client's; anything else is this node's fault, and loud.
        if (!(e instanceof VerityError)) throw e;
        results.push({ ok: false, code: e.code });
      }
    }
    const refused = await this.#verify(decoded.map((d) => d.etx));
    const valid = decoded.filter(({ at }, i) => {
      const e = refused[i];
      if (e !== undefined) results[at] = { ok: false, code: e.code };
      return e === undefined;
    });
    const admitted = await this.#api.submitMany(valid.map((v) => v.etx));
    valid.forEach(({ at, etx }, i) => {
      const r = admitted[i] as AdmitResult;
      if (r.ok) this.#api.noteSubmitted(etx);
      results[at] = r.ok ? { id: toHex(etx.id), ok: true } : { id: toHex(etx.id), ok: false, code: r.code };
    });
    return { results };
  }
}
