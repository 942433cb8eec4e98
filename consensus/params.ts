/** Shared validation of engine parameters from genesis: typed, bounded, defaults filled in. */
import { VerityError } from '../crypto/errors.ts';
import type { EngineParams } from '../ledger/genesis.ts';

export class EngineParamsError extends VerityError<'ENGINE_PARAMS'> {}

export function numberParams<T extends Record<string, number>>(
  engine: string,
  params: EngineParams,
  defaults: T,
  bounds: Partial<Record<keyof T, readonly [number, number]>> = {},
  extra: readonly string[] = [],
): T {
  const out: Record<string, number> = { ...defaults };
  for (const [k, v] of Object.entries(params)) {
    if (extra.includes(k)) continue;
    if (!(k in defaults)) {
      throw new EngineParamsError(
        'ENGINE_PARAMS',
        `${engine}: unknown parameter "${k}" (known: ${[...Object.keys(defaults), ...extra].join(', ')})`,
      );
    }
    const [min, max] = bounds[k as keyof T] ?? [0, 3_600_000];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      throw new EngineParamsError(
        'ENGINE_PARAMS',
        `${engine}: parameter "${k}" must be a number in [${min}, ${max}]`,
      );
    }
    out[k] = v;
  }
  return out as T;
}
