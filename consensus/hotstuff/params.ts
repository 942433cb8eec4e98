/** HotStuff engine parameters (genesis `engine.params`): validated, bounded, defaults filled in. */
import type { EngineParams } from '../../ledger/genesis.ts';
import { EngineParamsError, numberParams } from '../params.ts';
import type { QcMode } from './qc.ts';

export interface HotStuffParams {
  /** 'aggregate' (default): BLS multi-signature + signer bitmap; 'threshold': t-of-n threshold BLS. */
  readonly qc: QcMode;
  /**
   * Commit rule: 2 (default) — Jolteon / DiemBFT v4 two-chain with timeout certificates; 3 — the
   * three-chain of chained HotStuff (Yin et al. 2019). The pacemaker forms TCs in both, so the
   * three-chain's linear view change buys nothing here; the two-chain commits one round earlier
   * (5 message delays from proposal to commit instead of 7) and needs one consecutive honest view
   * fewer, which matters under rotating faulty leaders.
   */
  readonly chain: 2 | 3;
  /**
   * Base view timeout: how long a validator waits for a leader's proposal (on entering a view, and
   * again after voting, for the next leader's). Doubles with each consecutive view change by
   * timeout, up to maxViewTimeoutMs; reset by a QC.
   */
  readonly viewTimeoutMs: number;
  readonly maxViewTimeoutMs: number;
  /**
   * With nothing to commit (empty mempool, no uncommitted transactions in the chain) the leader
   * waits this long before proposing an empty block. Added to the view timeout when the leader
   * waited for may be idle (no transactions in the block it extends or in this node's mempool).
   */
  readonly emptyBlockIntervalMs: number;
  /**
   * While a view makes no progress: re-send own vote/timeout, fetch missing blocks, at this
   * interval. A vote whose QC has not come back this long after it was sent (plus the idle wait
   * if the next leader may be idle) goes to every validator: the next leader may be down.
   */
  readonly rebroadcastMs: number;
}

export const HOTSTUFF_DEFAULTS = {
  chain: 2,
  viewTimeoutMs: 1000,
  maxViewTimeoutMs: 5000,
  emptyBlockIntervalMs: 1000,
  rebroadcastMs: 500,
};

export function parseHotStuffParams(params: EngineParams): HotStuffParams {
  const n = numberParams(
    'hotstuff',
    params,
    { ...HOTSTUFF_DEFAULTS },
    {
      chain: [2, 3],
      viewTimeoutMs: [10, 600_000],
      maxViewTimeoutMs: [10, 3_600_000],
      emptyBlockIntervalMs: [0, 600_000],
      rebroadcastMs: [10, 600_000],
    },
    ['qc'],
  );
  for (const [k, v] of Object.entries(n)) {
    if (!Number.isInteger(v))
      throw new EngineParamsError('ENGINE_PARAMS', `hotstuff: parameter "${k}" must be an integer`);
  }
  const qc = params.qc ?? 'aggregate';
  if (qc !== 'aggregate' && qc !== 'threshold')
    throw new EngineParamsError(
      'ENGINE_PARAMS',
      'hotstuff: parameter "qc" must be "aggregate" or "threshold"',
    );
  if (n.maxViewTimeoutMs < n.viewTimeoutMs)
    throw new EngineParamsError('ENGINE_PARAMS', 'hotstuff: maxViewTimeoutMs must be ≥ viewTimeoutMs');
  return { ...n, chain: n.chain as 2 | 3, qc };
}
