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
