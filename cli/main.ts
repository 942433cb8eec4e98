/** The command table. Commands parse and print; the work happens in src/, ledger/ and consensus/. */
import { genesisInit } from './commands/genesis.ts';
import { keysGenerate, keysShow } from './commands/keys.ts';
import { proofVerify } from './commands/proof.ts';
import { sim } from './commands/sim.ts';
import { txSign } from './commands/tx.ts';
import { type Command, runCli } from './framework.ts';

export const COMMANDS: readonly Command[] = [keysGenerate, keysShow, genesisInit, txSign, proofVerify, sim];

export function main(argv: readonly string[]): Promise<number> {
  return runCli(COMMANDS, argv);
}
