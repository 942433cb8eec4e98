/** PBFT's genesis parameters: what each means, defaults, bounds, and the checks between them. */
import type { EngineParams } from '../../ledger/genesis.ts';
import { EngineParamsError, numberParams } from '../params.ts';

export interface PbftParams {
  /** Base of the progress ("request") timer: no commit for this long (+ the empty-block interval) → view change. */
  readonly requestTimeoutMs: number;
  /** Base wait for the NEW-VIEW once > 2/3 VIEW-CHANGEs for our view are in. */
  readonly viewChangeTimeoutMs: number;
  /** Cap on the exponential backoff of both timers. */
  readonly maxTimeoutMs: number;
  /** K: a checkpoint every K sequence numbers. */
  readonly checkpointInterval: number;
  /** L: sequence numbers accepted above the low watermark (the pipeline depth); K ≤ L. */
  readonly watermarkWindow: number;
  /** With no transactions and nothing in flight, the primary waits this long before an empty block. */
  readonly emptyBlockIntervalMs: number;
  /** Re-broadcast / relay interval while stalled (the algorithm assumes eventual delivery). */
  readonly rebroadcastMs: number;
}

export const PBFT_DEFAULTS: PbftParams = {
  requestTimeoutMs: 2000,
  viewChangeTimeoutMs: 2000,
  maxTimeoutMs: 8000,
  checkpointInterval: 4,
  watermarkWindow: 8,
  emptyBlockIntervalMs: 1000,
  rebroadcastMs: 1000,
};

export const PBFT_BOUNDS: Partial<Record<keyof PbftParams, readonly [number, number]>> = {
  requestTimeoutMs: [1, 3_600_000],
  viewChangeTimeoutMs: [1, 3_600_000],
  maxTimeoutMs: [1, 3_600_000],
  checkpointInterval: [1, 1000],
  watermarkWindow: [1, 1000],
  emptyBlockIntervalMs: [0, 3_600_000],
  rebroadcastMs: [10, 3_600_000],
};

export function parsePbftParams(params: EngineParams): PbftParams {
  const p = numberParams('pbft', params, { ...PBFT_DEFAULTS }, PBFT_BOUNDS);
  for (const k of ['checkpointInterval', 'watermarkWindow'] as const) {
    if (!Number.isInteger(p[k]))
      throw new EngineParamsError('ENGINE_PARAMS', `pbft: "${k}" must be an integer`);
  }
  if (p.checkpointInterval > p.watermarkWindow) {
    throw new EngineParamsError(
      'ENGINE_PARAMS',
      'pbft: checkpointInterval must not exceed watermarkWindow (the window must reach the next checkpoint)',
    );
  }
  return p;
}
