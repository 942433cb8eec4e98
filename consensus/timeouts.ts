/** Timeout schedules. Engines count rounds/views; these turn them into durations. */
import type { TimerToken } from './types.ts';

/** Tendermint-style linear growth: base + delta × round, capped. */
export function linearTimeout(baseMs: number, deltaMs: number, round: number, maxMs = 60_000): number {
  return Math.min(maxMs, baseMs + deltaMs * round);
}

/** Exponential backoff: base × 2^attempt, capped (PBFT view changes, HotStuff pacemaker). */
export function exponentialTimeout(baseMs: number, attempt: number, maxMs = 60_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
}

/** Whether a timeout's token (consensus/types.ts TimerToken) is for exactly this height and round. */
export function tokenIs(token: TimerToken | undefined, height: number, round: number): boolean {
  return token !== undefined && token.height === height && token.round === round;
}
