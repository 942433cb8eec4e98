// Placeholder until the pbft engine lands: registered so the CLI lists it, refuses to run.
import { EngineParamsError } from '../params.ts';
import type { EngineModule } from '../types.ts';

export const pbft: EngineModule<never> = {
  name: 'pbft',
  description: 'not implemented yet',
  faultModel: 'bft',
  codec: {
    maxBytes: 0,
    encode: () => new Uint8Array(0),
    decode: () => {
      throw new Error('pbft is not implemented');
    },
    signingBytes: () => new Uint8Array(0),
    slot: () => undefined,
    describe: () => 'pbft',
  },
  parseParams: () => {
    throw new EngineParamsError('ENGINE_PARAMS', 'pbft is not implemented yet');
  },
  create: () => {
    throw new EngineParamsError('ENGINE_PARAMS', 'pbft is not implemented yet');
  },
};
