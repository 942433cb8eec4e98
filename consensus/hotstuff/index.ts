// Placeholder until the hotstuff engine lands: registered so the CLI lists it, refuses to run.
import { EngineParamsError } from '../params.ts';
import type { EngineModule } from '../types.ts';

export const hotstuff: EngineModule<never> = {
  name: 'hotstuff',
  description: 'not implemented yet',
  faultModel: 'bft',
  codec: {
    maxBytes: 0,
    encode: () => new Uint8Array(0),
    decode: () => {
      throw new Error('hotstuff is not implemented');
    },
    signingBytes: () => new Uint8Array(0),
    slot: () => undefined,
    describe: () => 'hotstuff',
  },
  parseParams: () => {
    throw new EngineParamsError('ENGINE_PARAMS', 'hotstuff is not implemented yet');
  },
  create: () => {
    throw new EngineParamsError('ENGINE_PARAMS', 'hotstuff is not implemented yet');
  },
};
