/**
 * The genesis file: the one thing a light client trusts. JSON, versioned:
 *
 * { "version": 1, "chainId": "verity-local", "genesisTime": <ms>,
 *   "engine": { "name": "tendermint", "params": { ... } },
 *   "validators": [{ "name", "publicKey", "blsPublicKey", "blsPop", "peerId", "power", "vrfPublicKey"? }],
 *   "threshold"?: { "threshold": t, "groupPublicKey", "commitments": [...], "sharePublicKeys": [...] },
 *   "accounts": [{ "address": "verity1…", "balance": "<decimal>" }],
 *   "records": [{ "key": "<utf8>", "value": "<utf8>", "owner": "verity1…" }],
 *   "staking"?: { … } }   validator sets that change by stake (ledger/staking/config.ts)
 *
 * Parsing validates everything: key lengths, each BLS proof of possession (no rogue keys), that
 * each peer id is the libp2p id of the validator's ed25519 key, balances, duplicates, supply cap.
 */

import { bls } from '../crypto/bls/index.ts';
import { fromHex, toHex, utf8 } from '../crypto/bytes.ts';
import { VerityError } from '../crypto/errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { formatAddress, parseAddress } from './address.ts';
import { type Block, type BlockHeader, headerHash, txRoot, ZERO_HASH } from './block.ts';
import type { TrustAnchor } from './certificate.ts';
import type { KvStore } from './kv.ts';
import { emptyRoot } from './log/index.ts';
import { MerklePatriciaTrie } from './mpt/index.ts';
import { parseStakingConfig, type StakingConfig, stakingConfigToJson } from './staking/config.ts';
import { writeGenesisStaking } from './staking/lifecycle.ts';
import { LedgerState } from './state.ts';
import {
  MAX_AMOUNT,
  MAX_CHAIN_ID_LENGTH,
  MAX_RECORD_KEY_LENGTH,
  MAX_RECORD_VALUE_LENGTH,
  MAX_VALIDATOR_NAME_LENGTH,
} from './tx.ts';
import { peerIdFromEd25519, type ValidatorInfo, ValidatorSet } from './validators.ts';

export const GENESIS_VERSION = 1;

export type EngineParams = Readonly<Record<string, string | number | boolean>>;

export interface ThresholdGenesis {
  readonly threshold: number;
  readonly groupPublicKey: Uint8Array;
  readonly commitments: readonly Uint8Array[];
  /** Public key of share i+1, held by validator i. */
  readonly sharePublicKeys: readonly Uint8Array[];
}

export interface Genesis {
  readonly chainId: string;
  readonly genesisTime: number;
  readonly engine: { readonly name: string; readonly params: EngineParams };
  readonly validators: ValidatorSet;
  readonly threshold?: ThresholdGenesis;
  readonly accounts: ReadonlyArray<{ readonly address: Uint8Array; readonly balance: bigint }>;
  readonly records: ReadonlyArray<{
    readonly key: Uint8Array;
    readonly value: Uint8Array;
    readonly owner: Uint8Array;
  }>;
  /** Absent: the genesis set for ever. */
  readonly staking?: StakingConfig;
}

export class GenesisError extends VerityError<'GENESIS_INVALID'> {}

function bad(path: string, reason: string): GenesisError {
  return new GenesisError('GENESIS_INVALID', `genesis ${path}: ${reason}`, { path });
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(path, 'must be an object');
  return v as Record<string, unknown>;
}

function arr(v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw bad(path, 'must be an array');
  if (v.length > max) throw bad(path, `at most ${max} entries`);
  return v;
}

function str(v: unknown, path: string, max = 256): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    throw bad(path, `must be a string of 1..${max} characters`);
  return v;
}

function hex(v: unknown, path: string, length: number): Uint8Array {
  const s = str(v, path, 2 + length * 2);
  try {
    const b = fromHex(s);
    if (b.length !== length) throw new Error(`expected ${length} bytes`);
    return b;
  } catch (e) {
    throw bad(path, `must be ${length} bytes of hex (${(e as Error).message})`);
  }
}

function int(v: unknown, path: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw bad(path, `must be an integer ≥ ${min}`);
  return v;
}

function amount(v: unknown, path: string): bigint {
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,38})$/.test(v)) throw bad(path, 'must be a decimal string');
  const n = BigInt(v);
  if (n > MAX_AMOUNT) throw bad(path, 'exceeds 2^128-1');
  return n;
}

/** 1..64 bytes of UTF-8 (what staking records and register-validator allow). */
function validatorName(v: unknown, path: string): string {
  const name = str(v, path, MAX_VALIDATOR_NAME_LENGTH);
  if (utf8(name).length > MAX_VALIDATOR_NAME_LENGTH)
    throw bad(path, `must be at most ${MAX_VALIDATOR_NAME_LENGTH} bytes of UTF-8`);
  return name;
}

export function parseGenesis(json: unknown): Genesis {
  const g = obj(json, '(root)');
  if (g.version !== GENESIS_VERSION) {
    throw bad(
      'version',
      `unsupported version ${String(g.version)}; this build reads version ${GENESIS_VERSION}`,
    );
  }
  const chainId = str(g.chainId, 'chainId', MAX_CHAIN_ID_LENGTH);
  if (utf8(chainId).length > MAX_CHAIN_ID_LENGTH) throw bad('chainId', 'too long');
  const genesisTime = int(g.genesisTime, 'genesisTime', 0);
  const engineObj = obj(g.engine, 'engine');
  const engineName = str(engineObj.name, 'engine.name', 32);
  const paramsObj = obj(engineObj.params ?? {}, 'engine.params');
  const params: Record<string, string | number | boolean> = {};
  for (const key of Object.keys(paramsObj).sort()) {
    const v = paramsObj[key];
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw bad(`engine.params.${key}`, 'must be a string, number or boolean');
    }
    params[key] = v;
  }

  const infos: ValidatorInfo[] = arr(g.validators, 'validators', 1024).map((raw, i) => {
    const p = `validators[${i}]`;
    const v = obj(raw, p);
    const publicKey = hex(v.publicKey, `${p}.publicKey`, 32);
    const blsPublicKey = hex(v.blsPublicKey, `${p}.blsPublicKey`, 48);
    const blsPop = hex(v.blsPop, `${p}.blsPop`, 96);
    const peerId = str(v.peerId, `${p}.peerId`, 128);
    if (peerId !== peerIdFromEd25519(publicKey)) {
      throw bad(
        `${p}.peerId`,
        `is not the libp2p peer id of the validator's ed25519 key (${peerIdFromEd25519(publicKey)})`,
      );
    }
    if (!bls.popVerify(blsPublicKey, blsPop))
      throw bad(`${p}.blsPop`, 'BLS proof of possession does not verify');
    const vrfPublicKey =
      v.vrfPublicKey === undefined ? undefined : hex(v.vrfPublicKey, `${p}.vrfPublicKey`, 32);
    return {
      name: validatorName(v.name, `${p}.name`),
      publicKey,
      blsPublicKey,
      blsPop,
      peerId,
      power: int(v.power, `${p}.power`, 1),
      ...(vrfPublicKey === undefined ? {} : { vrfPublicKey }),
    };
  });
  let validators: ValidatorSet;
  try {
    validators = new ValidatorSet(infos);
  } catch (e) {
    throw bad('validators', (e as Error).message);
  }

  let threshold: ThresholdGenesis | undefined;
  if (g.threshold !== undefined) {
    const t = obj(g.threshold, 'threshold');
    const tt = int(t.threshold, 'threshold.threshold', 1);
    if (tt > validators.size) throw bad('threshold.threshold', 'exceeds the number of validators');
    const commitments = arr(t.commitments, 'threshold.commitments', 1024).map((c, i) =>
      hex(c, `threshold.commitments[${i}]`, 48),
    );
    if (commitments.length !== tt) throw bad('threshold.commitments', `must hold exactly ${tt} commitments`);
    const sharePublicKeys = arr(t.sharePublicKeys, 'threshold.sharePublicKeys', 1024).map((c, i) =>
      hex(c, `threshold.sharePublicKeys[${i}]`, 48),
    );
    if (sharePublicKeys.length !== validators.size)
      throw bad('threshold.sharePublicKeys', 'one per validator');
    const groupPublicKey = hex(t.groupPublicKey, 'threshold.groupPublicKey', 48);
    if (toHex(groupPublicKey) !== toHex(commitments[0] as Uint8Array)) {
      throw bad('threshold.groupPublicKey', 'must equal the first Feldman commitment');
    }
    for (let i = 0; i < sharePublicKeys.length; i++) {
      let expected: Uint8Array;
      try {
        expected = bls.threshold.sharePublicKeyFromCommitments(commitments, i + 1);
      } catch (e) {
        throw bad('threshold.commitments', (e as Error).message);
      }
      if (toHex(expected) !== toHex(sharePublicKeys[i] as Uint8Array)) {
        throw bad(`threshold.sharePublicKeys[${i}]`, 'does not match the Feldman commitments');
      }
    }
    threshold = { threshold: tt, groupPublicKey, commitments, sharePublicKeys };
  }

  let supply = 0n;
  const seenAccounts = new Set<string>();
  const accounts = arr(g.accounts ?? [], 'accounts', 1_000_000).map((raw, i) => {
    const a = obj(raw, `accounts[${i}]`);
    let address: Uint8Array;
    try {
      address = parseAddress(str(a.address, `accounts[${i}].address`, 90));
    } catch (e) {
      throw bad(`accounts[${i}].address`, (e as Error).message);
    }
    const key = toHex(address);
    if (seenAccounts.has(key)) throw bad(`accounts[${i}].address`, 'listed twice');
    seenAccounts.add(key);
    const balance = amount(a.balance, `accounts[${i}].balance`);
    supply += balance;
    return { address, balance };
  });
  if (supply > MAX_AMOUNT) throw bad('accounts', 'total supply exceeds 2^128-1');

  const seenRecords = new Set<string>();
  const records = arr(g.records ?? [], 'records', 100_000).map((raw, i) => {
    const r = obj(raw, `records[${i}]`);
    const key = utf8(str(r.key, `records[${i}].key`, MAX_RECORD_KEY_LENGTH));
    if (key.length > MAX_RECORD_KEY_LENGTH) throw bad(`records[${i}].key`, 'too long');
    if (typeof r.value !== 'string') throw bad(`records[${i}].value`, 'must be a string');
    const value = utf8(r.value);
    if (value.length === 0 || value.length > MAX_RECORD_VALUE_LENGTH)
      throw bad(`records[${i}].value`, 'bad length');
    let owner: Uint8Array;
    try {
      owner = parseAddress(str(r.owner, `records[${i}].owner`, 90));
    } catch (e) {
      throw bad(`records[${i}].owner`, (e as Error).message);
    }
    if (seenRecords.has(toHex(key))) throw bad(`records[${i}].key`, 'listed twice');
    seenRecords.add(toHex(key));
    return { key, value, owner };
  });

  let staking: StakingConfig | undefined;
  if (g.staking !== undefined) {
    staking = parseStakingConfig(g.staking, bad);
    // Epoch e > 0 signs in the domain "chainId#e" (ledger/signing-domain.ts): no chain id may
    // look like another's epoch.
    if (chainId.includes('#')) throw bad('chainId', 'a chain with staking has no "#" in its id');
    const stakeSupply = validators.validators.reduce(
      (sum, v) => sum + BigInt(v.power) * (staking as StakingConfig).powerUnit,
      0n,
    );
    if (supply + stakeSupply > MAX_AMOUNT)
      throw bad(
        'staking.powerUnit',
        "the genesis validators' stake (power × powerUnit) takes the supply past 2^128-1",
      );
    // A threshold key is dealt to the genesis validators once; a set that changes would leave
    // new validators without shares and departed ones holding theirs.
    if (threshold !== undefined)
      throw bad(
        'staking',
        'a changing validator set cannot keep a threshold key dealt at genesis: use aggregate quorum certificates (remove "threshold") or remove "staking"',
      );
  }

  return {
    chainId,
    genesisTime,
    engine: { name: engineName, params },
    validators,
    ...(threshold === undefined ? {} : { threshold }),
    accounts,
    records,
    ...(staking === undefined ? {} : { staking }),
  };
}

export function genesisToJson(g: Genesis): Record<string, unknown> {
  return {
    version: GENESIS_VERSION,
    chainId: g.chainId,
    genesisTime: g.genesisTime,
    engine: { name: g.engine.name, params: g.engine.params },
    validators: g.validators.validators.map((v) => ({
      name: v.name,
      publicKey: toHex(v.publicKey),
      blsPublicKey: toHex(v.blsPublicKey),
      blsPop: toHex(v.blsPop),
      peerId: v.peerId,
      power: v.power,
      ...(v.vrfPublicKey === undefined ? {} : { vrfPublicKey: toHex(v.vrfPublicKey) }),
    })),
    ...(g.threshold === undefined
      ? {}
      : {
          threshold: {
            threshold: g.threshold.threshold,
            groupPublicKey: toHex(g.threshold.groupPublicKey),
            commitments: g.threshold.commitments.map(toHex),
            sharePublicKeys: g.threshold.sharePublicKeys.map(toHex),
          },
        }),
    accounts: g.accounts.map((a) => ({ address: formatAddress(a.address), balance: a.balance.toString() })),
    records: g.records.map((r) => ({
      key: Buffer.from(r.key).toString('utf8'),
      value: Buffer.from(r.value).toString('utf8'),
      owner: formatAddress(r.owner),
    })),
    ...(g.staking === undefined ? {} : { staking: stakingConfigToJson(g.staking) }),
  };
}

export function trustAnchor(g: Genesis): TrustAnchor {
  return {
    chainId: g.chainId,
    validators: g.validators,
    ...(g.threshold === undefined ? {} : { thresholdGroupPublicKey: g.threshold.groupPublicKey }),
    engineParams: g.engine.params,
    genesisTimeMs: g.genesisTime,
    ...(g.staking === undefined
      ? {}
      : { epochLength: g.staking.epochLength, trustingPeriod: g.staking.trustingPeriod }),
  };
}

/** Commits the engine and its parameters (and the threshold group key) into the genesis header. */
export function genesisEngineData(g: Genesis): Uint8Array {
  return sha256(
    utf8(
      JSON.stringify({
        engine: g.engine.name,
        params: g.engine.params,
        thresholdGroupPublicKey: g.threshold === undefined ? null : toHex(g.threshold.groupPublicKey),
      }),
    ),
  );
}

/** Writes the initial allocations into a fresh state (uncommitted) and returns it. */
export async function buildGenesisState(g: Genesis, trie: MerklePatriciaTrie): Promise<LedgerState> {
  const state = new LedgerState(trie);
  for (const a of g.accounts) await state.setAccount(a.address, { nonce: 0, balance: a.balance, stake: 0n });
  for (const r of g.records) await state.setRecord(r.key, { owner: r.owner, value: r.value });
  if (g.staking !== undefined) await writeGenesisStaking(state, g.validators.validators, g.staking);
  await state.flush();
  return state;
}

export function genesisHeader(g: Genesis, stateRoot: Uint8Array): BlockHeader {
  return {
    chainId: g.chainId,
    height: 0,
    parentHash: ZERO_HASH,
    historyRoot: emptyRoot(),
    time: { ms: g.genesisTime, logical: 0 },
    proposer: new Uint8Array(20),
    txRoot: txRoot([]),
    txCount: 0,
    stateRoot,
    logSize: 0,
    logRoot: emptyRoot(),
    validatorsHash: g.validators.hash,
    engine: g.engine.name,
    engineData: genesisEngineData(g),
  };
}

/** The genesis block, computed in a scratch in-memory trie (what a light client does too). */
export async function genesisBlock(g: Genesis, store?: KvStore): Promise<{ block: Block; hash: Uint8Array }> {
  const trie = await MerklePatriciaTrie.create({ secure: true, ...(store === undefined ? {} : { store }) });
  const state = await buildGenesisState(g, trie);
  const header = genesisHeader(g, state.root());
  return { block: { header, txs: [] }, hash: headerHash(header) };
}
