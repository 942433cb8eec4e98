/** The RPC's nesting guard before JSON.parse (src/rpc/json-depth.ts), against JSON.parse itself. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../crypto/bytes.ts';
import { jsonNestsDeeperThan } from '../../src/rpc/json-depth.ts';

/** The true depth, from the parsed value. */
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (v !== null && typeof v === 'object') return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}

describe('jsonNestsDeeperThan', () => {
  it('counts brackets outside strings only, escapes included', () => {
    expect(jsonNestsDeeperThan(utf8('{"tx":"ab"}'), 1)).toBe(false);
    expect(jsonNestsDeeperThan(utf8('{"txs":["ab","cd"]}'), 1)).toBe(true);
    expect(jsonNestsDeeperThan(utf8('{"txs":["ab","cd"]}'), 2)).toBe(false);
    expect(jsonNestsDeeperThan(utf8('{"a":"[[[[{{{{"}'), 1)).toBe(false);
    expect(jsonNestsDeeperThan(utf8('{"a":"\\"[[[["}'), 1)).toBe(false); // an escaped quote stays inside
    expect(jsonNestsDeeperThan(utf8('{"é":"ü[","b":[[1]]}'), 2)).toBe(true);
    expect(jsonNestsDeeperThan(utf8(`{"tx":${'['.repeat(100_000)}`), 8)).toBe(true);
    // An escaped backslash before a quote: the quote closes the string.
    expect(jsonNestsDeeperThan(utf8('{"a":"x\\\\","b":[[1]]}'), 2)).toBe(true);
    expect(jsonNestsDeeperThan(utf8('{"a":"x\\\\\\"[[[["}'), 1)).toBe(false);
    expect(jsonNestsDeeperThan(utf8('{"a":"unterminated [[[['), 1)).toBe(false);
  });

  it('skips strings exactly as a byte-by-byte scan does, on any bytes (property)', () => {
    // The scan before strings were skipped with indexOf: the reference.
    const byteByByte = (bytes: Uint8Array, limit: number): boolean => {
      let depth = 0;
      let inString = false;
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i] as number;
        if (inString) {
          if (b === 0x5c) i++;
          else if (b === 0x22) inString = false;
        } else if (b === 0x22) inString = true;
        else if (b === 0x5b || b === 0x7b) {
          if (++depth > limit) return true;
        } else if (b === 0x5d || b === 0x7d) depth--;
      }
      return false;
    };
    const alphabet = fc.constantFrom(0x22, 0x5c, 0x5b, 0x5d, 0x7b, 0x7d, 0x61, 0x2c, 0xc3);
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 60 }), fc.integer({ min: 0, max: 6 }), (xs, limit) => {
        const bytes = new Uint8Array(xs);
        expect(jsonNestsDeeperThan(bytes, limit)).toBe(byteByByte(bytes, limit));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with the parsed depth on any JSON value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 0, max: 14 }), (v, limit) => {
        const text = JSON.stringify(v);
        expect(jsonNestsDeeperThan(utf8(text), limit)).toBe(depthOf(JSON.parse(text)) > limit);
      }),
      { numRuns: 2000 },
    );
  });
});
