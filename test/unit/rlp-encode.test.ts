/**
 * ledger/rlp-encode.ts against @ethereumjs/rlp's encoder, which it replaced in rlpEncode: the same
 * bytes for every input of the accepted types — the Yellow Paper's examples (fixed bytes, so a
 * wrong encoder fails them whatever the reference says), numbers and bigints at every byte
 * boundary, strings and lists at every boundary of the length forms, and seeded random nestings —
 * and refusals for what it does not encode (where @ethereumjs/rlp encodes something).
 */
import { RLP } from '@ethereumjs/rlp';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../crypto/bytes.ts';
import { rlpEncode } from '../../ledger/codec.ts';
import { encodeRlp, RlpEncodeRefusal, type RlpInput } from '../../ledger/rlp-encode.ts';
import { randomRlp } from '../helpers/fuzz.ts';
import { seededBytes } from '../helpers/seeded.ts';

const hex = (b: Uint8Array) => toHex(b);
const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const reference = (x: RlpInput) => hex(RLP.encode(x as never));

/** Inputs on which the two encoders differ, described. */
function disagreements(inputs: Iterable<RlpInput>): string[] {
  const out: string[] = [];
  for (const x of inputs) {
    const ours = hex(encodeRlp(x));
    if (ours !== reference(x)) out.push(`${show(x)}: ours ${ours.slice(0, 40)}…`);
  }
  return out;
}

function show(x: RlpInput): string {
  if (x instanceof Uint8Array) return `bytes(${x.length})`;
  if (Array.isArray(x)) return `[${x.map(show).join(',')}]`;
  return `${typeof x} ${x}`;
}

describe('RLP encoding (ledger/rlp-encode.ts)', () => {
  it("the Yellow Paper's examples, byte for byte", () => {
    const cases: Array<[RlpInput, string]> = [
      [ascii('dog'), '83646f67'],
      [[ascii('cat'), ascii('dog')], 'c88363617483646f67'],
      [new Uint8Array(0), '80'],
      [[], 'c0'],
      [0, '80'],
      [0n, '80'],
      [new Uint8Array([0]), '00'],
      [15, '0f'],
      [1024, '820400'],
      [[[], [[]], [[], [[]]]], 'c7c0c1c0c3c0c1c0'],
      [
        ascii('Lorem ipsum dolor sit amet, consectetur adipisicing elit'),
        `b838${Buffer.from('Lorem ipsum dolor sit amet, consectetur adipisicing elit').toString('hex')}`,
      ],
    ];
    for (const [input, expected] of cases) expect(hex(encodeRlp(input)), show(input)).toBe(expected);
  });

  it('numbers and bigints at every byte boundary match @ethereumjs/rlp', () => {
    const numbers: RlpInput[] = [];
    for (let bits = 0; bits <= 53; bits++) {
      const p = 2 ** bits;
      for (const n of [p - 1, p, p + 1]) if (Number.isSafeInteger(n)) numbers.push(n, BigInt(n));
    }
    for (let bits = 54; bits <= 520; bits += 7) numbers.push(2n ** BigInt(bits) - 1n, 2n ** BigInt(bits));
    expect(disagreements(numbers)).toEqual([]);
  });

  it('strings and lists at every boundary of the length forms match @ethereumjs/rlp', () => {
    const rand = seededBytes('rlp-encode boundaries');
    const inputs: RlpInput[] = [];
    for (let b = 0; b < 256; b++) inputs.push(new Uint8Array([b]));
    for (const len of [0, 1, 2, 54, 55, 56, 57, 255, 256, 257, 65_535, 65_536, 65_537, 16_777_216]) {
      inputs.push(rand(len));
      // A list whose payload is `len` bytes: one string of len − its prefix (when that fits).
      for (const inner of [len - 1, len - 2, len - 3, len - 4, len - 5])
        if (inner >= 0 && encodeRlp(rand(inner)).length === len) inputs.push([rand(inner)]);
      inputs.push(Array.from({ length: Math.min(len, 4096) }, () => new Uint8Array(0)));
    }
    expect(disagreements(inputs)).toEqual([]);
  });

  it('20,000 seeded random nestings of strings, numbers and lists match @ethereumjs/rlp', () => {
    const rand = seededBytes('rlp-encode random');
    const inputs = Array.from({ length: 20_000 }, () => randomRlp(rand));
    // Deeper and wider than randomRlp's: a block-like shape of many items under two levels.
    inputs.push([[1, 2, rand(32)], Array.from({ length: 3000 }, (_, i) => rand(100 + (i % 60)))]);
    expect(disagreements(inputs)).toEqual([]);
  });

  it('refuses what it does not encode (where @ethereumjs/rlp would encode something)', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53, -1n, 'dog', undefined, null, true, {}]) {
      expect(() => encodeRlp(bad as never), String(bad)).toThrow(RlpEncodeRefusal);
      expect(() => encodeRlp([1, [bad as never]])).toThrow(RlpEncodeRefusal);
    }
    // rlpEncode (codec.ts) reports a refused number as MALFORMED, as before.
    expect(() => rlpEncode([-1])).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
    expect(hex(RLP.encode(undefined as never))).toBe('80'); // what the reference does instead
  });
});
