/**
 * The runtime's block pacing from a node's config: the floor under the block interval, the floor
 * when busy, and how busy the node is (its event-loop meter), read at each build.
 */
import type { RuntimeOptions } from '../runtime/runtime.ts';
import type { NodeConfig } from './config.ts';

export function pacingOptions(
  consensus: Pick<NodeConfig['consensus'], 'minBlockIntervalMs' | 'busyBlockIntervalMs'>,
  meter: { utilization(): number },
): Required<Pick<RuntimeOptions<unknown>, 'minBlockIntervalMs' | 'busyBlockIntervalMs' | 'load'>> {
  return {
    minBlockIntervalMs: consensus.minBlockIntervalMs,
    busyBlockIntervalMs: consensus.busyBlockIntervalMs,
    load: () => meter.utilization(),
  };
}
