/**
 * The HotStuff engine module: chained HotStuff / Jolteon with BLS quorum certificates.
 * Parameters (genesis engine.params): qc = aggregate | threshold, chain = 2 | 3, viewTimeoutMs,
 * maxViewTimeoutMs, emptyBlockIntervalMs, rebroadcastMs (see params.ts).
 */
import { BYZANTINE_FAULTS } from '../fault-model.ts';
import type { EngineModule } from '../types.ts';
import { checkHotStuffValidators, HotStuffEngine } from './engine.ts';
import { type HsMessage, hotstuffCodec } from './messages.ts';
import { parseHotStuffParams } from './params.ts';

export { hotstuffAggregateScheme, hotstuffThresholdScheme } from './certificate.ts';
export type { HsMessage } from './messages.ts';

export const hotstuff: EngineModule<HsMessage> = {
  name: 'hotstuff',
  description:
    'chained HotStuff (Yin et al. 2019) with BLS aggregate or threshold QCs; 2-chain Jolteon commit (default) or 3-chain',
  faultModel: BYZANTINE_FAULTS,
  leaderRotation: true,
  emptyBlocks: true,
  reads: [],
  codec: hotstuffCodec,
  parseParams: (params, validators) => {
    const parsed = parseHotStuffParams(params);
    if (validators !== undefined) checkHotStuffValidators(parsed, validators);
    return { ...parsed };
  },
  create: (ctx) => new HotStuffEngine(ctx, parseHotStuffParams(ctx.params)),
  // A block commits once its child (two-chain) or child and grandchild (three-chain) are certified.
  certifyingDescendants: (params) => parseHotStuffParams(params).chain - 1,
  byzantine: {
    conflicting(msg, ctx) {
      switch (msg.type) {
        case 'proposal': {
          // The other block the runtime built for this position: same view, same justify.
          const alt = ctx.alternative(msg.hash);
          return alt === undefined ? undefined : { ...msg, block: alt.block, hash: alt.hash };
        }
        case 'vote': {
          // A vote for another block under the original BLS signature: BLS keys stay inside the
          // honest signer, so the forged vote fails verification and must be dropped.
          const alt = ctx.alternative(msg.blockHash);
          return { ...msg, blockHash: alt?.hash ?? new Uint8Array(32).fill(1 + ctx.rng.int(255)) };
        }
        default:
          return undefined;
      }
    },
  },
};
