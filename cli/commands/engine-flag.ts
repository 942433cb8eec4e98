import type { EngineParams } from '../../ledger/genesis.ts';
import { UsageError } from '../framework.ts';

/**
 * `--engine NAME[:key=value,…]`, e.g. `hotstuff:qc=threshold,chain=2`. Values that look like
 * numbers or booleans are typed as such.
 */
export function parseEngineFlag(text: string): { name: string; params: EngineParams } {
  const [name, rest] = text.split(':', 2) as [string, string | undefined];
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) throw new UsageError(`invalid engine name "${name}"`);
  const params: Record<string, string | number | boolean> = {};
  for (const pair of rest ? rest.split(',') : []) {
    const [k, v] = pair.split('=', 2) as [string, string | undefined];
    if (!k || v === undefined) throw new UsageError(`engine parameter "${pair}" must be key=value`);
    params[k] = v === 'true' ? true : v === 'false' ? false : /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  return { name, params };
}
