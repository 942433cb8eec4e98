import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../crypto/bytes.ts';
import { asSafeUint, asUint, type DecodeError, rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';

function code(bytes: number[] | Uint8Array): string | undefined {
  try {
    rlpDecodeStrict(Uint8Array.from(bytes), 1 << 20);
  } catch (e) {
    return (e as DecodeError).code;
  }
  return undefined;
}

describe('strict RLP', () => {
  it('rejects every non-canonical encoding of an item (one encoding per value)', () => {
    expect(code([0x81, 0x05])).toBe('NON_CANONICAL'); // single byte < 0x80 with a prefix
    expect(code([0xb8, 0x02, 0xaa, 0xbb])).toBe('NON_CANONICAL'); // long string form, short length
    expect(code([0xf8, 0x02, 0x01, 0x02])).toBe('NON_CANONICAL'); // long list form, short length
    expect(code([0xb9, 0x00, 0x38, ...new Array(56).fill(1)])).toBe('NON_CANONICAL'); // leading zero in length
    expect(code([0x01, 0x02])).toBe('MALFORMED'); // trailing bytes
    expect(code([0xc2, 0x01])).toBe('MALFORMED'); // truncated list
    expect(code([])).toBe('MALFORMED');
  });

  it('accepts exactly what it encodes, for random nested values', () => {
    const item: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.uint8Array({ maxLength: 80 }),
        fc.array(tie('node'), { maxLength: 5 }),
      ),
    })).node;
    fc.assert(
      fc.property(item, (v) => {
        const bytes = rlpEncode(v as never);
        expect(rlpDecodeStrict(bytes, 1 << 20)).toEqual(v);
        // Any strict prefix or extension of a valid encoding is rejected.
        if (bytes.length > 1) expect(code(bytes.subarray(0, bytes.length - 1))).toBeDefined();
        expect(code(concatBytes(bytes, new Uint8Array([0])))).toBeDefined();
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('enforces the size cap before decoding, and minimal integers', () => {
    expect(() => rlpDecodeStrict(new Uint8Array(100), 99)).toThrow(/exceeds/);
    expect(() => asUint(new Uint8Array([0, 1]), 'n')).toThrow(/leading zeros/);
    expect(asUint(new Uint8Array(0), 'n')).toBe(0n);
    expect(() => asSafeUint(new Uint8Array(8).fill(0xff), 'n')).toThrow();
    expect(() => rlpEncode(-1)).toThrow();
    expect(() => rlpEncode(1.5)).toThrow();
  });
});
