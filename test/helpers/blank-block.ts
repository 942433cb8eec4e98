/** A block with an all-zero header (no transactions), for tests whose fakes never check one. */
import type { Block, BlockHeader } from '../../ledger/block.ts';

export function blankBlock(header: Partial<BlockHeader> = {}): Block {
  const zero = new Uint8Array(32);
  return {
    header: {
      chainId: 'test',
      height: 1,
      parentHash: zero,
      historyRoot: zero,
      time: { ms: 0, logical: 0 },
      proposer: new Uint8Array(20),
      txRoot: zero,
      txCount: 0,
      stateRoot: zero,
      logSize: 0,
      logRoot: zero,
      validatorsHash: zero,
      engine: 'tendermint',
      engineData: new Uint8Array(0),
      ...header,
    },
    txs: [],
  };
}
