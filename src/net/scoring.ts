/**
 * Peer scoring: every reported misbehaviour lowers a peer's score; the score recovers linearly
 * with time (an honest peer's rare glitch is forgotten), and a peer whose score falls to the ban
 * threshold is disconnected and refused for a cool-down period, after which it starts afresh.
 */

export interface ScoringOptions {
  /** Points lost per minor offence (default 10). */
  readonly minorPenalty?: number;
  /** Points lost per major offence (default 60). */
  readonly majorPenalty?: number;
  /**
   * A score at or below −banThreshold bans the peer (default 100: two major offences within 20 s,
   * or ten minor ones in quick succession).
   */
  readonly banThreshold?: number;
  /** Points regained per second (default 1). */
  readonly recoveryPerSecond?: number;
  /** How long a banned peer is refused (default 30 s). */
  readonly cooldownMs?: number;
}

export type Severity = 'minor' | 'major';

interface Entry {
  score: number;
  at: number;
  bannedUntil: number;
}

export interface PenaltyOutcome {
  readonly score: number;
  /** True when this penalty banned the peer (false if it already was). */
  readonly banned: boolean;
}

/** Entries kept before recovered ones are pruned (hostile ids must not grow the table). */
const PRUNE_ABOVE = 4096;

export class PeerScores {
  readonly minorPenalty: number;
  readonly majorPenalty: number;
  readonly banThreshold: number;
  readonly recoveryPerSecond: number;
  readonly cooldownMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(opts: ScoringOptions = {}, now: () => number = Date.now) {
    this.minorPenalty = opts.minorPenalty ?? 10;
    this.majorPenalty = opts.majorPenalty ?? 60;
    this.banThreshold = opts.banThreshold ?? 100;
    this.recoveryPerSecond = opts.recoveryPerSecond ?? 1;
    this.cooldownMs = opts.cooldownMs ?? 30_000;
    this.#now = now;
  }

  /** Current score: 0 is neutral, negative is bad. */
  score(peer: string): number {
    const e = this.#refresh(peer);
    return e === undefined ? 0 : e.score;
  }

  penalize(peer: string, severity: Severity): PenaltyOutcome {
    const now = this.#now();
    let e = this.#refresh(peer);
    if (e === undefined) {
      if (this.#entries.size >= PRUNE_ABOVE) this.#prune();
      e = { score: 0, at: now, bannedUntil: 0 };
      this.#entries.set(peer, e);
    }
    e.score -= severity === 'major' ? this.majorPenalty : this.minorPenalty;
    if (e.bannedUntil > now) return { score: e.score, banned: false };
    if (e.score <= -this.banThreshold) {
      e.bannedUntil = now + this.cooldownMs;
      return { score: e.score, banned: true };
    }
    return { score: e.score, banned: false };
  }

  isBanned(peer: string): boolean {
    const e = this.#refresh(peer);
    return e !== undefined && e.bannedUntil > this.#now();
  }

  /** When the ban of `peer` ends (0 if it is not banned). */
  bannedUntil(peer: string): number {
    const e = this.#refresh(peer);
    return e !== undefined && e.bannedUntil > this.#now() ? e.bannedUntil : 0;
  }

  banned(): string[] {
    return [...this.#entries.keys()].filter((p) => this.isBanned(p));
  }

  /** Applies recovery (and the end of a ban: the peer starts afresh) up to now. */
  #refresh(peer: string): Entry | undefined {
    const e = this.#entries.get(peer);
    if (e === undefined) return undefined;
    const now = this.#now();
    if (e.bannedUntil > 0 && e.bannedUntil <= now) {
      e.bannedUntil = 0;
      e.score = 0;
      e.at = now;
    } else if (e.bannedUntil === 0 && now > e.at) {
      e.score = Math.min(0, e.score + ((now - e.at) / 1000) * this.recoveryPerSecond);
      e.at = now;
    } else {
      e.at = Math.max(e.at, now);
    }
    if (e.score === 0 && e.bannedUntil === 0) {
      this.#entries.delete(peer);
      return undefined;
    }
    return e;
  }

  #prune(): void {
    for (const peer of [...this.#entries.keys()]) this.#refresh(peer);
  }
}
