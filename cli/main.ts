/** The command table. Commands parse and print; the work happens in src/, ledger/ and consensus/. */
import { readFileSync } from 'node:fs';
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
  queryTxs,
  queryValidator,
  queryValidators,
  txBroadcast,
  txSend,
} from './commands/client.ts';
import { completionCommand } from './commands/completion.ts';
import { configCheck } from './commands/config.ts';
import { events } from './commands/events.ts';
import { evidenceVerify } from './commands/evidence.ts';
import { genesisInit } from './commands/genesis.ts';
import { keysGenerate, keysShow } from './commands/keys.ts';
import { init, start, startLocal, testnet, testnetUp } from './commands/node.ts';
import { proofVerify } from './commands/proof.ts';
import { reset } from './commands/reset.ts';
import { sim } from './commands/sim.ts';
import { snapshotRestore, snapshotSave } from './commands/snapshot.ts';
import { testnetLogs } from './commands/testnet-logs.ts';
import { testnetStatus } from './commands/testnet-status.ts';
import { txSign } from './commands/tx.ts';
import { type Command, runCli } from './framework.ts';

export const COMMANDS: readonly Command[] = [
  init,
  start,
  testnet,
  testnetUp,
  testnetStatus,
  testnetLogs,
  startLocal,
  reset,
  snapshotSave,
  snapshotRestore,
  configCheck,
  txSend,
  txBroadcast,
  queryStatus,
  queryBlock,
  queryTx,
  queryTxs,
  queryAccount,
  queryRecord,
  queryValidators,
  queryValidator,
  events,
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
  completionCommand(() => COMMANDS),
];

/** The version in package.json (read when `verity --version` asks for it). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function main(argv: readonly string[]): Promise<number> {
  return runCli(COMMANDS, argv, { version: packageVersion });
}
