import { BYZANTINE_FAULTS } from '../fault-model.ts';
import type { EngineModule } from '../types.ts';
import { PbftEngine } from './engine.ts';
import { type PbftMessage, pbftCodec, prePrepare } from './messages.ts';
import { parsePbftParams } from './params.ts';

export type { PbftMessage } from './messages.ts';
export { parsePbftParams } from './params.ts';

function randomDigest(rng: { int(n: number): number }): Uint8Array {
  const d = new Uint8Array(32);
  for (let i = 0; i < d.length; i++) d[i] = rng.int(256);
  return d;
}

export const pbft: EngineModule<PbftMessage> = {
  name: 'pbft',
  description:
    'PBFT (Castro & Liskov 1999/2002): pre-prepare/prepare/commit, pipelined within watermarks, checkpoints, view change',
  faultModel: BYZANTINE_FAULTS,
  leaderRotation: true,
  emptyBlocks: true,
  reads: [],
  codec: pbftCodec,
  parseParams: (params) => ({ ...parsePbftParams(params) }),
  create: (ctx) => new PbftEngine(ctx, parsePbftParams(ctx.params)),
  byzantine: {
    conflicting(msg, ctx) {
      switch (msg.type) {
        case 'pre-prepare': {
          const alt = ctx.alternative(msg.digest);
          return alt === undefined ? undefined : prePrepare(msg.view, msg.seq, alt.block, alt.hash);
        }
        case 'prepare': {
          const alt = ctx.alternative(msg.digest);
          return alt === undefined
            ? { ...msg, digest: randomDigest(ctx.rng) }
            : { ...msg, digest: alt.hash, parent: alt.block.header.parentHash };
        }
        case 'commit': {
          const alt = ctx.alternative(msg.digest);
          return { ...msg, digest: alt?.hash ?? randomDigest(ctx.rng) };
        }
        case 'checkpoint':
          return { ...msg, digest: randomDigest(ctx.rng) };
        default:
          return undefined;
      }
    },
  },
};
