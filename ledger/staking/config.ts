/**
 * The genesis `staking` section: whether the validator set can change after genesis, and the
 * rules it changes by. Absent, the set is the genesis set for ever and `stake`/`unstake` only
 * move a number between balance and stake (what every chain before staking did).
 *
 * "staking": {
 *   "mode": "permissioned" | "open",   who may register: the allow-list (and the genesis validators), or anyone
 *   "allow": ["verity1…"],             addresses that may register (permissioned mode)
 *   "epochLength": 20,                 blocks per epoch; the set can change only between epochs
 *   "unbondingPeriod": 100,            blocks unbonding stake stays slashable before it is paid out
 *   "powerUnit": "1000",               stake per unit of voting power
 *   "maxValidators": 64,               the set is the top candidates by power
 *   "churnLimit": 0,                   validators that may join, and that may leave, per epoch
 *                                      (the rest wait in line: power.ts churnLimited); 0: no limit
 *   "maxUnbondingEntries": 7,          unbondings in flight per validator
 *   "maxEvidencePerBlock": 8,          evidence transactions executed per block; more fail
 *   "trustingPeriod": 66,              blocks a light client may skip from a set it trusts
 *                                      (default ⌊2/3 of the unbonding period⌋; below it)
 *   "doubleSign": { "slashPermille": 50, "penalty": "tombstone" | "jail", "jailBlocks": 100 }
 * }
 */
import { formatAddress, parseAddress } from '../address.ts';
import { MAX_AMOUNT } from '../tx.ts';

export type StakingMode = 'permissioned' | 'open';
export type DoubleSignPenalty = 'tombstone' | 'jail';

export interface StakingConfig {
  readonly mode: StakingMode;
  readonly allow: readonly Uint8Array[];
  readonly epochLength: number;
  readonly unbondingPeriod: number;
  readonly powerUnit: bigint;
  readonly maxValidators: number;
  /** Validators that may join, and that may leave of their own accord, per epoch; 0: any number. */
  readonly churnLimit: number;
  readonly maxUnbondingEntries: number;
  readonly maxEvidencePerBlock: number;
  /** Blocks a light client may skip ahead from a set it trusts (below the unbonding period). */
  readonly trustingPeriod: number;
  readonly doubleSign: {
    readonly slashPermille: number;
    readonly penalty: DoubleSignPenalty;
    readonly jailBlocks: number;
  };
}

/** Candidates registered over a chain's life: the registry is one state entry, rewritten on change. */
export const MAX_REGISTERED_VALIDATORS = 1024;
export const MAX_SET_SIZE = 1024;

export const STAKING_DEFAULTS = Object.freeze({
  mode: 'permissioned' as StakingMode,
  epochLength: 20,
  unbondingPeriod: 100,
  powerUnit: 1000n,
  maxValidators: 64,
  churnLimit: 0,
  maxUnbondingEntries: 7,
  maxEvidencePerBlock: 8,
  slashPermille: 50,
  penalty: 'tombstone' as DoubleSignPenalty,
  jailBlocks: 100,
});

/** `fail(path, reason)` throws the caller's typed error (genesis parsing: GENESIS_INVALID). */
export function parseStakingConfig(
  raw: unknown,
  fail: (path: string, reason: string) => Error,
): StakingConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw fail('staking', 'must be an object');
  const o = raw as Record<string, unknown>;
  const known = [
    'mode',
    'allow',
    'epochLength',
    'unbondingPeriod',
    'powerUnit',
    'maxValidators',
    'churnLimit',
    'maxUnbondingEntries',
    'maxEvidencePerBlock',
    'trustingPeriod',
    'doubleSign',
  ];
  for (const k of Object.keys(o))
    if (!known.includes(k)) throw fail(`staking.${k}`, `unknown setting (known: ${known.join(', ')})`);
  const int = (key: string, v: unknown, def: number, min: number, max: number): number => {
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
      throw fail(`staking.${key}`, `must be an integer in ${min}..${max}`);
    return v;
  };
  const mode = o.mode ?? STAKING_DEFAULTS.mode;
  if (mode !== 'permissioned' && mode !== 'open')
    throw fail('staking.mode', 'must be "permissioned" or "open"');
  if (!Array.isArray(o.allow ?? [])) throw fail('staking.allow', 'must be an array of addresses');
  const allowRaw = (o.allow ?? []) as unknown[];
  if (allowRaw.length > MAX_REGISTERED_VALIDATORS)
    throw fail('staking.allow', `at most ${MAX_REGISTERED_VALIDATORS} addresses`);
  const allow = allowRaw.map((a, i) => {
    try {
      return parseAddress(String(a));
    } catch (e) {
      throw fail(`staking.allow[${i}]`, (e as Error).message);
    }
  });
  if (mode === 'open' && allow.length > 0)
    throw fail('staking.allow', 'an allow-list means nothing in open mode: remove it or use "permissioned"');
  const epochLength = int('epochLength', o.epochLength, STAKING_DEFAULTS.epochLength, 1, 1_000_000);
  const unbondingPeriod = int(
    'unbondingPeriod',
    o.unbondingPeriod,
    STAKING_DEFAULTS.unbondingPeriod,
    1,
    100_000_000,
  );
  // Evidence of epoch e is accepted for unbondingPeriod blocks from the epoch's start; a period
  // shorter than two epochs would let evidence from late in an epoch expire before it is seen.
  if (unbondingPeriod < 2 * epochLength)
    throw fail('staking.unbondingPeriod', `must be at least two epochs (${2 * epochLength} blocks)`);
  let powerUnit: bigint = STAKING_DEFAULTS.powerUnit;
  if (o.powerUnit !== undefined) {
    if (typeof o.powerUnit !== 'string' || !/^[1-9][0-9]{0,38}$/.test(o.powerUnit))
      throw fail('staking.powerUnit', 'must be a positive decimal string');
    powerUnit = BigInt(o.powerUnit) as bigint;
    if (powerUnit > MAX_AMOUNT) throw fail('staking.powerUnit', 'exceeds 2^128-1');
  }
  // Skipping verification trusts >1/3 of a set for this long: their stake must still be
  // slashable, so strictly less than the unbonding period (CometBFT's default is 2/3 of it).
  const trustingPeriod = int(
    'trustingPeriod',
    o.trustingPeriod,
    Math.max(1, Math.floor((2 * unbondingPeriod) / 3)),
    1,
    unbondingPeriod - 1,
  );
  const ds = o.doubleSign ?? {};
  if (typeof ds !== 'object' || ds === null || Array.isArray(ds))
    throw fail('staking.doubleSign', 'must be an object');
  const d = ds as Record<string, unknown>;
  for (const k of Object.keys(d))
    if (!['slashPermille', 'penalty', 'jailBlocks'].includes(k))
      throw fail(`staking.doubleSign.${k}`, 'unknown setting (known: slashPermille, penalty, jailBlocks)');
  const penalty = d.penalty ?? STAKING_DEFAULTS.penalty;
  if (penalty !== 'tombstone' && penalty !== 'jail')
    throw fail('staking.doubleSign.penalty', 'must be "tombstone" or "jail"');
  return {
    mode,
    allow,
    epochLength,
    unbondingPeriod,
    powerUnit,
    maxValidators: int('maxValidators', o.maxValidators, STAKING_DEFAULTS.maxValidators, 1, MAX_SET_SIZE),
    churnLimit: int('churnLimit', o.churnLimit, STAKING_DEFAULTS.churnLimit, 0, MAX_SET_SIZE),
    maxUnbondingEntries: int(
      'maxUnbondingEntries',
      o.maxUnbondingEntries,
      STAKING_DEFAULTS.maxUnbondingEntries,
      1,
      64,
    ),
    trustingPeriod,
    maxEvidencePerBlock: int(
      'maxEvidencePerBlock',
      o.maxEvidencePerBlock,
      STAKING_DEFAULTS.maxEvidencePerBlock,
      0,
      64,
    ),
    doubleSign: {
      slashPermille: int(
        'doubleSign.slashPermille',
        d.slashPermille,
        STAKING_DEFAULTS.slashPermille,
        0,
        1000,
      ),
      penalty,
      jailBlocks: int('doubleSign.jailBlocks', d.jailBlocks, STAKING_DEFAULTS.jailBlocks, 1, 100_000_000),
    },
  };
}

export function stakingConfigToJson(c: StakingConfig): Record<string, unknown> {
  return {
    mode: c.mode,
    ...(c.allow.length === 0 ? {} : { allow: c.allow.map(formatAddress) }),
    epochLength: c.epochLength,
    unbondingPeriod: c.unbondingPeriod,
    powerUnit: c.powerUnit.toString(),
    maxValidators: c.maxValidators,
    ...(c.churnLimit === 0 ? {} : { churnLimit: c.churnLimit }),
    maxUnbondingEntries: c.maxUnbondingEntries,
    maxEvidencePerBlock: c.maxEvidencePerBlock,
    trustingPeriod: c.trustingPeriod,
    doubleSign: { ...c.doubleSign },
  };
}

/** The epoch of block `height`: epoch e holds heights e·L + 1 … (e+1)·L (genesis is in epoch 0). */
export function epochOf(height: number, epochLength: number): number {
  return height <= 0 ? 0 : Math.floor((height - 1) / epochLength);
}

/** Whether block `height` is its epoch's last: the next epoch's set is computed at its end. */
export function isEpochEnd(height: number, epochLength: number): boolean {
  return height > 0 && height % epochLength === 0;
}

/** First block of epoch `epoch`. */
export function epochStart(epoch: number, epochLength: number): number {
  return epoch * epochLength + 1;
}
