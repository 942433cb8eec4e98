/**
 * Inbound admission in two stages, around the moment the remote peer becomes known.
 *
 * Before the Noise handshake a connection is only a socket from an IP: a validator co-located with
 * a flooder (same host, same IP) cannot be told apart from it. So this stage refuses nobody; it
 * bounds the sockets still handshaking, per host and in all, and makes room by evicting the oldest
 * one whose handshake has got nowhere (the caller's `progressed`: we have not answered it yet — a
 * raw TCP flood, idle or sending garbage, is never answered, a real peer is within one round
 * trip), else the oldest. A new connection thus always gets its chance to authenticate, whatever a
 * flood holds open.
 *
 * After the handshake the peer id is known, and the per-host rate limit applies to everyone but
 * the validators (`takeRate`).
 */

export interface InboundGuardOptions {
  /** Unauthenticated connections held at once from one host. */
  readonly maxPendingPerHost: number;
  /** Unauthenticated connections held at once from all hosts. */
  readonly maxPending: number;
  /** New authenticated non-validator connections admitted per host per second. */
  readonly ratePerHost: number;
  /** Whether the connection's handshake has got anywhere (evicted last). */
  readonly progressed: (conn: object) => boolean;
  readonly now?: () => number;
}

/** Hosts' rate windows kept before expired ones are pruned. */
const PRUNE_ABOVE = 4096;
const WINDOW_MS = 1000;

export class InboundGuard<C extends object> {
  readonly #opts: InboundGuardOptions;
  readonly #now: () => number;
  /** Every pending connection, oldest first, with its host. */
  readonly #pending = new Map<C, string>();
  /** Pending connections per host, oldest first. */
  readonly #byHost = new Map<string, Set<C>>();
  readonly #windows = new Map<string, { start: number; n: number }>();

  constructor(opts: InboundGuardOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /**
   * A new, unauthenticated connection from `host`: it is always admitted. Returns the pending
   * connections to evict to make room for it (already forgotten here; the caller aborts them).
   */
  admit(host: string, conn: C): C[] {
    const evicted: C[] = [];
    const mine = this.#byHost.get(host);
    if (mine !== undefined && mine.size >= this.#opts.maxPendingPerHost) {
      const victim = this.#victim(mine.keys());
      if (victim !== undefined) evicted.push(victim);
    } else if (this.#pending.size >= this.#opts.maxPending) {
      const victim = this.#victim(this.#pending.keys());
      if (victim !== undefined) evicted.push(victim);
    }
    for (const v of evicted) this.release(v);
    this.#pending.set(conn, host);
    let set = this.#byHost.get(host);
    if (set === undefined) {
      set = new Set();
      this.#byHost.set(host, set);
    }
    set.add(conn);
    return evicted;
  }

  /** The connection authenticated, failed or closed: it no longer holds a pending slot. */
  release(conn: C): void {
    const host = this.#pending.get(conn);
    if (host === undefined) return;
    this.#pending.delete(conn);
    const set = this.#byHost.get(host);
    set?.delete(conn);
    if (set?.size === 0) this.#byHost.delete(host);
  }

  /** Counts one new authenticated connection from `host`: false when over its budget this second. */
  takeRate(host: string): boolean {
    const now = this.#now();
    const w = this.#windows.get(host);
    if (w === undefined || now - w.start >= WINDOW_MS) {
      if (w === undefined && this.#windows.size >= PRUNE_ABOVE) this.#prune(now);
      this.#windows.set(host, { start: now, n: 1 });
      return this.#opts.ratePerHost >= 1;
    }
    if (w.n >= this.#opts.ratePerHost) return false;
    w.n++;
    return true;
  }

  clear(): void {
    this.#pending.clear();
    this.#byHost.clear();
    this.#windows.clear();
  }

  /** The oldest connection whose handshake has got nowhere, else the oldest. */
  #victim(oldestFirst: Iterable<C>): C | undefined {
    let oldest: C | undefined;
    for (const c of oldestFirst) {
      oldest ??= c;
      if (!this.#opts.progressed(c)) return c;
    }
    return oldest;
  }

  #prune(now: number): void {
    for (const [host, w] of this.#windows) if (now - w.start >= WINDOW_MS) this.#windows.delete(host);
  }
}

/** The remote host of a multiaddr (its ip4/ip6/dns component), or '' when it has none. */
export function hostOf(addr: { getComponents(): Array<{ name: string; value?: string }> }): string {
  for (const c of addr.getComponents()) {
    if (c.name === 'ip4' || c.name === 'ip6' || c.name.startsWith('dns')) return c.value ?? '';
  }
  return '';
}
