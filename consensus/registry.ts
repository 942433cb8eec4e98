/** Every consensus engine this build knows, by name. */
import { algorand } from './algorand/index.ts';
import { ENGINE_NAMES } from './engine-names.ts';
import { hotstuff } from './hotstuff/index.ts';
import { multipaxos } from './multipaxos/index.ts';
import { pbft } from './pbft/index.ts';
import { pos } from './pos/index.ts';
import { pow } from './pow/index.ts';
import { raft } from './raft/index.ts';
import { tendermint } from './tendermint/index.ts';
import type { EngineModule } from './types.ts';

export const ENGINES: Readonly<Record<string, EngineModule<unknown>>> = {
  tendermint: tendermint as EngineModule<unknown>,
  pbft: pbft as EngineModule<unknown>,
  pow: pow as EngineModule<unknown>,
  pos: pos as EngineModule<unknown>,
  hotstuff: hotstuff as EngineModule<unknown>,
  raft: raft as EngineModule<unknown>,
  multipaxos: multipaxos as EngineModule<unknown>,
  algorand: algorand as EngineModule<unknown>,
};

const registered = Object.keys(ENGINES).sort();
if (registered.join() !== [...ENGINE_NAMES].sort().join())
  throw new Error(
    `consensus/engine-names.ts lists ${ENGINE_NAMES.join(', ')}; registered: ${registered.join(', ')}`,
  );

export function engineNames(): string[] {
  return [...registered];
}

export function getEngine(name: string): EngineModule<unknown> | undefined {
  return Object.hasOwn(ENGINES, name) ? ENGINES[name] : undefined;
}
