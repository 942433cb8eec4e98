/**
 * Light-client proof bundles: self-contained JSON documents that anyone can verify offline,
 * trusting only the genesis file. Every byte that matters is carried as hex of its canonical
 * encoding (header, certificate, transaction), so the verifier re-derives every hash itself and
 * any tampered byte is caught.
 *
 *  - account / record: value or absence + Merkle-Patricia proof against header.stateRoot
 *  - tx: transaction + receipt + log index + RFC 9162 inclusion proof against (logSize, logRoot)
 *  - consistency: RFC 9162 consistency proof between the logs of two certified headers
 * Each carries the header(s) and commit certificate(s); `verifyBundle` checks the certificate
 * against the trusted validator set first, then the Merkle proof against the certified roots.
 *
 * On a chain whose set changes by epoch (genesis `staking`), a header of epoch E > 0 is certified
 * by that epoch's set, which genesis does not name. Version 2 bundles carry `epochs`: for each
 * epoch k = 1 … E, the certified header of block k·L (epoch k − 1's last, certified by the set
 * of epoch k − 1) and a state proof of epoch k's set in it. The verifier walks them from the
 * genesis set, so it still trusts genesis alone (sequential verification: one transition per
 * epoch; CometBFT's skipping verification is not built yet).
 *
 * The JSON form is canonical, so that one bundle has one text: hex is lower-case without `0x`,
 * addresses are in their canonical (lower-case Bech32m) form, and no object carries a key this
 * version does not define. Anything else is MALFORMED — a verifier that accepted `0xAB` for `ab`
 * would let hundreds of different files "verify" as the same proof.
 */
import { fromHex, fromUtf8, toHex } from '../crypto/bytes.ts';
import { formatAddress, parseAddress } from './address.ts';
import { type BlockHeader, decodeHeader, headerHash } from './block.ts';
import {
  type CertificateSchemes,
  type CommitCertificate,
  decodeCertificate,
  LEDGER_CERTIFICATE_SCHEMES,
  type TrustAnchor,
  verifyCertificate,
} from './certificate.ts';
import { leafHash, verifyConsistency, verifyInclusion } from './log/index.ts';
import { MAX_PROOF_NODE_BYTES, verifyMptProof } from './mpt/index.ts';
import {
  encodeLogEntry,
  RECEIPT_CODES,
  type Receipt,
  receiptCodeNumber,
  receiptFromNumber,
  receiptToJson,
} from './receipt.ts';
import { epochOf } from './staking/config.ts';
import { decodeValidatorList, epochSetKey } from './staking/records.ts';
import { accountKey, decodeAccount, decodeRecord, recordKey } from './state.ts';
import { DEFAULT_MAX_TX_BYTES, decodeTransaction, verifyTransaction } from './tx.ts';
import { operationToJson } from './tx-json.ts';
import { ValidatorSet } from './validators.ts';

export const BUNDLE_VERSION = 1;
/** Bundles that carry epoch transitions (`epochs`). */
export const BUNDLE_VERSION_EPOCHS = 2;
const MAX_EPOCH_TRANSITIONS = 100_000;
const MAX_PROOF_NODES = 128;

export interface CertifiedHeaderJson {
  /** Hex of the canonical header encoding. */
  readonly header: string;
  /** Hex of the canonical certificate encoding. */
  readonly certificate: string;
}

export interface AccountProofJson extends CertifiedHeaderJson {
  readonly version: number;
  readonly kind: 'account';
  readonly address: string;
  /** Hex MPT proof nodes, root first. */
  readonly proof: readonly string[];
}

export interface RecordProofJson extends CertifiedHeaderJson {
  readonly version: number;
  readonly kind: 'record';
  /** Hex of the record key bytes. */
  readonly key: string;
  readonly proof: readonly string[];
}

export interface TxProofJson extends CertifiedHeaderJson {
  readonly version: number;
  readonly kind: 'tx';
  /** Hex of the canonical signed transaction. */
  readonly tx: string;
  /** Height of the block that committed the transaction. */
  readonly height: number;
  readonly receipt: { readonly ok: boolean; readonly code?: string };
  readonly logIndex: number;
  readonly proof: readonly string[];
}

export interface ConsistencyProofJson {
  readonly version: number;
  readonly kind: 'consistency';
  readonly from: CertifiedHeaderJson;
  readonly to: CertifiedHeaderJson;
  readonly proof: readonly string[];
}

/** One epoch transition: block k·L certified by epoch k − 1's set, and epoch k's set proven in its state. */
export interface EpochTransitionJson extends CertifiedHeaderJson {
  /** Hex MPT proof nodes of epoch k's set (ledger/staking/records.ts), root first. */
  readonly proof: readonly string[];
  /** A skip step: the epoch k it reaches, and the certifying set of epoch k − 1 (hex list). */
  readonly epoch?: number;
  readonly set?: string;
}

export type BundleJson = (AccountProofJson | RecordProofJson | TxProofJson | ConsistencyProofJson) & {
  /** Version 2: the transitions from genesis to the epoch of the bundle's header(s). */
  readonly epochs?: readonly EpochTransitionJson[];
};

/** The trust anchor (validator set and signing epoch) of a block at a height. */
type TrustAt = (height: number) => TrustAnchor;

export type BundleErrorCode =
  | 'MALFORMED'
  | 'UNSUPPORTED_VERSION'
  | 'WRONG_CHAIN'
  | 'BAD_CERTIFICATE'
  | 'BAD_PROOF'
  | 'BAD_TRANSACTION';

export type BundleResult =
  | { readonly ok: true; readonly value: Record<string, unknown> }
  | { readonly ok: false; readonly code: BundleErrorCode; readonly reason: string };

class Reject extends Error {
  readonly code: BundleErrorCode;
  constructor(code: BundleErrorCode, reason: string) {
    super(reason);
    this.code = code;
  }
}

function field(o: Record<string, unknown>, name: string): unknown {
  if (!Object.hasOwn(o, name)) throw new Reject('MALFORMED', `missing field "${name}"`);
  return o[name];
}

/** The object has exactly these keys (all of them, nothing else). */
function exactKeys(o: Record<string, unknown>, keys: readonly string[], what: string): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new Reject('MALFORMED', `${what} has an unknown field ${JSON.stringify(k)}`);
  }
  for (const k of keys) field(o, k);
}

const CANONICAL_HEX = /^(?:[0-9a-f]{2})*$/;

/** Canonical hex: lower-case, even length, no `0x` prefix. */
function canonicalHex(v: unknown, name: string, maxBytes: number): Uint8Array {
  if (typeof v !== 'string' || v.length > maxBytes * 2)
    throw new Reject('MALFORMED', `"${name}" must be a hex string of at most ${maxBytes} bytes`);
  if (!CANONICAL_HEX.test(v))
    throw new Reject('MALFORMED', `"${name}" is not canonical hex (lower-case, even length, no 0x)`);
  return fromHex(v);
}

function hexField(o: Record<string, unknown>, name: string, maxBytes = 1 << 20): Uint8Array {
  return canonicalHex(field(o, name), name, maxBytes);
}

function proofField(o: Record<string, unknown>, name = 'proof'): Uint8Array[] {
  const v = field(o, name);
  if (!Array.isArray(v) || v.length > MAX_PROOF_NODES) {
    throw new Reject('MALFORMED', `"${name}" must be an array of at most ${MAX_PROOF_NODES} hex strings`);
  }
  // As large as verifyMptProof admits: a leaf holding a maximum-size record is > 32 KiB.
  return v.map((x, i) => canonicalHex(x, `${name}[${i}]`, MAX_PROOF_NODE_BYTES));
}

function safeInt(o: Record<string, unknown>, name: string): number {
  const v = field(o, name);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new Reject('MALFORMED', `"${name}" must be a non-negative integer`);
  }
  return v;
}

/** Decodes and certifies a header; returns it only if its certificate verifies under the trust of its height. */
function certifiedHeader(
  o: Record<string, unknown>,
  trustAt: TrustAt,
  schemes: CertificateSchemes,
): Certified {
  let header: BlockHeader;
  try {
    header = decodeHeader(hexField(o, 'header', 4096));
  } catch (e) {
    if (e instanceof Reject) throw e;
    throw new Reject('MALFORMED', `header: ${(e as Error).message}`);
  }
  const trust = trustAt(header.height);
  if (header.chainId !== trust.chainId) {
    throw new Reject('WRONG_CHAIN', `header is for chain "${header.chainId}", genesis is "${trust.chainId}"`);
  }
  let certificate: CommitCertificate;
  try {
    certificate = decodeCertificate(hexField(o, 'certificate', 256 * 1024), schemes);
  } catch (e) {
    if (e instanceof Reject) throw e;
    throw new Reject('BAD_CERTIFICATE', (e as Error).message);
  }
  const check = verifyCertificate(certificate, header, trust, schemes);
  if (!check.ok) throw new Reject('BAD_CERTIFICATE', check.reason);
  // verifyCertificate found the scheme: a certificate of an unknown kind does not verify.
  const guarantee = schemes.get(certificate.kind)?.guarantee ?? '';
  return {
    header,
    certificate,
    guarantee,
    ...(check.verified === undefined ? {} : { verified: check.verified }),
  };
}

/** A header whose certificate verified, and what that certificate's kind guarantees. */
interface Certified {
  readonly header: BlockHeader;
  readonly certificate: CommitCertificate;
  readonly guarantee: string;
  /** What the check measured (CertificateCheck.verified). */
  readonly verified?: string;
}

/** The certified header, and what its certificate rests on (`certifiedBy`: kind and guarantee). */
function headerSummary(c: Certified): Record<string, unknown> {
  const h = c.header;
  return {
    height: h.height,
    hash: toHex(headerHash(h)),
    stateRoot: toHex(h.stateRoot),
    logSize: h.logSize,
    logRoot: toHex(h.logRoot),
    time: h.time.ms,
    certifiedBy: {
      kind: c.certificate.kind,
      guarantee: c.guarantee,
      ...(c.verified === undefined ? {} : { verified: c.verified }),
    },
  };
}

function mptValue(root: Uint8Array, key: Uint8Array, proof: Uint8Array[]): Uint8Array | undefined {
  try {
    return verifyMptProof(root, key, proof, { secure: true });
  } catch (e) {
    throw new Reject('BAD_PROOF', `state proof: ${(e as Error).message}`);
  }
}

function verifyAccount(o: Record<string, unknown>, trust: TrustAt, schemes: CertificateSchemes) {
  exactKeys(o, ['version', 'kind', 'address', 'proof', 'header', 'certificate'], 'an account bundle');
  const addrText = field(o, 'address');
  let address: Uint8Array;
  try {
    if (typeof addrText !== 'string') throw new Error('"address" must be a string');
    address = parseAddress(addrText);
  } catch (e) {
    throw new Reject('MALFORMED', (e as Error).message);
  }
  if (formatAddress(address) !== addrText)
    throw new Reject('MALFORMED', '"address" is not in canonical (lower-case) form');
  const proof = proofField(o);
  const certified = certifiedHeader(o, trust, schemes);
  const { header } = certified;
  const raw = mptValue(header.stateRoot, accountKey(address), proof);
  const account = raw === undefined ? undefined : decodeAccount(raw);
  return {
    kind: 'account',
    address: formatAddress(address),
    exists: account !== undefined,
    nonce: account?.nonce ?? 0,
    balance: (account?.balance ?? 0n).toString(),
    stake: (account?.stake ?? 0n).toString(),
    header: headerSummary(certified),
  };
}

function verifyRecord(o: Record<string, unknown>, trust: TrustAt, schemes: CertificateSchemes) {
  exactKeys(o, ['version', 'kind', 'key', 'proof', 'header', 'certificate'], 'a record bundle');
  const key = hexField(o, 'key', 256);
  const proof = proofField(o);
  const certified = certifiedHeader(o, trust, schemes);
  const { header } = certified;
  const raw = mptValue(header.stateRoot, recordKey(key), proof);
  const record = raw === undefined ? undefined : decodeRecord(raw);
  let keyText: string;
  try {
    keyText = fromUtf8(key);
  } catch {
    keyText = `0x${toHex(key)}`;
  }
  return {
    kind: 'record',
    key: keyText,
    exists: record !== undefined,
    ...(record === undefined
      ? {}
      : {
          owner: formatAddress(record.owner),
          value: Buffer.from(record.value).toString('utf8'),
          valueHex: toHex(record.value),
        }),
    header: headerSummary(certified),
  };
}

function parseReceipt(v: unknown): Receipt {
  const r = asObject(v, '"receipt"') as { ok?: unknown; code?: unknown };
  exactKeys(r, r.ok === true ? ['ok'] : ['ok', 'code'], '"receipt"');
  if (r.ok === true) return receiptFromNumber(0);
  const idx = RECEIPT_CODES.indexOf(r.code as (typeof RECEIPT_CODES)[number]);
  if (r.ok !== false || idx <= 0) throw new Reject('MALFORMED', '"receipt" is not a valid receipt');
  return receiptFromNumber(idx);
}

function verifyTx(
  o: Record<string, unknown>,
  trust: TrustAt,
  schemes: CertificateSchemes,
  maxTxBytes: number,
) {
  exactKeys(
    o,
    ['version', 'kind', 'tx', 'height', 'receipt', 'logIndex', 'proof', 'header', 'certificate'],
    'a tx bundle',
  );
  const txBytes = hexField(o, 'tx', maxTxBytes);
  let etx: ReturnType<typeof decodeTransaction>;
  try {
    etx = decodeTransaction(txBytes, maxTxBytes);
    verifyTransaction(etx, trust(0).chainId);
  } catch (e) {
    throw new Reject('BAD_TRANSACTION', (e as Error).message);
  }
  const height = safeInt(o, 'height');
  const logIndex = safeInt(o, 'logIndex');
  const receipt = parseReceipt(field(o, 'receipt'));
  const proof = proofField(o);
  const certified = certifiedHeader(o, trust, schemes);
  const { header } = certified;
  if (height > header.height)
    throw new Reject('BAD_PROOF', `inclusion height ${height} is after the header (${header.height})`);
  const entry = encodeLogEntry({ height, txId: etx.id, receipt });
  if (!verifyInclusion(leafHash(entry), logIndex, header.logSize, proof, header.logRoot)) {
    throw new Reject('BAD_PROOF', 'log inclusion proof does not verify against the certified log root');
  }
  return {
    kind: 'tx',
    id: toHex(etx.id),
    from: formatAddress(etx.from),
    nonce: etx.tx.nonce,
    op: operationToJson(etx.tx.op),
    height,
    logIndex,
    receipt: receiptToJson(receipt),
    receiptCode: receiptCodeNumber(receipt),
    header: headerSummary(certified),
  };
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new Reject('MALFORMED', `${what} must be an object`);
  return v as Record<string, unknown>;
}

function verifyConsistencyBundle(o: Record<string, unknown>, trust: TrustAt, schemes: CertificateSchemes) {
  exactKeys(o, ['version', 'kind', 'from', 'to', 'proof'], 'a consistency bundle');
  const fromObj = asObject(field(o, 'from'), '"from"');
  const toObj = asObject(field(o, 'to'), '"to"');
  exactKeys(fromObj, ['header', 'certificate'], '"from"');
  exactKeys(toObj, ['header', 'certificate'], '"to"');
  const fromCertified = certifiedHeader(fromObj, trust, schemes);
  const toCertified = certifiedHeader(toObj, trust, schemes);
  const from = fromCertified.header;
  const to = toCertified.header;
  const proof = proofField(o);
  if (from.height > to.height) throw new Reject('BAD_PROOF', '"from" is higher than "to"');
  if (from.logSize > to.logSize) throw new Reject('BAD_PROOF', 'the log shrank between the two headers');
  if (!verifyConsistency(from.logSize, to.logSize, from.logRoot, to.logRoot, proof)) {
    throw new Reject(
      'BAD_PROOF',
      'consistency proof does not verify: the later log does not extend the earlier one',
    );
  }
  return { kind: 'consistency', from: headerSummary(fromCertified), to: headerSummary(toCertified) };
}

export interface VerifyBundleOptions {
  readonly schemes?: CertificateSchemes;
  /** The chain's transaction size cap (default DEFAULT_MAX_TX_BYTES, 64 KiB). */
  readonly maxTxBytes?: number;
}

/**
 * Verifies a bundle (its parsed JSON) against the trusted genesis validator set. Pure; never
 * throws on hostile input.
 */
export function verifyBundle(
  bundle: unknown,
  trusted: TrustAnchor,
  opts: VerifyBundleOptions = {},
): BundleResult {
  try {
    const schemes = opts?.schemes ?? LEDGER_CERTIFICATE_SCHEMES;
    const maxTxBytes = opts?.maxTxBytes ?? DEFAULT_MAX_TX_BYTES;
    const whole = asObject(bundle, 'bundle');
    if (whole.version !== BUNDLE_VERSION && whole.version !== BUNDLE_VERSION_EPOCHS) {
      return {
        ok: false,
        code: 'UNSUPPORTED_VERSION',
        reason: `unsupported bundle version ${String(whole.version)}`,
      };
    }
    // Version 2: the epoch transitions first (they say which set certifies which height), then
    // the bundle itself as version 1 describes it.
    const { epochs: transitions, ...o } = whole;
    if (whole.version === BUNDLE_VERSION_EPOCHS && transitions === undefined)
      throw new Reject('MALFORMED', 'a version 2 bundle carries "epochs"');
    if (whole.version === BUNDLE_VERSION && Object.hasOwn(whole, 'epochs'))
      throw new Reject('MALFORMED', 'a version 1 bundle has no "epochs"');
    const walk = followEpochs(transitions ?? [], trusted, schemes);
    let value: Record<string, unknown>;
    switch (o.kind) {
      case 'account':
        value = verifyAccount(o, walk.trustAt, schemes);
        break;
      case 'record':
        value = verifyRecord(o, walk.trustAt, schemes);
        break;
      case 'tx':
        value = verifyTx(o, walk.trustAt, schemes, maxTxBytes);
        break;
      case 'consistency':
        value = verifyConsistencyBundle(o, walk.trustAt, schemes);
        break;
      default:
        return { ok: false, code: 'MALFORMED', reason: `unknown bundle kind ${JSON.stringify(o.kind)}` };
    }
    return {
      ok: true,
      value:
        walk.epochs === 0
          ? value
          : {
              ...value,
              epochs: walk.epochs,
              ...(walk.skipped === 0 ? {} : { epochSteps: walk.steps, skipped: walk.skipped }),
            },
    };
  } catch (e) {
    if (e instanceof Reject) return { ok: false, code: e.code, reason: e.message };
    return { ok: false, code: 'MALFORMED', reason: messageOf(e) };
  }
}

/**
 * Walks version 2's epoch transitions from the genesis set. A plain step to epoch k is block k·L,
 * certified by the set of epoch k − 1 (the one the walk holds), whose state proves epoch k's set.
 * A skip step (`epoch` k and `set`, the certifying set carried) passes over epochs, CometBFT's
 * skipping verification: the carried set must be the one the header names and certify it (more
 * than 2/3 of it), its signers must hold more than 1/3 of the power of the set the walk trusts,
 * and block k·L must lie within the trusting period of the block that proved that set. Returns
 * the trust anchor of each height the walk reached; a height beyond it is a BAD_CERTIFICATE.
 */
function followEpochs(
  raw: unknown,
  genesis: TrustAnchor,
  schemes: CertificateSchemes,
): { trustAt: TrustAt; epochs: number; skipped: number; steps: number } {
  if (!Array.isArray(raw) || raw.length > MAX_EPOCH_TRANSITIONS)
    throw new Reject(
      'MALFORMED',
      `"epochs" must be an array of at most ${MAX_EPOCH_TRANSITIONS} transitions`,
    );
  const length = genesis.epochLength;
  if (length === undefined && raw.length > 0)
    throw new Reject('BAD_PROOF', 'the bundle carries epoch transitions, but this genesis has no epochs');
  const L = length as number;
  const trustOf = (set: ValidatorSet, epoch: number): TrustAnchor => ({
    ...genesis,
    validators: set,
    ...(epoch === 0 ? {} : { epoch }),
  });
  const sets = new Map<number, ValidatorSet>([[0, genesis.validators]]);
  /** The set the walk trusts, its epoch, and the block whose state proved it (genesis: 0). */
  let trusted = { epoch: 0, set: genesis.validators, at: 0 };
  let skipped = 0;
  raw.forEach((item, i) => {
    const t = asObject(item, `"epochs[${i}]"`);
    const skip = Object.hasOwn(t, 'set');
    exactKeys(
      t,
      skip ? ['header', 'certificate', 'proof', 'epoch', 'set'] : ['header', 'certificate', 'proof'],
      `"epochs[${i}]"`,
    );
    const k = skip ? safeInt(t, 'epoch') : trusted.epoch + 1;
    const at = k * L;
    let certifying = trusted.set;
    if (skip) {
      if (k <= trusted.epoch + 1)
        throw new Reject('MALFORMED', `"epochs[${i}]" skips to epoch ${k}, which is the next one: no skip`);
      const period = genesis.trustingPeriod;
      if (period === undefined)
        throw new Reject('BAD_PROOF', 'this genesis sets no trusting period: no skipping');
      if (at - trusted.at > period)
        throw new Reject(
          'BAD_CERTIFICATE',
          `skipping from block ${trusted.at} to block ${at} exceeds the trusting period (${period} blocks): the set trusted there may have unbonded`,
        );
      try {
        certifying = new ValidatorSet(decodeValidatorList(hexField(t, 'set', 300 * 1024)));
      } catch (e) {
        if (e instanceof Reject) throw e;
        throw new Reject('MALFORMED', `"epochs[${i}].set": ${(e as Error).message}`);
      }
    }
    // (verifyCertificate checks the header names `certifying` — its validatorsHash — first.)
    const certified = certifiedHeader(t, () => trustOf(certifying, k - 1), schemes);
    if (certified.header.height !== at)
      throw new Reject(
        'BAD_PROOF',
        `epoch transition ${k} must be block ${at}, not ${certified.header.height}`,
      );
    if (skip) {
      const named = schemes.get(certified.certificate.kind)?.signers?.(certified.certificate);
      if (named === undefined)
        throw new Reject(
          'BAD_CERTIFICATE',
          `a ${certified.certificate.kind} certificate does not name its signers: its bundles cannot skip epochs`,
        );
      const known = new Set<number>();
      for (const index of named) {
        const v = certifying.at(index);
        const inTrusted = v === undefined ? undefined : trusted.set.byPublicKey(v.publicKey);
        if (inTrusted !== undefined) known.add(inTrusted.index);
      }
      const power = trusted.set.powerOf(known);
      if (power < trusted.set.oneHonestPower)
        throw new Reject(
          'BAD_CERTIFICATE',
          `skipping to epoch ${k}: its signers hold ${power} of the trusted set's ${trusted.set.totalPower} power, not more than 1/3`,
        );
      skipped++;
      sets.set(k - 1, certifying);
    }
    const bytes = mptValue(certified.header.stateRoot, epochSetKey(k), proofField(t));
    if (bytes === undefined)
      throw new Reject('BAD_PROOF', `block ${at} holds no validator set for epoch ${k}`);
    let next: ValidatorSet;
    try {
      next = new ValidatorSet(decodeValidatorList(bytes));
    } catch (e) {
      throw new Reject('BAD_PROOF', `the validator set of epoch ${k}: ${(e as Error).message}`);
    }
    sets.set(k, next);
    trusted = { epoch: k, set: next, at };
  });
  const trustAt = (height: number): TrustAnchor => {
    const epoch = length === undefined ? 0 : epochOf(height, length);
    const set = sets.get(epoch);
    if (set === undefined)
      throw new Reject(
        'BAD_CERTIFICATE',
        `block ${height} is in epoch ${epoch}, certified by a set genesis does not name: the bundle must carry the epoch transitions from genesis to it (it reaches epoch ${trusted.epoch}; nodes build them in version ${BUNDLE_VERSION_EPOCHS})`,
      );
    return trustOf(set, epoch);
  };
  return { trustAt, epochs: trusted.epoch, skipped, steps: raw.length };
}

/**
 * What the certificates of a verified bundle rest on (one guarantee per certificate kind seen),
 * for a verifier to print beside its verdict.
 */
export function bundleGuarantees(value: Record<string, unknown>): string[] {
  const seen = new Set<string>();
  for (const key of ['header', 'from', 'to']) {
    const by = (value[key] as { certifiedBy?: { guarantee?: unknown; verified?: unknown } } | undefined)
      ?.certifiedBy;
    if (typeof by?.guarantee === 'string')
      seen.add(typeof by.verified === 'string' ? `${by.guarantee} (verified: ${by.verified})` : by.guarantee);
  }
  const epochs = value.epochs;
  const skipped = value.skipped;
  if (typeof skipped === 'number' && skipped > 0)
    seen.add(
      `${skipped} of the ${String(value.epochSteps)} steps from genesis to epoch ${String(epochs)} skipped epochs (skipping verification): each trusted signers holding more than 1/3 of a set learned within the trusting period, whose stake was still slashable — this also rests on that third not signing a fork.`,
    );
  if (typeof epochs === 'number' && epochs > 0)
    seen.add(
      `The certifying validator set was followed from genesis through ${epochs} epoch transition${epochs === 1 ? '' : 's'}, each set proven in the state of a block certified by the set before it: this rests on no epoch's set having had a Byzantine quorum while it was in force (stake that has unbonded can sign a fork no light client here could tell apart).`,
    );
  return [...seen];
}

/** A thrown value's message, without trusting it (a hostile getter could throw again). */
function messageOf(e: unknown): string {
  try {
    if (e instanceof Error && typeof e.message === 'string' && e.message.length > 0) return e.message;
  } catch {
    // fall through
  }
  return 'malformed bundle';
}

export function proofToJson(proof: readonly Uint8Array[]): string[] {
  return proof.map(toHex);
}
