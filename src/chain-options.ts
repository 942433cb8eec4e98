/**
 * What a chain store takes from the engine a genesis names: whether `membership` transactions
 * execute (EngineModule.membership), and the engine's own header rules (EngineModule.headerFault),
 * which the store checks on every block it validates, proposed or synced.
 */
import type { EngineModule } from '../consensus/types.ts';
import type { ChainOptions } from '../ledger/chain.ts';
import type { Genesis } from '../ledger/genesis.ts';

export function engineChainOptions(
  engine: EngineModule<unknown>,
  genesis: Genesis,
): Pick<ChainOptions, 'membership' | 'headerRule'> {
  const fault = engine.headerFault;
  return {
    membership: engine.membership === true,
    ...(fault === undefined
      ? {}
      : {
          headerRule: (header, hash, parent) =>
            fault(header, hash, parent, genesis.engine.params, genesis.genesisTime),
        }),
  };
}
