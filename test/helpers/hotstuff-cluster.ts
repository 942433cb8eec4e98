/**
 * The HotStuff cluster: EngineCluster (engine-cluster.ts) over the HotStuff engine, with its
 * parsed parameters and a hand on the validators' BLS keys (to forge or equivocate in scenarios).
 */
import type { HotStuffEngine } from '../../consensus/hotstuff/engine.ts';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import type { HsMessage } from '../../consensus/hotstuff/messages.ts';
import { type HotStuffParams, parseHotStuffParams } from '../../consensus/hotstuff/params.ts';
import { type ClusterOptions, EngineCluster } from './engine-cluster.ts';

export type { Commit } from './engine-cluster.ts';

/** Every HotStuff configuration: {aggregate, threshold} QCs × {2-chain, 3-chain} commit rule. */
export const HOTSTUFF_CONFIGS = [
  { qc: 'aggregate', chain: 2 },
  { qc: 'aggregate', chain: 3 },
  { qc: 'threshold', chain: 2 },
  { qc: 'threshold', chain: 3 },
] as const;

export class Cluster extends EngineCluster<HsMessage> {
  readonly params: HotStuffParams;

  constructor(
    o: Omit<ClusterOptions<HsMessage>, 'engine' | 'params' | 'threshold'> & {
      readonly params?: Partial<HotStuffParams>;
    },
  ) {
    const params = parseHotStuffParams({ ...(o.params ?? {}) } as Record<string, string | number>);
    super({
      ...o,
      engine: hotstuff,
      params: { ...(o.params ?? {}) } as Record<string, string | number>,
      threshold: params.qc === 'threshold',
    });
    this.params = params;
  }

  /** Node `i`'s engine, as the HotStuff engine it is (for its debug state). */
  hotstuff(i: number): HotStuffEngine {
    return this.nodes[i]?.engine as HotStuffEngine;
  }
}
