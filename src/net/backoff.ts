/** Reconnection delays: exponential growth from `baseMs`, capped at `maxMs`, with equal jitter. */

export interface BackoffOptions {
  /** First delay (default 250 ms). */
  readonly baseMs?: number;
  /** Largest delay (default 10 s). */
  readonly maxMs?: number;
}

/**
 * Delay before reconnection attempt `attempt` (0-based): the exponential step `e` = min(max,
 * base·2^attempt), then uniform in [e/2, e) — half fixed (so retries never bunch at zero), half
 * random (so peers that lost each other at the same moment do not redial in lockstep).
 */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const base = opts.baseMs ?? 250;
  const max = opts.maxMs ?? 10_000;
  const step = Math.min(max, base * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(step / 2 + random() * (step / 2));
}
