/**
 * The connection encrypter: @chainsafe/libp2p-noise, with two per-message costs taken out.
 *
 *  - Frames of 1,200 bytes or more are sealed with the session key imported once (noise-crypto.ts).
 *  - Reading. Noise splits the decrypted byte stream with @libp2p/utils' LengthPrefixedDecoder,
 *    whose length reader signals "not enough bytes yet" by throwing a RangeError, and a read that
 *    ends on a frame boundary (nearly every one) ends that way. A fresh RangeError captures a stack
 *    trace through optimised frames: that was 7.7 % of a validator's main thread at 50 tx/s and
 *    1.3 % at 2,500 tx/s (perf, bench:node). Each secured connection's decoder gets a length reader
 *    that throws one RangeError made at start-up instead; the decoder still catches it and waits
 *    for more bytes, exactly as before.
 *
 * The first uses Noise's documented crypto interface. The second reaches into a library
 * internal, so it checks what it replaces (a reader of a 2-byte big-endian prefix that throws a
 * RangeError when short) and leaves a decoder it does not recognise alone: `tuned.no` counts those,
 * the node logs the first, and the tests that assert `tuned.yes` fail, while the connection keeps
 * working untuned.
 */
import { type NoiseComponents, noise } from '@chainsafe/libp2p-noise';
import type { ConnectionEncrypter, MessageStream, SecuredConnection } from '@libp2p/interface';
import { noiseCrypto } from './noise-crypto.ts';

/** Noise's 2-byte length prefix. */
const PREFIX_BYTES = 2;
/** Thrown, never built again: reading one 'not enough bytes' needs no stack trace. */
const SHORT = new RangeError('fewer than 2 bytes buffered for a Noise length prefix');

interface Uint16Readable {
  readonly length: number;
  getUint16(byteOffset: number): number;
}

/** Noise's big-endian uint16 length prefix, as its own reader decodes it (RangeError when short). */
export function uint16Length(data: Uint8Array | Uint16Readable): number {
  if (data.length < PREFIX_BYTES) throw SHORT;
  if (data instanceof Uint8Array) return ((data[0] as number) << 8) | (data[1] as number);
  return data.getUint16(0);
}

/** The fields of @libp2p/utils' LengthPrefixedDecoder that this module relies on. */
interface DecoderFields {
  lengthDecoder: (data: Uint8Array | Uint16Readable) => number;
  encodingLength: (length: number) => number;
}

/** Gives `connection`'s Noise decoder the cheap length reader; false when it has no such decoder. */
export function tuneDecoder(connection: MessageStream): boolean {
  const decoder = (connection as unknown as { decoder?: Partial<DecoderFields> }).decoder;
  if (
    decoder === undefined ||
    typeof decoder.lengthDecoder !== 'function' ||
    typeof decoder.encodingLength !== 'function' ||
    decoder.encodingLength(0) !== PREFIX_BYTES ||
    !readsUint16Prefix(decoder.lengthDecoder)
  )
    return false;
  decoder.lengthDecoder = uint16Length;
  return true;
}

/** Whether `read` is a reader this module may replace: big-endian 2 bytes, RangeError when short. */
function readsUint16Prefix(read: (data: Uint8Array) => number): boolean {
  try {
    if (read(Uint8Array.of(0x12, 0x34, 0x56)) !== 0x1234) return false;
  } catch {
    return false;
  }
  try {
    read(Uint8Array.of(0x12));
    return false;
  } catch (e) {
    return e instanceof RangeError;
  }
}

export type VerityNoise = ConnectionEncrypter & {
  /** How many secured connections got the cheap length reader, and how many could not. */
  readonly tuned: { yes: number; no: number };
};

/**
 * `noise()` for libp2p's `connectionEncrypters`, with Verity's crypto and tuned decoders;
 * `onUntuned` hears of the first connection whose decoder was not recognised.
 */
export function verityNoise(onUntuned: () => void = () => {}): (components: NoiseComponents) => VerityNoise {
  const make = noise({ crypto: noiseCrypto });
  return (components) => {
    const inner = make(components);
    const tuned = { yes: 0, no: 0 };
    const secured = <T extends SecuredConnection<unknown>>(s: T): T => {
      if (tuneDecoder(s.connection)) tuned.yes++;
      else if (tuned.no++ === 0) onUntuned();
      return s;
    };
    // Everything else (protocol, capabilities, the handshake) is the inner encrypter's own.
    const outer = Object.create(inner) as VerityNoise;
    return Object.assign(outer, {
      tuned,
      secureInbound: async (...args: Parameters<typeof inner.secureInbound>) =>
        secured(await inner.secureInbound(...args)),
      secureOutbound: async (...args: Parameters<typeof inner.secureOutbound>) =>
        secured(await inner.secureOutbound(...args)),
    });
  };
}
