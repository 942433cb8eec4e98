/**
 * Equivocation evidence, the same for every engine: two envelopes validly signed by one validator
 * for one double-sign slot (`codec.slot`) with different signing bytes. An honest validator never
 * produces such a pair (the runtime's guard makes sure of it), so the pair alone proves the
 * validator Byzantine — to anyone holding the genesis file, offline (CometBFT's
 * DuplicateVoteEvidence is the model). Putting it in blocks and slashing for it is later work;
 * this is the verifiable object.
 *
 * A Casper FFG vote (codec.ffgLink: Proof of Stake's attestations) has a second offence: a vote
 * that surrounds another of the same validator (s1 < s2 < t2 < t1) — the two votes have different
 * slots (targets), and the evidence names the surrounding one's. Either pair convicts: honest
 * validators sign neither (the guard refuses both, src/runtime/signing-guard.ts).
 *
 * Wire form: RLP([1, engine, chainId, validator, [height, round, step], envelopeA, envelopeB])
 * with A and B ordered by the SHA-256 of their signing bytes, so one equivocation has one
 * encoding wherever it was caught. On a chain whose set changes (ledger/staking), evidence from
 * epoch e > 0 is RLP([2, engine, chainId, epoch, validator, slot, A, B]): `validator` indexes
 * that epoch's set, and the envelopes are signed in its domain (ledger/signing-domain.ts).
 */
import { toHex, utf8 } from '../crypto/bytes.ts';
import { onlyTyped, VerityError } from '../crypto/errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { asBytes, asList, asSafeUint, asUtf8, rlpDecodeStrict, rlpEncode } from '../ledger/codec.ts';
import type { EvidenceVerifier } from '../ledger/staking/lifecycle.ts';
import type { ValidatorSet } from '../ledger/validators.ts';
import { EnvelopeError, openEnvelope, type SignatureVerifier } from './envelope.ts';
import type { FfgLink, MessageCodec, SignSlot } from './types.ts';

const VERSION = 1;
const VERSION_WITH_EPOCH = 2;
/** Two envelopes of at most a proposal each. */
export const MAX_EVIDENCE_BYTES = 24 * 1024 * 1024;

export interface Equivocation {
  readonly engine: string;
  readonly chainId: string;
  /** The epoch whose set `validator` indexes and whose domain the envelopes are signed in (0: absent). */
  readonly epoch?: number;
  readonly validator: number;
  readonly slot: SignSlot;
  /** The two signed envelopes, ordered by the hash of their signing bytes. */
  readonly a: Uint8Array;
  readonly b: Uint8Array;
}

export class EvidenceError extends VerityError<'EVIDENCE_MALFORMED' | 'EVIDENCE_INVALID'> {}

/** Orders a caught pair canonically. `hashA`/`hashB`: SHA-256 of each one's signing bytes. */
export function equivocation(
  base: Omit<Equivocation, 'a' | 'b'>,
  first: { envelope: Uint8Array; hash: Uint8Array },
  second: { envelope: Uint8Array; hash: Uint8Array },
): Equivocation {
  const [a, b] = toHex(first.hash) < toHex(second.hash) ? [first, second] : [second, first];
  return { ...base, a: a.envelope, b: b.envelope };
}

export function encodeEquivocation(e: Equivocation): Uint8Array {
  const epoch = e.epoch ?? 0;
  return rlpEncode([
    epoch === 0 ? VERSION : VERSION_WITH_EPOCH,
    utf8(e.engine),
    utf8(e.chainId),
    ...(epoch === 0 ? [] : [epoch]),
    e.validator,
    [e.slot.height, e.slot.round, e.slot.step],
    e.a,
    e.b,
  ]);
}

export function decodeEquivocation(bytes: Uint8Array, maxBytes: number): Equivocation {
  try {
    const all = asList(rlpDecodeStrict(bytes, maxBytes, 'evidence'), 'evidence');
    const version = asSafeUint(all[0], 'evidence.version');
    if (version !== VERSION && version !== VERSION_WITH_EPOCH)
      throw new EvidenceError('EVIDENCE_MALFORMED', 'unknown evidence version');
    const epoch = version === VERSION ? 0 : asSafeUint(all[3], 'evidence.epoch');
    if (version === VERSION_WITH_EPOCH && epoch === 0)
      throw new EvidenceError('EVIDENCE_MALFORMED', 'evidence of epoch 0 has version 1');
    // One shape for both versions: the epoch field taken out.
    const f = version === VERSION ? all : [all[0], all[1], all[2], ...all.slice(4)];
    if (f.length !== 7)
      throw new EvidenceError(
        'EVIDENCE_MALFORMED',
        `evidence: expected ${version === VERSION ? 7 : 8} fields`,
      );
    const slot = asList(f[4], 'evidence.slot', 3);
    return {
      engine: asUtf8(f[1], 'evidence.engine', 32),
      chainId: asUtf8(f[2], 'evidence.chainId', 64),
      ...(epoch === 0 ? {} : { epoch }),
      validator: asSafeUint(f[3], 'evidence.validator'),
      slot: {
        height: asSafeUint(slot[0], 'evidence.slot.height'),
        round: asSafeUint(slot[1], 'evidence.slot.round'),
        step: asSafeUint(slot[2], 'evidence.slot.step'),
      },
      a: asBytes(f[5], 'evidence.a', { max: maxBytes }),
      b: asBytes(f[6], 'evidence.b', { max: maxBytes }),
    };
  } catch (e) {
    if (e instanceof EvidenceError) throw e;
    throw new EvidenceError('EVIDENCE_MALFORMED', `evidence: ${onlyTyped(e).message}`);
  }
}

export interface EvidenceTrust {
  readonly engine: string;
  readonly chainId: string;
  /** The set of the evidence's epoch. */
  readonly validators: ValidatorSet;
  readonly codec: MessageCodec<unknown>;
  readonly verify?: SignatureVerifier;
}

export type EvidenceCheck =
  | {
      readonly ok: true;
      readonly validator: number;
      readonly slot: SignSlot;
      /** Two messages for one slot, or an FFG vote surrounding another. */
      readonly offence: 'double-sign' | 'surround';
      readonly messages: [string, string];
    }
  | { readonly ok: false; readonly reason: string };

const sameSlot = (x: SignSlot, y: SignSlot) =>
  x.height === y.height && x.round === y.round && x.step === y.step;

/** Whether FFG vote a surrounds vote b: a's source before b's, and b's target before a's. */
export function surrounds(a: FfgLink, b: FfgLink): boolean {
  return a.source < b.source && b.target < a.target;
}

/**
 * Checks a piece of evidence against the trusted chain: both envelopes open (decode, and carry a
 * valid signature of the named validator), their signing bytes differ, the pair is in canonical
 * order, and either both are for the named slot, or both are FFG votes of which the one at the
 * named slot surrounds the other.
 */
export function verifyEquivocation(e: Equivocation, t: EvidenceTrust): EvidenceCheck {
  if (e.engine !== t.engine)
    return { ok: false, reason: `evidence of engine "${e.engine}", not "${t.engine}"` };
  if (e.chainId !== t.chainId)
    return { ok: false, reason: `evidence of chain "${e.chainId}", not "${t.chainId}"` };
  const name = t.validators.at(e.validator)?.name;
  if (name === undefined) return { ok: false, reason: `validator index ${e.validator} is not in the set` };
  const opened: Array<{
    hash: Uint8Array;
    text: string;
    slot: SignSlot | undefined;
    link: FfgLink | undefined;
  }> = [];
  for (const [which, envelope] of [
    ['first', e.a],
    ['second', e.b],
  ] as const) {
    try {
      const o = openEnvelope(envelope, t.codec, t.validators, t.chainId, t.verify, e.epoch ?? 0);
      if (o.from !== e.validator)
        return {
          ok: false,
          reason: `the ${which} message is signed by validator ${o.from}, not ${e.validator}`,
        };
      opened.push({
        hash: sha256(o.signingBytes),
        text: t.codec.describe(o.msg),
        slot: t.codec.slot(o.msg),
        link: t.codec.ffgLink?.(o.msg),
      });
    } catch (err) {
      if (err instanceof EnvelopeError) return { ok: false, reason: `the ${which} message: ${err.message}` };
      throw err;
    }
  }
  const [a, b] = opened as [(typeof opened)[number], (typeof opened)[number]];
  if (toHex(a.hash) === toHex(b.hash)) return { ok: false, reason: 'the two messages sign the same bytes' };
  if (toHex(a.hash) > toHex(b.hash))
    return { ok: false, reason: 'the two messages are not in canonical order' };
  const at = (x: (typeof opened)[number]) => x.slot !== undefined && sameSlot(x.slot, e.slot);
  const base = {
    ok: true as const,
    validator: e.validator,
    slot: e.slot,
    messages: [a.text, b.text] as [string, string],
  };
  if (at(a) && at(b)) return { ...base, offence: 'double-sign' };
  const [outer, inner] = at(a) ? [a, b] : at(b) ? [b, a] : [];
  if (outer?.link !== undefined && inner?.link !== undefined && surrounds(outer.link, inner.link))
    return { ...base, offence: 'surround' };
  return {
    ok: false,
    reason:
      outer === undefined
        ? 'neither message is for the slot the evidence names'
        : 'one message is not for the slot the evidence names, nor an FFG vote the other surrounds',
  };
}

/**
 * How a chain with staking judges an evidence transaction (ledger/staking/lifecycle.ts): the
 * equivocation is decoded, checked against the set of the epoch it names, and identified by the
 * slot, so that one infraction is slashed once whichever pair of its messages is reported.
 */
export function stakingEvidenceVerifier(t: Omit<EvidenceTrust, 'validators'>): EvidenceVerifier {
  return async (bytes, setOf) => {
    let e: Equivocation;
    try {
      e = decodeEquivocation(bytes, MAX_EVIDENCE_BYTES);
    } catch (err) {
      // A submitter's bad bytes; anything else is a bug of this node, and loud.
      return { ok: false, reason: onlyTyped(err).message };
    }
    const epoch = e.epoch ?? 0;
    const validators = await setOf(epoch);
    if (validators === undefined) return { ok: false, reason: `no validator set of epoch ${epoch}`, epoch };
    const check = verifyEquivocation(e, { ...t, validators });
    if (!check.ok) return { ok: false, reason: check.reason, epoch };
    const offender = validators.at(check.validator);
    if (offender === undefined) return { ok: false, reason: 'no such validator', epoch };
    return {
      ok: true,
      address: offender.address,
      epoch,
      infraction: rlpEncode([epoch, check.slot.height, check.slot.round, check.slot.step]),
    };
  };
}
