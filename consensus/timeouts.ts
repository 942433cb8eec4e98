/** Timeout schedules. Engines count rounds/views; these turn them into durations. */

/** Tendermint-style linear growth: base + delta × round, capped. */
export function linearTimeout(baseMs: number, deltaMs: number, round: number, maxMs = 60_000): number {
  return Math.min(maxMs, baseMs + deltaMs * round);
}

/** Exponential backoff: base × 2^attempt, capped (PBFT view changes, HotStuff pacemaker). */
export function exponentialTimeout(baseMs: number, attempt: number, maxMs = 60_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
}
