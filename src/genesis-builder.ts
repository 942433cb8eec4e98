/**
 * Creates a new chain: validator keys, funded account keys and the genesis file, laid out as
 * one home directory per validator (what `verity genesis init` and `verity testnet` write).
 *
 *   OUT/genesis.json
 *   OUT/node<i>/keys/ed25519.json   validator vote key = libp2p identity
 *   OUT/node<i>/keys/bls.json       BLS key (aggregate QCs); its proof of possession is in genesis
 *   OUT/node<i>/keys/bls-share.json threshold-BLS share (only with a threshold deal)
 *   OUT/node<i>/keys/vrf.json       ECVRF key (sortition, randomness); its public key is in genesis
 *   OUT/accounts/account<i>.json    funded ed25519 account keys
 *
 * Two phases, so that a bad option never leaves partial output: `planChain` validates every input
 * (chain id, counts, balance, the engine against this build's registry and its parameters) and
 * builds all keys and the genesis in memory; `writeChain` then writes the files — by default
 * refusing (before writing anything) if any of them exists, since rewriting a key file replaces
 * a validator identity or an account's funds.
 *
 * The threshold deal uses a trusted dealer (this process): acceptable for a permissioned testnet
 * whose operator creates every key anyway; production would run a DKG.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { engineNames, getEngine } from '../consensus/registry.ts';
import { bls } from '../crypto/bls/index.ts';
import { utf8 } from '../crypto/bytes.ts';
import { ed25519 } from '../crypto/ed25519.ts';
import { VerityError } from '../crypto/errors.ts';
import type { KeyMaterial } from '../crypto/keyfile.ts';
import { vrf } from '../crypto/vrf.ts';
import { addressFromPublicKey, formatAddress } from '../ledger/address.ts';
import { type EngineParams, genesisToJson, parseGenesis } from '../ledger/genesis.ts';
import { MAX_AMOUNT, MAX_CHAIN_ID_LENGTH } from '../ledger/tx.ts';
import { peerIdFromEd25519, type ValidatorSet } from '../ledger/validators.ts';
import { saveKey, writeFileAtomic } from './keystore.ts';

/**
 * INVALID_OPTIONS: an input is out of range or names something this build does not have.
 * OUTPUT_EXISTS: a file the build would write is already there (and overwriting was not asked for).
 * Both carry `meta.usage` (the CLI exits 2).
 */
export class GenesisBuildError extends VerityError<'INVALID_OPTIONS' | 'OUTPUT_EXISTS'> {}

function invalid(message: string): GenesisBuildError {
  return new GenesisBuildError('INVALID_OPTIONS', message, { usage: true });
}

/** Most validators a genesis holds (ledger/genesis.ts). */
export const MAX_VALIDATORS = 1024;
export const MAX_ACCOUNTS = 100_000;

export interface GenesisBuildOptions {
  readonly chainId: string;
  readonly validators: number;
  readonly engine: string;
  readonly engineParams?: EngineParams;
  readonly accounts?: number;
  readonly balance?: bigint;
  readonly genesisTime: number;
  /** Deal a threshold-BLS key (t = ⌊2n/3⌋+1) for constant-size certificates. */
  readonly threshold?: boolean;
  readonly out: string;
  readonly passphrase?: string;
  readonly power?: (index: number) => number;
  /**
   * Genesis `staking` (ledger/staking/config.ts): the set changes by stake. In permissioned mode
   * (the default) the candidates' addresses are added to `allow`.
   */
  readonly staking?: Record<string, unknown>;
  /**
   * Nodes with validator keys that genesis does not list, funded so they can register and bond
   * (`staking` only): homes node<n> … node<n+c−1>.
   */
  readonly candidates?: number;
  /** Replace existing files instead of refusing with OUTPUT_EXISTS. */
  readonly overwrite?: boolean;
}

export interface BuiltChain {
  readonly genesisPath: string;
  readonly genesisJson: Record<string, unknown>;
  readonly nodes: ReadonlyArray<{ name: string; home: string; address: string; peerId: string }>;
  readonly accounts: ReadonlyArray<{ keyFile: string; address: string; balance: string }>;
}

/** Everything a chain's files hold, built and validated in memory; nothing written yet. */
export interface ChainPlan {
  readonly genesisJson: Record<string, unknown>;
  readonly validators: ReadonlyArray<{
    readonly name: string;
    readonly ed25519: KeyMaterial;
    readonly bls: KeyMaterial;
    readonly blsShare?: KeyMaterial;
    readonly vrf: KeyMaterial;
    readonly address: string;
    readonly peerId: string;
    /** Has validator keys, but is not in the genesis set (a staking candidate). */
    readonly candidate?: true;
  }>;
  readonly accounts: ReadonlyArray<{
    readonly key: KeyMaterial;
    readonly address: string;
    readonly balance: string;
  }>;
}

export function nodeHome(out: string, index: number): string {
  return join(out, `node${index}`);
}

/**
 * Checks an engine name and its parameters against this build's registry (what `verity start`
 * will require). Throws GenesisBuildError INVALID_OPTIONS.
 */
/** Checks an engine and its parameters; returns them parsed (defaults filled, and what the engine adds). */
export function checkEngine(
  name: string,
  params: EngineParams = {},
  validators?: ValidatorSet,
): Record<string, string | number | boolean> {
  const engine = typeof name === 'string' ? getEngine(name) : undefined;
  if (engine === undefined)
    throw invalid(`unknown engine "${String(name)}" (known: ${engineNames().join(', ')})`);
  try {
    return engine.parseParams(params, validators);
  } catch (e) {
    throw invalid(e instanceof Error ? e.message : `invalid parameters for engine ${name}`);
  }
}

function checkCount(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    throw invalid(`${what} must be an integer in ${min}..${max}, got ${String(v)}`);
  return v;
}

/** Validates every option and builds the keys and genesis in memory. Writes nothing. */
export function planChain(opts: Omit<GenesisBuildOptions, 'out' | 'overwrite'>): ChainPlan {
  if (typeof opts.chainId !== 'string' || opts.chainId.length === 0)
    throw invalid('the chain id must be a non-empty string');
  if (utf8(opts.chainId).length > MAX_CHAIN_ID_LENGTH)
    throw invalid(`the chain id must be at most ${MAX_CHAIN_ID_LENGTH} bytes (UTF-8)`);
  const n = checkCount(opts.validators, 'the number of validators', 1, MAX_VALIDATORS);
  const accountCount = checkCount(opts.accounts ?? 4, 'the number of accounts', 0, MAX_ACCOUNTS);
  const balance = opts.balance ?? 1_000_000_000n;
  if (typeof balance !== 'bigint' || balance < 0n || balance > MAX_AMOUNT)
    throw invalid('the account balance must be an integer in 0..2^128-1');
  checkCount(opts.genesisTime, 'the genesis time', 0, Number.MAX_SAFE_INTEGER);
  if (opts.passphrase !== undefined && typeof opts.passphrase !== 'string')
    throw invalid('the passphrase must be a string');
  const engineParams = opts.engineParams ?? {};
  checkEngine(opts.engine, engineParams);
  const threshold = opts.threshold === true || engineParams.qc === 'threshold';
  const candidates = checkCount(opts.candidates ?? 0, 'the number of candidates', 0, MAX_VALIDATORS);
  if (candidates > 0 && opts.staking === undefined)
    throw invalid('candidates join a chain with staking only: give a staking section too');

  const edKeys: KeyMaterial[] = [];
  const blsKeys: KeyMaterial[] = [];
  const vrfKeys: KeyMaterial[] = [];
  for (let i = 0; i < n + candidates; i++) {
    edKeys.push({ type: 'ed25519', ...ed25519.keygen() });
    blsKeys.push({ type: 'bls12-381', ...bls.keygen(new Uint8Array(randomBytes(32))) });
    // Its own random seed: a VRF key derived from the ed25519 one would tie the two together.
    const vrfSecret = new Uint8Array(randomBytes(32));
    vrfKeys.push({
      type: 'ecvrf-edwards25519',
      secretKey: vrfSecret,
      publicKey: vrf.publicKeyFromSecret(vrfSecret),
    });
  }
  const deal = threshold
    ? bls.threshold.deal(Math.floor((2 * n) / 3) + 1, n, new Uint8Array(randomBytes(32)))
    : undefined;
  const validators = edKeys.map((ed, i) => {
    const share = deal?.shares[i];
    return {
      name: `node${i}`,
      ed25519: ed,
      bls: blsKeys[i] as KeyMaterial,
      vrf: vrfKeys[i] as KeyMaterial,
      ...(share === undefined
        ? {}
        : {
            blsShare: {
              type: 'bls12-381-threshold-share',
              secretKey: share.secretKey,
              publicKey: share.publicKey,
              extra: { index: share.index },
            } satisfies KeyMaterial,
          }),
      address: formatAddress(addressFromPublicKey(ed.publicKey)),
      peerId: peerIdFromEd25519(ed.publicKey),
      ...(i >= n ? { candidate: true as const } : {}),
    };
  });
  const candidateAddresses = validators.filter((v) => v.candidate === true).map((v) => v.address);
  const accounts = [];
  for (let i = 0; i < accountCount; i++) {
    const key: KeyMaterial = { type: 'ed25519', ...ed25519.keygen() };
    accounts.push({
      key,
      address: formatAddress(addressFromPublicKey(key.publicKey)),
      balance: balance.toString(),
    });
  }

  const raw = {
    version: 1,
    chainId: opts.chainId,
    genesisTime: opts.genesisTime,
    engine: { name: opts.engine, params: engineParams },
    validators: edKeys.slice(0, n).map((ed, i) => {
      const b = blsKeys[i] as KeyMaterial;
      return {
        name: `node${i}`,
        publicKey: Buffer.from(ed.publicKey).toString('hex'),
        blsPublicKey: Buffer.from(b.publicKey).toString('hex'),
        blsPop: Buffer.from(bls.popProve(b.secretKey)).toString('hex'),
        peerId: peerIdFromEd25519(ed.publicKey),
        power: opts.power?.(i) ?? 1,
        vrfPublicKey: Buffer.from((vrfKeys[i] as KeyMaterial).publicKey).toString('hex'),
      };
    }),
    ...(deal === undefined
      ? {}
      : {
          threshold: {
            threshold: deal.threshold,
            groupPublicKey: Buffer.from(deal.groupPublicKey).toString('hex'),
            commitments: deal.commitments.map((c) => Buffer.from(c).toString('hex')),
            sharePublicKeys: deal.shares.map((s) => Buffer.from(s.publicKey).toString('hex')),
          },
        }),
    accounts: [
      ...accounts.map((a) => ({ address: a.address, balance: a.balance })),
      ...candidateAddresses.map((address) => ({ address, balance: balance.toString() })),
    ],
    records: [],
    ...(opts.staking === undefined
      ? {}
      : {
          staking:
            (opts.staking.mode ?? 'permissioned') === 'permissioned'
              ? {
                  ...opts.staking,
                  allow: [...((opts.staking.allow as string[] | undefined) ?? []), ...candidateAddresses],
                }
              : opts.staking,
        }),
  };
  // Round-trip through the strict parser: never write a genesis this build would refuse to load.
  let genesisJson: Record<string, unknown>;
  try {
    genesisJson = genesisToJson(parseGenesis(raw));
  } catch (e) {
    throw invalid(`the genesis would not load: ${(e as Error).message}`);
  }
  return { genesisJson, validators, accounts };
}

/** Every file `writeChain` writes for `plan` under `out`. */
export function chainFiles(out: string, plan: ChainPlan): string[] {
  const files = [join(out, 'genesis.json')];
  for (const [i, v] of plan.validators.entries()) {
    const home = nodeHome(out, i);
    files.push(
      join(home, 'keys', 'ed25519.json'),
      join(home, 'keys', 'bls.json'),
      join(home, 'keys', 'vrf.json'),
    );
    if (v.blsShare !== undefined) files.push(join(home, 'keys', 'bls-share.json'));
    files.push(join(home, 'genesis.json'));
  }
  for (let i = 0; i < plan.accounts.length; i++) files.push(join(out, 'accounts', `account${i}.json`));
  return files;
}

/** Throws OUTPUT_EXISTS naming the first of `paths` that exists. */
export function refuseExisting(paths: readonly string[]): void {
  for (const p of paths) {
    if (existsSync(p)) {
      throw new GenesisBuildError('OUTPUT_EXISTS', `${p} already exists`, { path: p, usage: true });
    }
  }
}

/**
 * Writes a planned chain under `out`. Unless `overwrite`, refuses (OUTPUT_EXISTS, before writing
 * anything) if any file exists, creates each file exclusively, and on a failure part-way removes
 * the files it created.
 */
export async function writeChain(
  out: string,
  plan: ChainPlan,
  opts: { overwrite?: boolean; passphrase?: string } = {},
): Promise<BuiltChain> {
  const overwrite = opts.overwrite === true;
  if (!overwrite) refuseExisting(chainFiles(out, plan));
  const keyOpts = { overwrite, ...(opts.passphrase === undefined ? {} : { passphrase: opts.passphrase }) };
  const written: string[] = [];
  const key = async (path: string, k: KeyMaterial) => {
    await saveKey(path, k, keyOpts);
    written.push(path);
  };
  const file = async (path: string, text: string) => {
    await writeFileAtomic(path, text, 0o644, { exclusive: !overwrite });
    written.push(path);
  };
  try {
    const nodes = [];
    for (const [i, v] of plan.validators.entries()) {
      const home = nodeHome(out, i);
      await key(join(home, 'keys', 'ed25519.json'), v.ed25519);
      await key(join(home, 'keys', 'bls.json'), v.bls);
      await key(join(home, 'keys', 'vrf.json'), v.vrf);
      if (v.blsShare !== undefined) await key(join(home, 'keys', 'bls-share.json'), v.blsShare);
      nodes.push({ name: v.name, home, address: v.address, peerId: v.peerId });
    }
    const accounts = [];
    for (const [i, a] of plan.accounts.entries()) {
      const keyFile = join(out, 'accounts', `account${i}.json`);
      await key(keyFile, a.key);
      accounts.push({ keyFile, address: a.address, balance: a.balance });
    }
    const text = `${JSON.stringify(plan.genesisJson, null, 2)}\n`;
    for (const node of nodes) await file(join(node.home, 'genesis.json'), text);
    const genesisPath = join(out, 'genesis.json');
    await file(genesisPath, text);
    return { genesisPath, genesisJson: plan.genesisJson, nodes, accounts };
  } catch (e) {
    // Only what this call created; with overwrite the old files are gone either way.
    if (!overwrite) for (const p of written) await unlink(p).catch(() => {});
    if (e instanceof VerityError && e.code === 'FILE_EXISTS')
      throw new GenesisBuildError('OUTPUT_EXISTS', e.message, { ...e.meta, usage: true });
    throw e;
  }
}

export async function buildChain(opts: GenesisBuildOptions): Promise<BuiltChain> {
  const plan = planChain(opts);
  return writeChain(opts.out, plan, {
    overwrite: opts.overwrite === true,
    ...(opts.passphrase === undefined ? {} : { passphrase: opts.passphrase }),
  });
}
