/**
 * The epoch an engine instance runs (ledger/staking: the validator set can change only between
 * epochs; without staking, epoch 0 and the genesis set for ever): its number, its set, its base
 * block, and this node's place in the set — one immutable value, replaced whole when the runtime
 * starts the next epoch's instance, so nothing reads a new epoch's number with the old one's set.
 * And the engine's records in the consensus WAL, kept per epoch.
 */
import { concatBytes, utf8 } from '../../crypto/bytes.ts';
import { ed25519 as ed } from '../../crypto/ed25519.ts';
import { invariant } from '../../crypto/errors.ts';
import type { ChainStore } from '../../ledger/chain.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import type { KvOp, KvStore } from '../../ledger/kv.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';

export interface Epoch {
  readonly epoch: number;
  readonly validators: ValidatorSet;
  /** The last block of the epoch before (EngineContext.base): where the instance starts. */
  readonly base: { readonly height: number; readonly hash: Uint8Array };
  /** This node's index in the set (undefined: not a validator of this epoch). */
  readonly self: number | undefined;
  readonly selfAddress: Uint8Array | undefined;
}

/** The genesis epoch: epoch 0, the genesis set, based on the genesis block. */
export function genesisEpoch(genesis: Genesis, ed25519Secret: Uint8Array | undefined): Epoch {
  return place(0, genesis.validators, { height: 0, hash: new Uint8Array(32) }, ed25519Secret);
}

/**
 * The epoch of the block after the chain's head, with that epoch's set and its base block (the
 * last block of the epoch before, committed, so in the block history).
 */
export async function epochAfterHead(
  chain: ChainStore,
  genesis: Genesis,
  ed25519Secret: Uint8Array | undefined,
): Promise<Epoch> {
  const epoch = chain.epochOf(chain.height + 1);
  const validators = await chain.validatorsFor(chain.height + 1);
  const baseHeight = genesis.staking === undefined ? 0 : epoch * genesis.staking.epochLength;
  const hash = await chain.history.getEntry(baseHeight);
  invariant(hash !== undefined, `the epoch's base block ${baseHeight} is committed`);
  return place(epoch, validators, { height: baseHeight, hash }, ed25519Secret);
}

function place(
  epoch: number,
  validators: ValidatorSet,
  base: Epoch['base'],
  ed25519Secret: Uint8Array | undefined,
): Epoch {
  const self =
    ed25519Secret === undefined
      ? undefined
      : validators.byPublicKey(ed.publicKeyFromSecret(ed25519Secret))?.index;
  const selfAddress = self === undefined ? undefined : validators.at(self)?.address;
  return { epoch, validators, base, self, selfAddress };
}

/** Every epoch's engine records (the prefix the ones below share). */
export const ALL_ENGINE_RECORDS = utf8('w/engine');
const EPOCH_0_RECORDS = utf8('w/engine/');

/**
 * Where the engine records of `epoch` live in the WAL. Epoch e > 0 has its own prefix,
 * w/engine@<e>/: a node whose chain store lost the epoch's last block at a crash runs the epoch
 * before again, and must find the newer epoch's records intact when it gets there.
 */
export function engineRecordsPrefix(epoch: number): Uint8Array {
  return epoch === 0 ? EPOCH_0_RECORDS : utf8(`w/engine@${epoch}/`);
}

/** Where the engine's record `key` of `epoch` lives in the WAL. */
export function engineRecordKey(epoch: number, key: string): Uint8Array {
  return concatBytes(engineRecordsPrefix(epoch), utf8(key));
}

/** The engine records of `epoch`, by the key the engine persisted them under. */
export async function readEngineRecords(wal: KvStore, epoch: number): Promise<Map<string, Uint8Array>> {
  const prefix = engineRecordsPrefix(epoch);
  const recovered = new Map<string, Uint8Array>();
  for await (const [k, v] of wal.iterate(prefix))
    recovered.set(Buffer.from(k.subarray(prefix.length)).toString('utf8'), v);
  return recovered;
}

/** The epoch whose records `key` is (one under ALL_ENGINE_RECORDS), or undefined if none's. */
function recordEpoch(key: Uint8Array): number | undefined {
  const name = Buffer.from(key.subarray(ALL_ENGINE_RECORDS.length)).toString('latin1');
  if (name.startsWith('/')) return 0;
  const m = /^@(\d+)\//.exec(name);
  return m === null ? undefined : Number(m[1]);
}

/**
 * Drops the engine records of every epoch before `epoch` − 1 (the one two back, after a boundary;
 * all the skipped ones too when state sync moved the head across several). Not the last one's: a
 * crash that loses the epoch's last block from the chain store (an unsynced write) runs that
 * engine again, which must find its records. (Signed slots are kept per epoch by the signing
 * guard, pruned by height.)
 */
export async function forgetEngineRecordsBefore(wal: KvStore, epoch: number): Promise<void> {
  if (epoch < 2) return;
  const ops: KvOp[] = [];
  for await (const [k] of wal.iterate(ALL_ENGINE_RECORDS)) {
    const of = recordEpoch(k);
    if (of !== undefined && of < epoch - 1) ops.push({ type: 'del', key: k });
  }
  if (ops.length > 0) await wal.batch(ops);
}
