/** The command table. Commands parse and print; the work happens in src/, ledger/ and consensus/. */
import {
  logConsistency,
  proofAccount,
  proofRecord,
  proofTx,
  queryAccount,
  queryBlock,
  queryRecord,
  queryStatus,
  queryTx,
  txSend,
} from './commands/client.ts';
import { evidenceVerify } from './commands/evidence.ts';
import { genesisInit } from './commands/genesis.ts';
import { keysGenerate, keysShow } from './commands/keys.ts';
import { init, start, startLocal, testnet, testnetUp } from './commands/node.ts';
import { proofVerify } from './commands/proof.ts';
import { sim } from './commands/sim.ts';
import { txSign } from './commands/tx.ts';
import { type Command, runCli } from './framework.ts';

export const COMMANDS: readonly Command[] = [
  init,
  start,
  testnet,
  testnetUp,
  startLocal,
  txSend,
  queryStatus,
  queryBlock,
  queryTx,
  queryAccount,
  queryRecord,
  proofTx,
  proofAccount,
  proofRecord,
  proofVerify,
  evidenceVerify,
  logConsistency,
  keysGenerate,
  keysShow,
  genesisInit,
  txSign,
  sim,
];

export function main(argv: readonly string[]): Promise<number> {
  return runCli(COMMANDS, argv);
}
