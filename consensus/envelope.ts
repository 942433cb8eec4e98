/**
 * The signing boundary. Every consensus message travels in an envelope
 *   RLP([engine message bytes, signer validator index, ed25519 signature])         epoch 0
 *   RLP([engine message bytes, signer validator index, ed25519 signature, epoch])  epoch e > 0
 * where the signature covers the engine's domain-separated signing bytes of the message, in the
 * epoch's signing domain (ledger/signing-domain.ts); `signer` indexes the epoch's set. The epoch is
 * read before anything is verified, so a message of a neighbouring epoch — a peer just before or
 * after a boundary — is set aside (WRONG_EPOCH), not mistaken for a forgery. The
 * runtime seals outgoing messages and opens incoming ones here, once, so engines only ever see
 * authenticated messages. Size caps are checked before anything is decoded.
 */
import { ed25519 } from '../crypto/ed25519.ts';
import { onlyTyped, VerityError } from '../crypto/errors.ts';
import { asBytes, asList, asSafeUint, DecodeError, rlpDecodeStrict, rlpEncode } from '../ledger/codec.ts';
import { signingDomain } from '../ledger/signing-domain.ts';
import type { ValidatorSet } from '../ledger/validators.ts';
import type { MessageCodec } from './types.ts';

export type EnvelopeErrorCode =
  | 'ENVELOPE_MALFORMED'
  | 'ENVELOPE_TOO_LARGE'
  | 'UNKNOWN_VALIDATOR'
  | 'BAD_SIGNATURE'
  /** Signed in another epoch than the one expected: not this set's message, not a forgery. */
  | 'WRONG_EPOCH';
export class EnvelopeError extends VerityError<EnvelopeErrorCode> {}

/** Verification function, injectable so a simulator can memoise identical checks across nodes. */
export type SignatureVerifier = (
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
) => boolean;

export interface OpenedEnvelope<M> {
  readonly from: number;
  readonly msg: M;
  readonly msgBytes: Uint8Array;
  readonly signature: Uint8Array;
  /** What the signature covers (`codec.signingBytes`). */
  readonly signingBytes: Uint8Array;
  readonly epoch: number;
}

export function sealEnvelope<M>(
  codec: MessageCodec<M>,
  msg: M,
  chainId: string,
  signer: number,
  secretKey: Uint8Array,
  epoch = 0,
): { bytes: Uint8Array; msgBytes: Uint8Array; signature: Uint8Array } {
  return sealSigningBytes(
    codec,
    msg,
    codec.signingBytes(msg, signingDomain(chainId, epoch)),
    signer,
    secretKey,
    epoch,
  );
}

/**
 * sealEnvelope with `codec.signingBytes(msg, signingDomain(chainId, epoch))` already in hand (the
 * runtime hashes them for the double-sign guard before it decides to sign).
 */
export function sealSigningBytes<M>(
  codec: MessageCodec<M>,
  msg: M,
  signingBytes: Uint8Array,
  signer: number,
  secretKey: Uint8Array,
  epoch = 0,
): { bytes: Uint8Array; msgBytes: Uint8Array; signature: Uint8Array } {
  const msgBytes = codec.encode(msg);
  const signature = ed25519.sign(signingBytes, secretKey);
  return { bytes: encodeEnvelope(msgBytes, signer, signature, epoch), msgBytes, signature };
}

/** Wraps already-signed parts (relays; forged envelopes in tests and Byzantine modes). */
export function encodeEnvelope(
  msgBytes: Uint8Array,
  signer: number,
  signature: Uint8Array,
  epoch = 0,
): Uint8Array {
  return rlpEncode(epoch === 0 ? [msgBytes, signer, signature] : [msgBytes, signer, signature, epoch]);
}

export function openEnvelope<M>(
  bytes: Uint8Array,
  codec: MessageCodec<M>,
  validators: ValidatorSet,
  chainId: string,
  verify: SignatureVerifier = ed25519.verify,
  epoch = 0,
): OpenedEnvelope<M> {
  if (bytes.length > codec.maxBytes + 128) {
    throw new EnvelopeError(
      'ENVELOPE_TOO_LARGE',
      `consensus message of ${bytes.length} bytes exceeds ${codec.maxBytes}`,
    );
  }
  let msgBytes: Uint8Array;
  let from: number;
  let signature: Uint8Array;
  let msg: M;
  let signedIn: number;
  try {
    const f = asList(rlpDecodeStrict(bytes, codec.maxBytes + 128, 'envelope'), 'envelope');
    if (f.length !== 3 && f.length !== 4)
      throw new DecodeError('MALFORMED', `expected 3 or 4 fields, got ${f.length}`);
    signedIn = f.length === 3 ? 0 : asSafeUint(f[3], 'envelope.epoch');
    if (f.length === 4 && signedIn === 0)
      throw new DecodeError('NON_CANONICAL', 'epoch 0 is written as three fields');
    msgBytes = asBytes(f[0], 'envelope.message', { max: codec.maxBytes });
    from = asSafeUint(f[1], 'envelope.signer');
    signature = asBytes(f[2], 'envelope.signature', { length: 64 });
  } catch (e) {
    // Only a typed decoding error is the sender's; anything else is a bug here, and propagates.
    throw new EnvelopeError('ENVELOPE_MALFORMED', `undecodable consensus message: ${onlyTyped(e).message}`);
  }
  if (signedIn !== epoch)
    throw new EnvelopeError('WRONG_EPOCH', `a message of epoch ${signedIn}, this is epoch ${epoch}`, {
      epoch: signedIn,
    });
  try {
    msg = codec.decode(msgBytes);
  } catch (e) {
    throw new EnvelopeError('ENVELOPE_MALFORMED', `undecodable consensus message: ${onlyTyped(e).message}`);
  }
  const validator = validators.at(from);
  if (validator === undefined)
    throw new EnvelopeError('UNKNOWN_VALIDATOR', `signer ${from} is not a validator`);
  const signingBytes = codec.signingBytes(msg, signingDomain(chainId, epoch));
  if (!verify(signature, signingBytes, validator.publicKey)) {
    throw new EnvelopeError('BAD_SIGNATURE', `bad signature from validator ${from} (${validator.name})`);
  }
  return { from, msg, msgBytes, signature, signingBytes, epoch };
}
