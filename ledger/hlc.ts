/**
 * Hybrid logical clock timestamps for blocks (Kulkarni et al., "Logical Physical Clocks", 2014):
 * physical milliseconds plus a logical counter that breaks ties when the physical part cannot
 * advance (a proposer whose clock is behind its parent's timestamp). Ordered lexicographically,
 * strictly increasing along the chain, and never more than a bounded drift ahead of honest clocks.
 */
import { VerityError } from '../crypto/errors.ts';

export interface Hlc {
  readonly ms: number;
  readonly logical: number;
}

export const MAX_LOGICAL = 0xffff_ffff;
/** Default bound on how far ahead of a validator's own clock a block timestamp may be. */
export const DEFAULT_MAX_FUTURE_DRIFT_MS = 10_000;

export type HlcErrorCode = 'TIME_NOT_MONOTONIC' | 'TIME_IN_FUTURE' | 'TIME_INVALID';
export class HlcError extends VerityError<HlcErrorCode> {}

export function compareHlc(a: Hlc, b: Hlc): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.logical - b.logical;
}

/** The timestamp a proposer puts on a child of `parent`, given its local clock reading. */
export function nextHlc(parent: Hlc, nowMs: number): Hlc {
  if (nowMs > parent.ms) return { ms: nowMs, logical: 0 };
  if (parent.logical >= MAX_LOGICAL) return { ms: parent.ms + 1, logical: 0 };
  return { ms: parent.ms, logical: parent.logical + 1 };
}

export function isValidHlc(t: Hlc): boolean {
  return (
    Number.isSafeInteger(t.ms) &&
    t.ms >= 0 &&
    Number.isInteger(t.logical) &&
    t.logical >= 0 &&
    t.logical <= MAX_LOGICAL
  );
}

/**
 * Checks a block timestamp against its parent (deterministic: every node agrees) and against the
 * local clock (local: a validator refuses to vote for a block from too far in the future).
 */
export function checkBlockTime(time: Hlc, parent: Hlc, nowMs: number, maxFutureDriftMs: number): void {
  if (!isValidHlc(time)) throw new HlcError('TIME_INVALID', 'malformed block timestamp');
  if (compareHlc(time, parent) <= 0) {
    throw new HlcError(
      'TIME_NOT_MONOTONIC',
      `block time ${formatHlc(time)} is not after parent ${formatHlc(parent)}`,
    );
  }
  if (time.ms > nowMs + maxFutureDriftMs) {
    throw new HlcError(
      'TIME_IN_FUTURE',
      `block time ${time.ms} is ${time.ms - nowMs} ms ahead of the local clock (bound ${maxFutureDriftMs} ms)`,
    );
  }
}

export function formatHlc(t: Hlc): string {
  return `${t.ms}.${t.logical}`;
}
