/**
 * Deterministic randomness: cores take an `Rng`, never call Math.random. `SeededRng` is
 * xoshiro128** seeded through SHA-256, and `derive(label)` gives independent sub-streams, so one
 * root seed reproduces a whole simulation.
 */
import { createHash } from 'node:crypto';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** An independent generator for a named purpose. */
  derive(label: string): Rng;
}

export class SeededRng implements Rng {
  readonly seed: string;
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  constructor(seed: string | number | bigint) {
    this.seed = String(seed);
    const h = createHash('sha256').update(`verity-rng:${this.seed}`).digest();
    this.#s0 = h.readUInt32LE(0);
    this.#s1 = h.readUInt32LE(4);
    this.#s2 = h.readUInt32LE(8);
    this.#s3 = h.readUInt32LE(12);
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  #nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  next(): number {
    // 53 random bits → a double in [0, 1).
    const hi = this.#nextU32() >>> 5;
    const lo = this.#nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  derive(label: string): Rng {
    return new SeededRng(`${this.seed}/${label}`);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Fisher–Yates shuffle (in place) driven by `rng`. */
export function shuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
