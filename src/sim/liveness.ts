/**
 * The liveness verdict after healing. The healed honest core must be able to decide on its own:
 * n − f honest validators (the engine's fault model's liveness core) and a quorum of the voting
 * power. Without that, "every honest node progressed" proves nothing (it is vacuous with no
 * honest node at all), so the run is reported not live, as not demonstrable. With it, every
 * honest node must have reached the target height.
 */
import type { FaultModel } from '../../consensus/fault-model.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';

export interface LivenessInput {
  readonly model: FaultModel;
  readonly validators: ValidatorSet;
  /** The honest instances still expected to run: their validator and committed height. */
  readonly honest: ReadonlyArray<{ readonly validator: number; readonly height: number }>;
  readonly target: number;
  readonly blocks: number;
  readonly withinMs: number;
}

/** Why the run is not live, or undefined when it is. */
export function livenessFailure(o: LivenessInput): string | undefined {
  const n = o.validators.size;
  const core = [...new Set(o.honest.map((h) => h.validator))];
  const corePower = core.reduce((s, v) => s + (o.validators.at(v)?.power ?? 0), 0);
  const quorum = o.model.quorumPower(o.validators);
  const minCore = o.model.livenessCore(n);
  if (core.length < minCore || corePower < quorum)
    return `the honest core (${core.length} of ${n} validators, power ${corePower} of ${o.validators.totalPower}) cannot form a quorum (needs ${minCore} validators and power ${quorum}): liveness not demonstrable`;
  if (o.honest.every((h) => h.height >= o.target)) return undefined;
  return `not every honest node committed ${o.blocks} new blocks (to height ${o.target}) within ${o.withinMs} ms of healing: heights ${o.honest.map((h) => h.height).join(', ')}`;
}
