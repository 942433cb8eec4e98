/**
 * Builds light-client bundles (see bundle.ts) from a chain store: what the node's RPC serves.
 * Every bundle is anchored at a committed, certified header (the head by default).
 */
import { toHex } from '../crypto/bytes.ts';
import { formatAddress } from './address.ts';
import { encodeHeader } from './block.ts';
import {
  type AccountProofJson,
  BUNDLE_VERSION,
  BUNDLE_VERSION_EPOCHS,
  type CertifiedHeaderJson,
  type ConsistencyProofJson,
  type EpochTransitionJson,
  proofToJson,
  type RecordProofJson,
  type TxProofJson,
} from './bundle.ts';
import { encodeCertificate } from './certificate.ts';
import { ChainError, type ChainStore } from './chain.ts';
import { receiptToJson } from './receipt.ts';
import { storedSet } from './staking/lifecycle.ts';
import { encodeValidatorList, epochSetKey } from './staking/records.ts';
import { accountKey, recordKey } from './state.ts';
import type { ValidatorSet } from './validators.ts';

async function certified(chain: ChainStore, height: number): Promise<CertifiedHeaderJson> {
  if (height < 1)
    throw new ChainError('NOT_FOUND', 'proofs need a certified block (height ≥ 1); the chain has none yet');
  const block = await chain.getBlock(height);
  const cert = await chain.getCertificate(height);
  if (block === undefined || cert === undefined)
    throw new ChainError('NOT_FOUND', `no certified block at height ${height}`);
  return {
    header: toHex(encodeHeader(block.header)),
    certificate: toHex(encodeCertificate(cert, chain.schemes)),
  };
}

/** How bundles walk epochs: every transition (sequential), or skipping where a certificate allows. */
export interface BundleOptions {
  /** Default true: skip epochs where the trusting period and the signers' overlap allow. */
  readonly skipping?: boolean;
}

/** The set in force in `epoch`: genesis's, or the one stored at the end of the epoch before. */
async function setOfEpoch(chain: ChainStore, epoch: number, epochLength: number): Promise<ValidatorSet> {
  if (epoch === 0) return chain.genesis.validators;
  const set = await storedSet(await chain.stateAt(epoch * epochLength), epoch);
  if (set === undefined) throw new ChainError('CHAIN_CORRUPT', `no validator set stored for epoch ${epoch}`);
  return set;
}

/**
 * The version and epoch transitions a bundle anchored at `height` needs (bundle.ts): none in
 * epoch 0; on a chain whose set changes, the steps from genesis to the height's epoch — with
 * `skipping`, each as far as the trusting period allows while the certificate's signers hold
 * more than 1/3 of the set trusted so far (else one epoch).
 */
async function epochsFor(
  chain: ChainStore,
  height: number,
  opts: BundleOptions = {},
): Promise<{ version: number; epochs?: EpochTransitionJson[] }> {
  const staking = chain.genesis.staking;
  const upTo = chain.epochOf(height);
  if (staking === undefined || upTo === 0) return { version: BUNDLE_VERSION };
  const L = staking.epochLength;
  const epochs: EpochTransitionJson[] = [];
  let trusted = { epoch: 0, set: chain.genesis.validators, at: 0 };
  while (trusted.epoch < upTo) {
    let to = trusted.epoch + 1;
    let carried: ValidatorSet | undefined;
    if (opts.skipping !== false) {
      const farthest = Math.min(upTo, Math.floor((trusted.at + staking.trustingPeriod) / L));
      for (let k = farthest; k > trusted.epoch + 1; k--) {
        const cert = await chain.getCertificate(k * L);
        const named = cert === undefined ? undefined : chain.schemes.get(cert.kind)?.signers?.(cert);
        if (named === undefined) break;
        const certifying = await setOfEpoch(chain, k - 1, L);
        const overlap = new Set<number>();
        for (const i of named) {
          const v = certifying.at(i);
          const inTrusted = v === undefined ? undefined : trusted.set.byPublicKey(v.publicKey);
          if (inTrusted !== undefined) overlap.add(inTrusted.index);
        }
        if (trusted.set.powerOf(overlap) >= trusted.set.oneHonestPower) {
          to = k;
          carried = certifying;
          break;
        }
      }
    }
    const at = to * L;
    const state = await chain.stateAt(at);
    epochs.push({
      ...(await certified(chain, at)),
      proof: proofToJson(await state.trie.createProof(epochSetKey(to))),
      ...(carried === undefined ? {} : { epoch: to, set: toHex(encodeValidatorList(carried.validators)) }),
    });
    trusted = { epoch: to, set: await setOfEpoch(chain, to, L), at };
  }
  return { version: BUNDLE_VERSION_EPOCHS, epochs };
}

function anchorHeight(chain: ChainStore, height: number | undefined): number {
  const h = height ?? chain.height;
  if (!Number.isSafeInteger(h) || h < 1 || h > chain.height) {
    throw new ChainError('NOT_FOUND', `height ${h} is not a certified height (1..${chain.height})`);
  }
  return h;
}

export async function buildAccountProof(
  chain: ChainStore,
  address: Uint8Array,
  height?: number,
  opts: BundleOptions = {},
): Promise<AccountProofJson> {
  const h = anchorHeight(chain, height);
  const state = await chain.stateAt(h);
  const proof = await state.trie.createProof(accountKey(address));
  const { version, epochs } = await epochsFor(chain, h, opts);
  return {
    version,
    kind: 'account',
    address: formatAddress(address),
    proof: proofToJson(proof),
    ...(await certified(chain, h)),
    ...(epochs === undefined ? {} : { epochs }),
  };
}

export async function buildRecordProof(
  chain: ChainStore,
  key: Uint8Array,
  height?: number,
): Promise<RecordProofJson> {
  const h = anchorHeight(chain, height);
  const state = await chain.stateAt(h);
  const proof = await state.trie.createProof(recordKey(key));
  const { version, epochs } = await epochsFor(chain, h);
  return {
    version,
    kind: 'record',
    key: toHex(key),
    proof: proofToJson(proof),
    ...(await certified(chain, h)),
    ...(epochs === undefined ? {} : { epochs }),
  };
}

export async function buildTxProof(chain: ChainStore, id: Uint8Array, height?: number): Promise<TxProofJson> {
  const loc = await chain.getTxLocation(id);
  if (loc === undefined) throw new ChainError('NOT_FOUND', `transaction ${toHex(id)} is not committed`);
  const h = anchorHeight(chain, height ?? chain.height);
  if (h < loc.height)
    throw new ChainError('NOT_FOUND', `transaction was committed at ${loc.height}, after height ${h}`);
  const block = await chain.getBlock(loc.height);
  const tx = block?.txs[loc.position];
  if (tx === undefined)
    throw new ChainError('CHAIN_CORRUPT', `transaction index points past block ${loc.height}`);
  const anchor = h === chain.height ? chain.head : (await chain.getBlock(h))?.header;
  if (anchor === undefined) throw new ChainError('NOT_FOUND', `no block at ${h}`);
  const proof = await chain.log.inclusionProof(loc.logIndex, anchor.logSize);
  const { version, epochs } = await epochsFor(chain, h);
  return {
    version,
    kind: 'tx',
    tx: toHex(tx),
    height: loc.height,
    receipt: receiptToJson(loc.receipt),
    logIndex: loc.logIndex,
    proof: proofToJson(proof),
    ...(await certified(chain, h)),
    ...(epochs === undefined ? {} : { epochs }),
  };
}

export async function buildConsistencyProof(
  chain: ChainStore,
  from: number,
  to: number,
): Promise<ConsistencyProofJson> {
  const a = anchorHeight(chain, from);
  const b = anchorHeight(chain, to);
  if (a > b) throw new ChainError('NOT_FOUND', `--from ${a} is after --to ${b}`);
  const ha = (await chain.getBlock(a))?.header;
  const hb = (await chain.getBlock(b))?.header;
  if (ha === undefined || hb === undefined) throw new ChainError('NOT_FOUND', 'block missing');
  const proof = await chain.log.consistencyProof(ha.logSize, hb.logSize);
  const { version, epochs } = await epochsFor(chain, b);
  return {
    version,
    kind: 'consistency',
    from: await certified(chain, a),
    to: await certified(chain, b),
    proof: proofToJson(proof),
    ...(epochs === undefined ? {} : { epochs }),
  };
}
