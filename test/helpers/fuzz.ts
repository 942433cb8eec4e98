/**
 * Seeded hostile inputs for decoders (with seeded.ts): valid bytes mutated, random RLP shapes, and
 * the check that a decoder failed only with a typed error (a VerityError with a code).
 */
import { concatBytes } from '../../crypto/bytes.ts';
import { VerityError } from '../../crypto/errors.ts';
import type { RlpInput } from '../../ledger/codec.ts';

export type Rand = (n: number) => Uint8Array;

/** `valid` with a bit flipped, cut short, extended, a byte or a run of bytes overwritten. */
export function mutate(rand: Rand, valid: Uint8Array): Uint8Array {
  const [how = 0, a = 0, b = 0] = rand(3);
  const at = (a * 256 + b) % Math.max(1, valid.length);
  const out = valid.slice();
  switch (how % 5) {
    case 0:
      out[at] = (out[at] as number) ^ (1 << (b % 8));
      return out;
    case 1:
      return out.subarray(0, at);
    case 2:
      return concatBytes(out, rand(1 + (a % 8)));
    case 3:
      out[at] = b;
      return out;
    default:
      // A run of bytes overwritten: reaches fields past the first broken one.
      out.set(rand(Math.min(8, out.length - at)), at);
      return out;
  }
}

/** Random RLP of random shape: lists nested up to 3 deep, strings of 0–96 bytes, small integers. */
export function randomRlp(rand: Rand, depth = 0): RlpInput {
  const [kind = 0, size = 0] = rand(2);
  if (depth < 3 && kind % 3 === 0) return Array.from({ length: size % 8 }, () => randomRlp(rand, depth + 1));
  if (kind % 3 === 1) return size % 12;
  return rand(size % 97);
}

/** Why `decode` failed untyped on `input` (the input's hex and the stack), or undefined. */
export function untypedFailure(decode: (b: Uint8Array) => unknown, input: Uint8Array): string | undefined {
  try {
    decode(input);
  } catch (e) {
    if (!(e instanceof VerityError) || typeof e.code !== 'string')
      return `${Buffer.from(input).toString('hex')}: ${(e as Error)?.stack ?? String(e)}`;
  }
  return undefined;
}
