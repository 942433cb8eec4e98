import { BYZANTINE_FAULTS } from '../fault-model.ts';
import { numberParams } from '../params.ts';
import type { EngineModule } from '../types.ts';
import { TENDERMINT_DEFAULTS, TendermintEngine, type TendermintParams } from './engine.ts';
import { proposal, type TmMessage, tendermintCodec } from './messages.ts';

export const tendermint: EngineModule<TmMessage> = {
  name: 'tendermint',
  description: 'Tendermint BFT (Buchman, Kwon, Milosevic 2018): propose/prevote/precommit with locking',
  faultModel: BYZANTINE_FAULTS,
  leaderRotation: true,
  emptyBlocks: true,
  reads: [],
  codec: tendermintCodec,
  parseParams: (params) => numberParams('tendermint', params, { ...TENDERMINT_DEFAULTS }),
  create: (ctx) =>
    new TendermintEngine(
      ctx,
      numberParams('tendermint', ctx.params, { ...TENDERMINT_DEFAULTS }) as TendermintParams,
    ),
  byzantine: {
    conflicting(msg, ctx) {
      if (msg.type === 'proposal') {
        const alt = ctx.alternative(msg.hash);
        return alt === undefined ? undefined : proposal(msg.height, msg.round, -1, alt.block, alt.hash);
      }
      // A vote for the other block we built, or for nil, or for the value when we voted nil.
      const alt = msg.id.length ? ctx.alternative(msg.id) : undefined;
      const id = alt?.hash ?? (msg.id.length ? new Uint8Array(0) : new Uint8Array(32).fill(ctx.rng.int(256)));
      return { ...msg, id };
    },
  },
};
