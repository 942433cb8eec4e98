/**
 * src/node/pacing-options.ts: a node's config and its event-loop meter become the runtime's
 * pacing — the two floors as configured, and a load that reads the meter at each build (not once).
 */
import { describe, expect, it } from 'vitest';
import { applyOverrides, defaultConfig } from '../../src/node/config.ts';
import { pacingOptions } from '../../src/node/pacing-options.ts';
import { blockFloorMs } from '../../src/runtime/block-pipeline.ts';

describe('pacing options', () => {
  it('carries both floors and reads the meter each time the runtime asks', () => {
    const { consensus } = applyOverrides(defaultConfig(), [
      'consensus.min_block_interval_ms=50',
      'consensus.busy_block_interval_ms=150',
    ]);
    let busy = 0;
    const o = pacingOptions(consensus, { utilization: () => busy });
    expect([o.minBlockIntervalMs, o.busyBlockIntervalMs]).toEqual([50, 150]);
    expect(blockFloorMs(o.minBlockIntervalMs, o.busyBlockIntervalMs, o.load())).toBe(50);
    busy = 0.9;
    expect(o.load()).toBe(0.9);
    expect(blockFloorMs(o.minBlockIntervalMs, o.busyBlockIntervalMs, o.load())).toBe(150);
  });

  it('the defaults: 100 ms idle, 200 ms saturated', () => {
    const o = pacingOptions(defaultConfig().consensus, { utilization: () => 1 });
    expect(blockFloorMs(o.minBlockIntervalMs, o.busyBlockIntervalMs, 0)).toBe(100);
    expect(blockFloorMs(o.minBlockIntervalMs, o.busyBlockIntervalMs, o.load())).toBe(200);
  });
});
