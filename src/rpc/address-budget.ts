/**
 * Per-address budgets for the RPC server: how many connections one remote address may hold, and
 * how many requests a second it may make (a token bucket holding one second's worth). node:http
 * has a global connection cap only, so one client could hold every slot and shut the others out.
 *
 * IPv4-mapped IPv6 addresses count as their IPv4 address. Time comes from the caller.
 */

export interface AddressBudgetOptions {
  /** Connections one address may hold at once (0: no limit). */
  readonly maxConnections: number;
  /** Requests one address may make a second, sustained; as many at once (0: no limit). */
  readonly maxRequestsPerSecond: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const normalize = (address: string | undefined) =>
  address === undefined ? 'unknown' : address.startsWith('::ffff:') ? address.slice(7) : address;

export class AddressBudget {
  readonly #o: AddressBudgetOptions;
  readonly #connections = new Map<string, number>();
  readonly #buckets = new Map<string, Bucket>();

  constructor(o: AddressBudgetOptions) {
    this.#o = o;
  }

  /** A new connection from `address`: false when the address already holds its share. */
  admitConnection(address: string | undefined): boolean {
    const a = normalize(address);
    const held = this.#connections.get(a) ?? 0;
    if (this.#o.maxConnections > 0 && held >= this.#o.maxConnections) return false;
    this.#connections.set(a, held + 1);
    return true;
  }

  /** An admitted connection closed. */
  releaseConnection(address: string | undefined): void {
    const a = normalize(address);
    const held = (this.#connections.get(a) ?? 0) - 1;
    if (held <= 0) this.#connections.delete(a);
    else this.#connections.set(a, held);
  }

  /** A request from `address` at `nowMs`: false when it is over its rate. */
  admitRequest(address: string | undefined, nowMs: number): boolean {
    const rate = this.#o.maxRequestsPerSecond;
    if (rate <= 0) return true;
    const a = normalize(address);
    const b = this.#buckets.get(a) ?? { tokens: rate, at: nowMs };
    b.tokens = Math.min(rate, b.tokens + ((nowMs - b.at) * rate) / 1000);
    b.at = nowMs;
    this.#buckets.set(a, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets the buckets that have refilled (called now and then: addresses come and go). */
  prune(nowMs: number): void {
    const rate = this.#o.maxRequestsPerSecond;
    for (const [a, b] of this.#buckets)
      if (b.tokens + ((nowMs - b.at) * rate) / 1000 >= rate) this.#buckets.delete(a);
  }

  /** Connections held by `address` (metrics, tests). */
  connectionsOf(address: string): number {
    return this.#connections.get(normalize(address)) ?? 0;
  }

  /** Addresses with a bucket (tests: pruning works). */
  get trackedAddresses(): number {
    return this.#buckets.size;
  }
}
