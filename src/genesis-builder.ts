/**
 * Creates a new chain: validator keys, funded account keys and the genesis file, laid out as
 * one home directory per validator (what `verity genesis init` and `verity testnet` write).
 *
 *   OUT/genesis.json
 *   OUT/node<i>/keys/ed25519.json   validator vote key = libp2p identity
 *   OUT/node<i>/keys/bls.json       BLS key (aggregate QCs); its proof of possession is in genesis
 *   OUT/node<i>/keys/bls-share.json threshold-BLS share (only with a threshold deal)
 *   OUT/accounts/account<i>.json    funded ed25519 account keys
 *
 * The threshold deal uses a trusted dealer (this process): acceptable for a permissioned testnet
 * whose operator creates every key anyway; production would run a DKG.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { bls } from '../crypto/bls/index.ts';
import { ed25519 } from '../crypto/ed25519.ts';
import type { KeyMaterial } from '../crypto/keyfile.ts';
import { addressFromPublicKey, formatAddress } from '../ledger/address.ts';
import { type EngineParams, genesisToJson, parseGenesis } from '../ledger/genesis.ts';
import { peerIdFromEd25519 } from '../ledger/validators.ts';
import { saveKey, writeFileAtomic } from './keystore.ts';

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
}

export interface BuiltChain {
  readonly genesisPath: string;
  readonly genesisJson: Record<string, unknown>;
  readonly nodes: ReadonlyArray<{ name: string; home: string; address: string; peerId: string }>;
  readonly accounts: ReadonlyArray<{ keyFile: string; address: string; balance: string }>;
}

export function nodeHome(out: string, index: number): string {
  return join(out, `node${index}`);
}

export async function buildChain(opts: GenesisBuildOptions): Promise<BuiltChain> {
  const n = opts.validators;
  const keyOpts = opts.passphrase === undefined ? {} : { passphrase: opts.passphrase };
  const edKeys: KeyMaterial[] = [];
  const blsKeys: KeyMaterial[] = [];
  for (let i = 0; i < n; i++) {
    edKeys.push({ type: 'ed25519', ...ed25519.keygen() });
    blsKeys.push({ type: 'bls12-381', ...bls.keygen(new Uint8Array(randomBytes(32))) });
  }
  const deal = opts.threshold
    ? bls.threshold.deal(Math.floor((2 * n) / 3) + 1, n, new Uint8Array(randomBytes(32)))
    : undefined;

  const nodes = [];
  for (let i = 0; i < n; i++) {
    const home = nodeHome(opts.out, i);
    const ed = edKeys[i] as KeyMaterial;
    await saveKey(join(home, 'keys', 'ed25519.json'), ed, keyOpts);
    await saveKey(join(home, 'keys', 'bls.json'), blsKeys[i] as KeyMaterial, keyOpts);
    const share = deal?.shares[i];
    if (share !== undefined) {
      await saveKey(
        join(home, 'keys', 'bls-share.json'),
        {
          type: 'bls12-381-threshold-share',
          secretKey: share.secretKey,
          publicKey: share.publicKey,
          extra: { index: share.index },
        },
        keyOpts,
      );
    }
    nodes.push({
      name: `node${i}`,
      home,
      address: formatAddress(addressFromPublicKey(ed.publicKey)),
      peerId: peerIdFromEd25519(ed.publicKey),
    });
  }

  const balance = opts.balance ?? 1_000_000_000n;
  const accounts = [];
  for (let i = 0; i < (opts.accounts ?? 4); i++) {
    const key: KeyMaterial = { type: 'ed25519', ...ed25519.keygen() };
    const keyFile = join(opts.out, 'accounts', `account${i}.json`);
    await saveKey(keyFile, key, keyOpts);
    accounts.push({
      keyFile,
      address: formatAddress(addressFromPublicKey(key.publicKey)),
      balance: balance.toString(),
    });
  }

  const raw = {
    version: 1,
    chainId: opts.chainId,
    genesisTime: opts.genesisTime,
    engine: { name: opts.engine, params: opts.engineParams ?? {} },
    validators: edKeys.map((ed, i) => {
      const b = blsKeys[i] as KeyMaterial;
      return {
        name: `node${i}`,
        publicKey: Buffer.from(ed.publicKey).toString('hex'),
        blsPublicKey: Buffer.from(b.publicKey).toString('hex'),
        blsPop: Buffer.from(bls.popProve(b.secretKey)).toString('hex'),
        peerId: peerIdFromEd25519(ed.publicKey),
        power: opts.power?.(i) ?? 1,
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
    accounts: accounts.map((a) => ({ address: a.address, balance: a.balance })),
    records: [],
  };
  // Round-trip through the strict parser: never write a genesis this build would refuse to load.
  const genesisJson = genesisToJson(parseGenesis(raw));
  const genesisPath = join(opts.out, 'genesis.json');
  await writeFileAtomic(genesisPath, `${JSON.stringify(genesisJson, null, 2)}\n`);
  for (const node of nodes)
    await writeFileAtomic(join(node.home, 'genesis.json'), `${JSON.stringify(genesisJson, null, 2)}\n`);
  return { genesisPath, genesisJson, nodes, accounts };
}
