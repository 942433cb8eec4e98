/**
 * How far this node's clock is from its peers': each status message carries the sender's clock,
 * and the offset is the median over peers of (our clock − theirs) at receipt — positive when we
 * are ahead. One-way latency makes each sample read us ahead by that latency (milliseconds on a
 * LAN), well below what matters here: the drift bound that blocks are checked against (seconds).
 */
export class ClockOffset {
  readonly #samples = new Map<string, number>();

  observe(peer: string, peerMs: number, localMs: number): void {
    this.#samples.set(peer, localMs - peerMs);
  }

  forget(peer: string): void {
    this.#samples.delete(peer);
  }

  /** Median offset in ms over the peers heard from, or undefined with none. */
  estimate(): { offsetMs: number; peers: number } | undefined {
    const v = [...this.#samples.values()].sort((a, b) => a - b);
    if (v.length === 0) return undefined;
    const mid = Math.floor(v.length / 2);
    const offsetMs =
      v.length % 2 === 1 ? (v[mid] as number) : Math.round(((v[mid - 1] as number) + (v[mid] as number)) / 2);
    return { offsetMs, peers: v.length };
  }
}
