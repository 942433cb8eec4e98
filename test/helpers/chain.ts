/** Deterministic test chains: validators and accounts from fixed seeds, certificates signed locally. */

import { bls } from '../../crypto/bls/index.ts';
import { concatBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { addressFromPublicKey, formatAddress } from '../../ledger/address.ts';
import {
  commitVoteBytes,
  LEDGER_CERTIFICATE_SCHEMES,
  type QuorumCertificate,
} from '../../ledger/certificate.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { type Genesis, parseGenesis } from '../../ledger/genesis.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { peerIdFromEd25519 } from '../../ledger/validators.ts';

export interface TestKey {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly address: Uint8Array;
}

export function testKey(label: string): TestKey {
  const k = ed25519.keygen(sha256(utf8(`test-key:${label}`)));
  return { ...k, address: addressFromPublicKey(k.publicKey) };
}

export interface TestChain {
  readonly genesis: Genesis;
  readonly genesisJson: Record<string, unknown>;
  readonly validators: TestKey[];
  readonly blsKeys: Array<{ secretKey: Uint8Array; publicKey: Uint8Array }>;
  readonly accounts: TestKey[];
}

const blsCache = new Map<string, { secretKey: Uint8Array; publicKey: Uint8Array; pop: Uint8Array }>();
function blsKey(label: string) {
  let k = blsCache.get(label);
  if (k === undefined) {
    const kp = bls.keygen(sha256(utf8(`test-bls:${label}`)));
    k = { ...kp, pop: bls.popProve(kp.secretKey) };
    blsCache.set(label, k);
  }
  return k;
}

export function makeTestChain(
  opts: {
    validators?: number;
    accounts?: number;
    balance?: bigint;
    chainId?: string;
    engine?: string;
    powers?: number[];
    label?: string;
  } = {},
): TestChain {
  const n = opts.validators ?? 4;
  const label = opts.label ?? 'chain';
  const validators = Array.from({ length: n }, (_, i) => testKey(`${label}:validator:${i}`));
  const blsKeys = validators.map((_, i) => blsKey(`${label}:${i}`));
  const accounts = Array.from({ length: opts.accounts ?? 4 }, (_, i) => testKey(`${label}:account:${i}`));
  const genesisJson = {
    version: 1,
    chainId: opts.chainId ?? 'test-chain',
    genesisTime: 1_700_000_000_000,
    engine: { name: opts.engine ?? 'tendermint', params: {} },
    validators: validators.map((v, i) => ({
      name: `v${i}`,
      publicKey: toHex(v.publicKey),
      blsPublicKey: toHex((blsKeys[i] as { publicKey: Uint8Array }).publicKey),
      blsPop: toHex((blsKeys[i] as { pop: Uint8Array }).pop),
      peerId: peerIdFromEd25519(v.publicKey),
      power: opts.powers?.[i] ?? 1,
    })),
    accounts: accounts.map((a) => ({
      address: formatAddress(a.address),
      balance: (opts.balance ?? 1_000_000n).toString(),
    })),
    records: [],
  };
  return { genesis: parseGenesis(genesisJson), genesisJson, validators, blsKeys, accounts };
}

/** Signs a commit certificate for `blockHash` with the given validator indices. */
export function quorumCertificate(
  chain: TestChain,
  height: number,
  blockHash: Uint8Array,
  signers: number[] = chain.validators.map((_, i) => i),
  round = 0,
): QuorumCertificate {
  const msg = commitVoteBytes(chain.genesis.chainId, height, round, blockHash);
  return {
    kind: 'ed25519-quorum',
    height,
    blockHash,
    round,
    votes: [...signers]
      .sort((a, b) => a - b)
      .map((i) => ({
        validator: i,
        signature: ed25519.sign(msg, (chain.validators[i] as TestKey).secretKey),
      })),
  };
}

export function label(...parts: Array<string | number>): Uint8Array {
  return concatBytes(utf8(parts.join(':')));
}

/**
 * An in-memory chain store of `height` committed blocks, each one transfer from account 0 to
 * account 1, proposed by validator 0 at `startMs` + height seconds + `skewMs` (two chains built
 * with different skews differ from block 1 on) and certified by every validator.
 */
export async function certifiedChain(
  chain: TestChain,
  height: number,
  opts: { startMs?: number; skewMs?: number } = {},
): Promise<ChainStore> {
  const store = await ChainStore.open(new MemoryKvStore(), chain.genesis, {
    schemes: LEDGER_CERTIFICATE_SCHEMES,
  });
  const [a, b] = chain.accounts as [TestKey, TestKey];
  for (let h = 1; h <= height; h++) {
    const tx = signTransaction(
      {
        chainId: chain.genesis.chainId,
        sender: a.publicKey,
        nonce: h - 1,
        op: { type: 'transfer', to: b.address, amount: 1n },
      },
      a.secretKey,
    );
    const executed = await store.propose({
      txs: [tx],
      time: { ms: (opts.startMs ?? 1_700_000_000_000) + h * 1000 + (opts.skewMs ?? 0), logical: 0 },
      proposer: (chain.validators[0] as TestKey).address,
      engineData: new Uint8Array(0),
    });
    await store.commit(executed, quorumCertificate(chain, h, executed.hash));
  }
  return store;
}
