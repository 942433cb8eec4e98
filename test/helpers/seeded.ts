/** Deterministic pseudo-random bytes for tests: SHA-256 in counter mode over a label. */
import { createHash } from 'node:crypto';

export function seededBytes(label: string): (n: number) => Uint8Array {
  let counter = 0;
  let pool = new Uint8Array(0);
  return (n: number) => {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (pool.length === 0) {
        pool = new Uint8Array(createHash('sha256').update(`${label}:${counter++}`).digest());
      }
      const take = Math.min(pool.length, n - filled);
      out.set(pool.subarray(0, take), filled);
      pool = pool.subarray(take);
      filled += take;
    }
    return out;
  };
}
