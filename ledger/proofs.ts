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
import { epochSetKey } from './staking/records.ts';
import { accountKey, recordKey } from './state.ts';

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

/**
 * The version and epoch transitions a bundle anchored at `height` needs (bundle.ts): none in
 * epoch 0; on a chain whose set changes, every transition from genesis to the height's epoch.
 */
async function epochsFor(
  chain: ChainStore,
  height: number,
): Promise<{ version: number; epochs?: EpochTransitionJson[] }> {
  const staking = chain.genesis.staking;
  const upTo = chain.epochOf(height);
  if (staking === undefined || upTo === 0) return { version: BUNDLE_VERSION };
  const epochs: EpochTransitionJson[] = [];
  for (let k = 1; k <= upTo; k++) {
    const at = k * staking.epochLength;
    const state = await chain.stateAt(at);
    epochs.push({
      ...(await certified(chain, at)),
      proof: proofToJson(await state.trie.createProof(epochSetKey(k))),
    });
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
): Promise<AccountProofJson> {
  const h = anchorHeight(chain, height);
  const state = await chain.stateAt(h);
  const proof = await state.trie.createProof(accountKey(address));
  const { version, epochs } = await epochsFor(chain, h);
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
