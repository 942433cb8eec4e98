/**
 * ledger/rlp-decode.ts against @ethereumjs/rlp's decoder, which it replaced in rlpDecodeStrict:
 * the same items for every input both accept, the same refusals (and the same class of refusal,
 * non-canonical or malformed, as codec.ts read @ethereumjs/rlp's messages) for every other — on the
 * Yellow Paper's examples, every input of one and two bytes, the boundaries of every length form,
 * and seeded random, mutated, truncated and extended encodings. The comparison is shown to catch
 * a decoder that differs in any one rule (the mutants at the end).
 */
import { RLP } from '@ethereumjs/rlp';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../crypto/bytes.ts';
import { rlpEncode } from '../../ledger/codec.ts';
import { type DecodedRlp, decodeRlp, MAX_DEPTH, RlpRefusal } from '../../ledger/rlp-decode.ts';
import { mutate, randomRlp } from '../helpers/fuzz.ts';
import { seededBytes } from '../helpers/seeded.ts';

type Outcome = { ok: DecodedRlp } | { refused: 'NON_CANONICAL' | 'MALFORMED' };
type Decoder = (b: Uint8Array) => DecodedRlp;

/** What @ethereumjs/rlp made of `b`, classified as codec.ts used to (by its message). */
function reference(b: Uint8Array): Outcome {
  try {
    return { ok: RLP.decode(b) as DecodedRlp };
  } catch (e) {
    const message = (e as Error).message;
    return {
      refused: /single byte|greater than 55|too short|extra zeros/.test(message)
        ? 'NON_CANONICAL'
        : 'MALFORMED',
    };
  }
}

function outcome(decode: Decoder, b: Uint8Array): Outcome {
  try {
    return { ok: decode(b) };
  } catch (e) {
    if (!(e instanceof RlpRefusal)) throw e;
    return { refused: e.nonCanonical ? 'NON_CANONICAL' : 'MALFORMED' };
  }
}

function sameItem(a: DecodedRlp, b: DecodedRlp): boolean {
  if (Array.isArray(a) || Array.isArray(b))
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((x, i) => sameItem(x, b[i] as DecodedRlp))
    );
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  if ('ok' in a) return 'ok' in b && sameItem(a.ok, b.ok);
  return 'refused' in b && a.refused === b.refused;
}

/** The inputs (hex) on which `decode` and the reference disagree. */
function disagreements(decode: Decoder, inputs: Iterable<Uint8Array>): string[] {
  const out: string[] = [];
  for (const b of inputs) {
    if (b.length === 0) continue; // no bytes: refused by both codec.ts paths before decoding
    const same = sameOutcome(outcome(decode, b), reference(b));
    if (!same) out.push(Buffer.from(b).toString('hex'));
  }
  return out;
}

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const utf = (s: string) => Uint8Array.from(Buffer.from(s, 'utf8'));

/** Every one- and two-byte input. */
function* shortInputs(): Generator<Uint8Array> {
  for (let a = 0; a < 256; a++) {
    yield Uint8Array.of(a);
    for (let b = 0; b < 256; b++) yield Uint8Array.of(a, b);
  }
}

/** Each length form at its boundaries, well formed and with each way of getting its length wrong. */
function* boundaryInputs(): Generator<Uint8Array> {
  for (const length of [0, 1, 54, 55, 56, 57, 255, 256, 1024]) {
    const body = new Uint8Array(length).fill(0x85);
    const str = rlpEncode(body);
    const list = rlpEncode(Array.from({ length }, () => 0x05));
    for (const valid of [str, list]) {
      yield valid;
      yield valid.subarray(0, valid.length - 1); // truncated
      yield concatBytes(valid, Uint8Array.of(0)); // trailing byte
    }
    // Long forms whatever the length (non-canonical below 56), with 1–3 length bytes, leading zeros too.
    for (const n of [1, 2, 3]) {
      const len = new Uint8Array(n);
      for (let i = 0, v = length; i < n; i++, v = Math.floor(v / 256)) len[n - 1 - i] = v % 256;
      yield concatBytes(Uint8Array.of(0xb7 + n), len, body);
      yield concatBytes(Uint8Array.of(0xf7 + n), len, list.subarray(list.length - length));
    }
  }
  // Lengths of 4–8 bytes, far past the input.
  for (let n = 4; n <= 8; n++) {
    yield concatBytes(Uint8Array.of(0xb7 + n), new Uint8Array(n).fill(0xff), Uint8Array.of(1, 2, 3));
    yield concatBytes(Uint8Array.of(0xf7 + n), new Uint8Array(n).fill(0xff), Uint8Array.of(1, 2, 3));
  }
  // An item that overruns its list but not the input.
  yield hex('c2820102');
  yield hex('c3b8010203');
  yield hex('c1c2c0c0');
  // A long form's length bytes inside a list: bounded by the list, not the input (from review).
  yield hex('c1b80000');
  yield hex('c1b83000');
  yield hex('c2c1b80000');
  yield hex('c2b80100');
}

function* seededInputs(count: number): Generator<Uint8Array> {
  const rand = seededBytes('rlp-decode differential');
  for (let i = 0; i < count; i++) {
    const valid = rlpEncode(randomRlp(rand));
    yield valid;
    yield mutate(rand, valid);
    yield mutate(rand, mutate(rand, valid));
    const [length = 0] = rand(1);
    yield rand(1 + (length % 48));
  }
}

describe('canonical RLP decoding (ledger/rlp-decode.ts)', () => {
  it('decodes the Yellow Paper examples', () => {
    expect(decodeRlp(hex('83646f67'))).toEqual(utf('dog'));
    expect(decodeRlp(hex('c88363617483646f67'))).toEqual([utf('cat'), utf('dog')]);
    expect(decodeRlp(hex('80'))).toEqual(new Uint8Array(0));
    expect(decodeRlp(hex('c0'))).toEqual([]);
    expect(decodeRlp(hex('00'))).toEqual(Uint8Array.of(0));
    expect(decodeRlp(hex('0f'))).toEqual(Uint8Array.of(15));
    expect(decodeRlp(hex('820400'))).toEqual(Uint8Array.of(4, 0));
    // The set-theoretic representation of three: [ [], [[]], [ [], [[]] ] ].
    expect(decodeRlp(hex('c7c0c1c0c3c0c1c0'))).toEqual([[], [[]], [[], [[]]]]);
    const lorem = 'Lorem ipsum dolor sit amet, consectetur adipisicing elit';
    expect(decodeRlp(concatBytes(hex('b838'), utf(lorem)))).toEqual(utf(lorem));
  });

  it('refuses the non-canonical and malformed encodings, each as what it is', () => {
    const refusal = (s: string) => {
      const o = outcome(decodeRlp, hex(s));
      return 'refused' in o ? o.refused : 'accepted';
    };
    expect(refusal('8100')).toBe('NON_CANONICAL'); // a single byte below 0x80, prefixed
    expect(refusal('817f')).toBe('NON_CANONICAL');
    expect(refusal('8180')).toBe('accepted');
    expect(refusal(`b837${'01'.repeat(55)}`)).toBe('NON_CANONICAL'); // long form for 55 bytes
    expect(refusal(`b90038${'01'.repeat(56)}`)).toBe('NON_CANONICAL'); // leading zero in the length
    expect(refusal(`f837${'01'.repeat(55)}`)).toBe('NON_CANONICAL');
    expect(refusal('83646f')).toBe('MALFORMED'); // truncated
    expect(refusal('83646f6767')).toBe('MALFORMED'); // trailing byte
    expect(refusal('c2820102')).toBe('MALFORMED'); // an item overrunning its list
    expect(refusal('b8')).toBe('MALFORMED');
    expect(refusal('f8')).toBe('MALFORMED');
  });

  it('gives every byte string as a fresh copy, never a view of the input', () => {
    // Short and long forms of strings, and a single byte.
    const input = rlpEncode([
      new Uint8Array(40).fill(1),
      [Uint8Array.of(2, 3)],
      7,
      new Uint8Array(60).fill(4),
    ]);
    const decoded = decodeRlp(input) as [Uint8Array, [Uint8Array], Uint8Array, Uint8Array];
    for (const s of [decoded[0], decoded[1][0], decoded[2], decoded[3]])
      expect(s.buffer).not.toBe(input.buffer);
    input.fill(0);
    expect(decoded[0]).toEqual(new Uint8Array(40).fill(1));
    expect(decoded[3]).toEqual(new Uint8Array(60).fill(4));
  });

  it('agrees with @ethereumjs/rlp on every input of one and two bytes', () => {
    expect(disagreements(decodeRlp, shortInputs())).toEqual([]);
  });

  it('agrees with @ethereumjs/rlp at the boundaries of every length form', () => {
    expect(disagreements(decodeRlp, boundaryInputs())).toEqual([]);
  });

  it('agrees with @ethereumjs/rlp on 20,000 seeded random, mutated and random-byte inputs', () => {
    expect(disagreements(decodeRlp, seededInputs(20_000))).toEqual([]);
  });

  it(`accepts lists nested ${MAX_DEPTH} deep (as @ethereumjs/rlp does) and refuses one level more`, () => {
    const nested = (depth: number) => {
      let v: unknown = [];
      for (let i = 1; i < depth; i++) v = [v];
      return rlpEncode(v as never);
    };
    expect(disagreements(decodeRlp, [nested(MAX_DEPTH)])).toEqual([]);
    expect(outcome(decodeRlp, nested(MAX_DEPTH + 1))).toEqual({ refused: 'MALFORMED' });
  });

  it('negative control: the comparison catches a decoder that breaks any one rule', () => {
    const inputs = () => [...shortInputs(), ...boundaryInputs(), ...seededInputs(300)];
    const mutants: Record<string, Decoder> = {
      // Reads a prefixed single byte below 0x80 as that byte.
      'single byte prefixed': (b) =>
        b.length === 2 && b[0] === 0x81 && (b[1] as number) < 0x80 ? b.slice(1) : decodeRlp(b),
      // Ignores one trailing byte.
      'trailing byte': (b) => {
        try {
          return decodeRlp(b);
        } catch (e) {
          if (b.length > 1 && !(e as RlpRefusal).nonCanonical) return decodeRlp(b.subarray(0, b.length - 1));
          throw e;
        }
      },
      // Calls every refusal malformed.
      'no non-canonical class': (b) => {
        try {
          return decodeRlp(b);
        } catch {
          throw new RlpRefusal(false, 'refused');
        }
      },
      // Accepts the long form for short strings.
      'long form for short strings': (b) =>
        b[0] === 0xb8 && b.length >= 2 && (b[1] as number) < 56 && b.length === 2 + (b[1] as number)
          ? b.slice(2)
          : decodeRlp(b),
    };
    for (const [name, mutant] of Object.entries(mutants))
      expect(disagreements(mutant, inputs()).length, name).toBeGreaterThan(0);
  });
});
