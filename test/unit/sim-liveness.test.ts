import { describe, expect, it } from 'vitest';
import { BYZANTINE_FAULTS } from '../../consensus/fault-model.ts';
import { tendermint } from '../../consensus/tendermint/index.ts';
import { livenessFailure } from '../../src/sim/liveness.ts';
import { EngineCluster } from '../helpers/engine-cluster.ts';

describe('the simulator’s liveness verdict', () => {
  const validators = new EngineCluster({ engine: tendermint, n: 4 }).validators;
  const verdict = (honest: Array<[number, number]>) =>
    livenessFailure({
      model: BYZANTINE_FAULTS,
      validators,
      honest: honest.map(([validator, height]) => ({ validator, height })),
      target: 10,
      blocks: 2,
      withinMs: 30_000,
    });

  it('is live when an honest core of n − f reached the target, and names the laggard otherwise', () => {
    expect(
      verdict([
        [0, 10],
        [1, 11],
        [2, 10],
      ]),
    ).toBeUndefined();
    expect(
      verdict([
        [0, 10],
        [1, 9],
        [2, 10],
      ]),
    ).toMatch(/heights 10, 9, 10/);
  });

  it('cannot be demonstrated by a core smaller than n − f, however far it got (no vacuous pass)', () => {
    expect(
      verdict([
        [0, 50],
        [1, 50],
      ]),
    ).toMatch(/cannot form a quorum .*not demonstrable/);
    expect(verdict([])).toMatch(/not demonstrable/);
    // Twins count once: two instances of one validator are not two validators.
    expect(
      verdict([
        [0, 50],
        [0, 50],
        [1, 50],
      ]),
    ).toMatch(/not demonstrable/);
  });
});
