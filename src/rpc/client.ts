/** A small client for the node's HTTP API (used by the CLI, the e2e tests and benchmarks). */
import { VerityError } from '../../crypto/errors.ts';

export class RpcClientError extends VerityError<string> {
  readonly status: number;
  constructor(status: number, code: string, message: string, meta: Record<string, unknown> = {}) {
    super(code, message, meta);
    this.status = status;
  }
}

export class RpcClient {
  readonly base: string;
  readonly #timeoutMs: number;

  constructor(base: string, opts: { timeoutMs?: number } = {}) {
    this.base = base.replace(/\/+$/, '');
    this.#timeoutMs = opts.timeoutMs ?? 60_000;
  }

  async #request<T>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs?: number): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        signal: AbortSignal.timeout(timeoutMs ?? this.#timeoutMs),
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      throw new RpcClientError(
        0,
        'RPC_UNREACHABLE',
        `cannot reach the node at ${this.base} (${cause}); is it running? (verity testnet up / verity start)`,
        { cause },
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new RpcClientError(
        res.status,
        'RPC_BAD_RESPONSE',
        `non-JSON response (${res.status}) from ${this.base}${path}`,
      );
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } }).error;
      throw new RpcClientError(res.status, err?.code ?? 'RPC_ERROR', err?.message ?? `HTTP ${res.status}`);
    }
    return json as T;
  }

  get<T = Record<string, unknown>>(path: string): Promise<T> {
    return this.#request<T>('GET', path);
  }

  post<T = Record<string, unknown>>(path: string, body: unknown): Promise<T> {
    return this.#request<T>('POST', path, body);
  }

  status() {
    return this.get<
      {
        height: number;
        latestHash: string;
        engine: string;
        chainId: string;
        peers: number;
        syncing: boolean;
        /** Time of the latest committed block (ms since the epoch, the proposer's clock). */
        latestTime: number;
        round: number;
        step: string;
        /** The validator index this node sees as leader, if the engine has one. */
        leader: number | null;
        mempool: { size: number; bytes: number };
      } & Record<string, unknown>
    >('/status');
  }

  account(address: string) {
    return this.get<{
      address: string;
      nonce: number;
      nextNonce: number;
      balance: string;
      stake: string;
      height: number;
    }>(`/account?address=${encodeURIComponent(address)}`);
  }

  /**
   * `commit` waits as long as the node does (its commit timeout, which a Proof-of-Work chain
   * stretches to cover k confirmations): the node answers first, with the commit or COMMIT_TIMEOUT.
   */
  submitTx(hex: string, mode: 'async' | 'sync' | 'commit') {
    return this.#request<{
      id: string;
      height?: number;
      receipt?: { ok: boolean; code?: string };
      admitted?: boolean;
      /** Blocks mined on the transaction's block before it committed (probabilistic finality). */
      confirmations?: number;
    }>('POST', `/tx?mode=${mode}`, { tx: hex }, mode === 'commit' ? 10 * 60_000 : undefined);
  }
}
