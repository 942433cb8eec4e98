/**
 * The simulator's fixed world: validator keys, funded accounts and the genesis of a simulated
 * chain (cached per engine, parameters and size), and a memoised signature verifier — every
 * node verifies the same broadcast, and the answer is a pure function of its inputs.
 */
import type { SignatureVerifier } from '../../consensus/envelope.ts';
import { getEngine } from '../../consensus/registry.ts';
import { bls } from '../../crypto/bls/index.ts';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { vrf } from '../../crypto/vrf.ts';
import { addressFromPublicKey, formatAddress } from '../../ledger/address.ts';
import { type EngineParams, type Genesis, parseGenesis } from '../../ledger/genesis.ts';
import { peerIdFromEd25519 } from '../../ledger/validators.ts';

export const GENESIS_TIME = 1_700_000_000_000;

export interface ValidatorKeyset {
  readonly ed: { secretKey: Uint8Array; publicKey: Uint8Array };
  readonly bls: { secretKey: Uint8Array; publicKey: Uint8Array; pop: Uint8Array };
  readonly vrf: { secretKey: Uint8Array; publicKey: Uint8Array };
}

const keyCache = new Map<number, ValidatorKeyset>();
export function validatorKeys(i: number): ValidatorKeyset {
  let k = keyCache.get(i);
  if (k === undefined) {
    const ed = ed25519.keygen(sha256(utf8(`sim-validator-${i}`)));
    const b = bls.keygen(sha256(utf8(`sim-validator-bls-${i}`)));
    const vrfSecret = sha256(utf8(`sim-validator-vrf-${i}`));
    k = {
      ed,
      bls: { ...b, pop: bls.popProve(b.secretKey) },
      vrf: { secretKey: vrfSecret, publicKey: vrf.publicKeyFromSecret(vrfSecret) },
    };
    keyCache.set(i, k);
  }
  return k;
}

export const accountKeys = Array.from({ length: 16 }, (_, i) =>
  ed25519.keygen(sha256(utf8(`sim-account-${i}`))),
);

const genesisCache = new Map<string, { genesis: Genesis; deal?: ReturnType<typeof bls.threshold.deal> }>();
export function simGenesis(
  engine: string,
  params: EngineParams,
  n: number,
  /**
   * Genesis `staking` (ledger/staking/config.ts): the set can change by epoch. The first
   * `fundValidators` validator keys (genesis validators and candidates beyond them) get a balance.
   */
  staking?: { readonly config: Record<string, unknown>; readonly fundValidators: number },
): { genesis: Genesis; deal?: ReturnType<typeof bls.threshold.deal> } {
  const key = JSON.stringify([engine, params, n, staking ?? null]);
  const cached = genesisCache.get(key);
  if (cached) return cached;
  const threshold = params.qc === 'threshold';
  // VRF keys only for the engines that draw with them: the others' genesis (and so every
  // simulated run of theirs) stays exactly what it was.
  const withVrf = getEngine(engine)?.requiresVrfKeys === true;
  const deal = threshold
    ? bls.threshold.deal(Math.floor((2 * n) / 3) + 1, n, sha256(utf8(`sim-deal-${n}`)))
    : undefined;
  const json = {
    version: 1,
    chainId: 'sim',
    genesisTime: GENESIS_TIME,
    engine: { name: engine, params },
    validators: Array.from({ length: n }, (_, i) => {
      const k = validatorKeys(i);
      return {
        name: `v${i}`,
        publicKey: toHex(k.ed.publicKey),
        blsPublicKey: toHex(k.bls.publicKey),
        blsPop: toHex(k.bls.pop),
        peerId: peerIdFromEd25519(k.ed.publicKey),
        power: 1,
        ...(withVrf ? { vrfPublicKey: toHex(k.vrf.publicKey) } : {}),
      };
    }),
    ...(deal === undefined
      ? {}
      : {
          threshold: {
            threshold: deal.threshold,
            groupPublicKey: toHex(deal.groupPublicKey),
            commitments: deal.commitments.map(toHex),
            sharePublicKeys: deal.shares.map((s) => toHex(s.publicKey)),
          },
        }),
    accounts: [
      ...accountKeys.map((a) => ({
        address: formatAddress(addressFromPublicKey(a.publicKey)),
        balance: '1000000000',
      })),
      ...Array.from({ length: staking?.fundValidators ?? 0 }, (_, i) => ({
        address: formatAddress(addressFromPublicKey(validatorKeys(i).ed.publicKey)),
        balance: '1000000',
      })),
    ],
    records: [],
    ...(staking === undefined ? {} : { staking: staking.config }),
  };
  const result = { genesis: parseGenesis(json), ...(deal === undefined ? {} : { deal }) };
  genesisCache.set(key, result);
  return result;
}

/** Memoised signature checks: every node verifies the same broadcast; the answer is a pure function. */
export function memoVerifier(): SignatureVerifier {
  const memo = new Map<string, boolean>();
  return (sig, msg, pk) => {
    const key = `${toHex(sig)}${toHex(pk)}${toHex(sha256(msg))}`;
    let r = memo.get(key);
    if (r === undefined) {
      r = ed25519.verify(sig, msg, pk);
      if (memo.size > 200_000) memo.clear();
      memo.set(key, r);
    }
    return r;
  };
}
