import { describe, expect, it } from 'vitest';
import { InvariantError, invariant, VerityError } from '../../crypto/errors.ts';

describe('invariant()', () => {
  it('passes when the condition holds, and builds a lazy message only on failure', () => {
    let built = 0;
    invariant(true, () => {
      built++;
      return 'never';
    });
    expect(built).toBe(0);
  });

  it('throws an InvariantError that no typed-input handler mistakes for a VerityError', () => {
    let caught: unknown;
    try {
      invariant(1 + 1 === 3, () => 'arithmetic');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvariantError);
    expect(caught).not.toBeInstanceOf(VerityError);
    expect((caught as Error).message).toBe('invariant broken: arithmetic');
    expect((caught as { code?: unknown }).code).toBeUndefined();
  });
});
