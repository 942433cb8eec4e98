// crypto/lru.ts: bounded, returns the latest value of what it holds, and keeps everything used
// among the last max/2 distinct keys used — checked against a plain Map model under random operations.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruCache } from '../../crypto/lru.ts';

type Op =
  | { readonly kind: 'set'; readonly key: number; readonly value: number }
  | { readonly kind: 'get' | 'has' | 'delete' | 'make'; readonly key: number };

const op = (keys: number): fc.Arbitrary<Op> =>
  fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key: fc.nat(keys), value: fc.integer() }),
    fc.record({
      kind: fc.constantFrom('get' as const, 'has' as const, 'delete' as const, 'make' as const),
      key: fc.nat(keys),
    }),
  );

describe('LruCache', () => {
  it('holds at most max entries, answers only with the latest value, and keeps the recently used', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.array(op(30), { maxLength: 300 }), (max, ops) => {
        const cache = new LruCache<number, number>(max);
        const truth = new Map<number, number>(); // every key's latest value (deleted: absent)
        const recent: number[] = []; // distinct keys by last use, most recent last
        const use = (key: number) => {
          const at = recent.indexOf(key);
          if (at >= 0) recent.splice(at, 1);
          recent.push(key);
        };
        for (const o of ops) {
          switch (o.kind) {
            case 'set':
              cache.set(o.key, o.value);
              truth.set(o.key, o.value);
              use(o.key);
              break;
            case 'get': {
              const v = cache.get(o.key);
              if (v !== undefined) {
                expect(v).toBe(truth.get(o.key));
                use(o.key);
              }
              break;
            }
            case 'has':
              if (cache.has(o.key)) expect(truth.has(o.key)).toBe(true);
              break;
            case 'delete': {
              cache.delete(o.key);
              truth.delete(o.key); // it stays in `recent`: its use still moved others along
              expect(cache.has(o.key)).toBe(false);
              break;
            }
            case 'make': {
              const made = -1 - o.key;
              const v = cache.getOrMake(o.key, () => made);
              // A miss (never set, or evicted) makes and remembers; a hit is the latest value.
              if (v === made) truth.set(o.key, made);
              else expect(v).toBe(truth.get(o.key));
              use(o.key);
              break;
            }
          }
          expect(cache.size).toBeLessThanOrEqual(max);
          // Whatever is among the last floor(max/2) distinct keys used is still there: a rotation
          // needs floor(max/2) distinct keys to enter the young map, and a key survives one.
          for (const key of recent.slice(-Math.floor(max / 2)))
            expect(cache.has(key), `key ${key} (max ${max})`).toBe(truth.has(key));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a key that is read while newer ones stream past, and forgets one that is not', () => {
    const cache = new LruCache<string>(100);
    cache.set('hot', 'h');
    cache.set('cold', 'c');
    for (let i = 0; i < 10_000; i++) {
      cache.set(`k${i}`, 'v');
      if (i % 40 === 0) expect(cache.get('hot')).toBe('h');
    }
    expect(cache.get('hot')).toBe('h');
    expect(cache.has('cold')).toBe(false);
    expect(cache.size).toBeLessThanOrEqual(100);
    expect(cache.size).toBeGreaterThanOrEqual(50);
  });

  it('updates a value in place, and getOrMake calls make only on a miss', () => {
    const cache = new LruCache<number>(4);
    let made = 0;
    expect(cache.getOrMake('a', () => ++made)).toBe(1);
    expect(cache.getOrMake('a', () => ++made)).toBe(1);
    cache.set('a', 7);
    expect(cache.get('a')).toBe(7);
    expect(made).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('a')).toBeUndefined();
  });

  it('refuses a bound below 2', () => {
    expect(() => new LruCache(1)).toThrow(RangeError);
    expect(() => new LruCache(2.5)).toThrow(RangeError);
  });
});
