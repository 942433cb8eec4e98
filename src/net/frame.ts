/**
 * Length-prefixed framing: an unsigned LEB128 varint (minimal encoding, the multiformats
 * unsigned-varint used by libp2p's `lpStream`) followed by that many payload bytes.
 *
 * The decoder is push-based and hostile-input safe: the announced length is compared with the cap
 * while the prefix is still being read (each varint byte can only raise the value), so an
 * oversized frame is rejected before a single payload byte is kept. Payload chunks are held as
 * received (no up-front allocation of the announced size, so announcing a large frame and then
 * trickling costs the sender as much as the receiver) and copied once when the frame completes.
 */
import { NetError } from './errors.ts';

/** Largest cap the framing supports (lengths stay exact small integers). */
export const MAX_FRAME_CAP = 2 ** 31 - 1;

/** Bytes needed to encode `n` as an unsigned varint. */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

/** The varint length prefix of a payload of `length` bytes. */
export function encodeFrameHeader(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_FRAME_CAP) {
    throw new NetError('INVALID_OPTIONS', `frame length ${length} out of range`);
  }
  const out = new Uint8Array(varintLength(length));
  let n = length;
  let i = 0;
  while (n >= 0x80) {
    out[i++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[i] = n;
  return out;
}

/** Header and payload as one buffer (tests, and small frames). */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const header = encodeFrameHeader(payload.length);
  const out = new Uint8Array(header.length + payload.length);
  out.set(header, 0);
  out.set(payload, header.length);
  return out;
}

/** Byte sources the decoder accepts: a Uint8Array, or a list of them (libp2p's Uint8ArrayList). */
export type ByteChunks = Uint8Array | Iterable<Uint8Array>;

export class FrameDecoder {
  readonly cap: number;
  readonly #maxHeaderBytes: number;
  #headerValue = 0;
  #headerBytes = 0;
  /** Payload length of the frame being read, or -1 while reading a header. */
  #length = -1;
  readonly #parts: Uint8Array[] = [];
  #filled = 0;
  #failure: NetError | undefined;

  constructor(cap: number) {
    if (!Number.isSafeInteger(cap) || cap < 0 || cap > MAX_FRAME_CAP) {
      throw new NetError('INVALID_OPTIONS', `frame cap ${cap} must be an integer in [0, ${MAX_FRAME_CAP}]`);
    }
    this.cap = cap;
    this.#maxHeaderBytes = varintLength(cap);
  }

  /** Payload bytes held for the incomplete frame (never more than the announced, capped length). */
  get buffered(): number {
    return this.#filled;
  }

  /**
   * Feeds received bytes; yields every frame they complete, in order. Throws a `NetError`
   * (FRAME_TOO_LARGE / FRAME_MALFORMED) at the first violation; the decoder then stays failed.
   */
  *push(data: ByteChunks): Generator<Uint8Array> {
    if (this.#failure !== undefined) throw this.#failure;
    const chunks: Iterable<Uint8Array> = data instanceof Uint8Array ? [data] : data;
    for (const chunk of chunks) yield* this.#pushChunk(chunk);
  }

  *#pushChunk(chunk: Uint8Array): Generator<Uint8Array> {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#length < 0) {
        const b = chunk[pos++] as number;
        if (this.#headerBytes > 0 && b === 0) {
          // A trailing zero group: a non-minimal encoding.
          throw this.#fail('FRAME_MALFORMED', 'non-minimal varint length prefix');
        }
        this.#headerValue += (b & 0x7f) * 2 ** (7 * this.#headerBytes);
        this.#headerBytes++;
        if (this.#headerValue > this.cap) {
          throw this.#fail(
            'FRAME_TOO_LARGE',
            `frame announces at least ${this.#headerValue} bytes, cap is ${this.cap}`,
          );
        }
        if (b & 0x80) {
          // One more byte would make the (minimal) length at least 2^(7·bytes) > cap.
          if (this.#headerBytes >= this.#maxHeaderBytes) {
            throw this.#fail(
              'FRAME_TOO_LARGE',
              `length prefix longer than ${this.#maxHeaderBytes} bytes: announces more than the cap ${this.cap}`,
            );
          }
          continue;
        }
        this.#length = this.#headerValue;
        this.#headerValue = 0;
        this.#headerBytes = 0;
        if (this.#length === 0) {
          this.#length = -1;
          yield new Uint8Array(0);
        }
        continue;
      }
      const take = Math.min(this.#length - this.#filled, chunk.length - pos);
      this.#parts.push(chunk.subarray(pos, pos + take));
      this.#filled += take;
      pos += take;
      if (this.#filled === this.#length) {
        const frame = new Uint8Array(this.#length);
        let at = 0;
        for (const p of this.#parts) {
          frame.set(p, at);
          at += p.length;
        }
        this.#parts.length = 0;
        this.#filled = 0;
        this.#length = -1;
        yield frame;
      }
    }
  }

  #fail(code: 'FRAME_TOO_LARGE' | 'FRAME_MALFORMED', message: string): NetError {
    this.#parts.length = 0;
    this.#filled = 0;
    this.#failure = new NetError(code, message, { cap: this.cap });
    return this.#failure;
  }
}
