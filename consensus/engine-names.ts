/**
 * The names of the engines this build registers, in a module that loads no engine: the CLI's help
 * and completion name them without loading every engine's code. consensus/registry.ts checks at
 * load that it registers exactly these.
 */
export const ENGINE_NAMES: readonly string[] = [
  'algorand',
  'hotstuff',
  'multipaxos',
  'pbft',
  'pos',
  'pow',
  'raft',
  'tendermint',
];
