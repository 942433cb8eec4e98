/**
 * Safety checkers. They observe every commit and every signature of every node and record a
 * violation the moment one appears:
 *  - agreement: no two honest nodes commit different blocks at one height;
 *  - identical state root, log size and log root at each height on every honest node;
 *  - log consistency: each node's tree head at a new height extends (RFC 9162 consistency proof)
 *    the one before;
 *  - validity: every committed transaction was submitted by the workload;
 *  - no honest double-sign: an honest validator never signs two different messages for one slot.
 */

import type { SignSlot } from '../../consensus/types.ts';
import { toHex } from '../../crypto/bytes.ts';

export interface Violation {
  readonly kind: 'agreement' | 'state-divergence' | 'log-inconsistent' | 'validity' | 'double-sign';
  readonly time: number;
  readonly detail: string;
}

interface HeightRecord {
  readonly hash: string;
  readonly stateRoot: string;
  readonly logSize: number;
  readonly logRoot: string;
  readonly node: number;
}

export class SafetyChecker {
  readonly violations: Violation[] = [];
  readonly #heights = new Map<number, HeightRecord>();
  readonly #signed = new Map<string, string>();
  readonly #submitted = new Set<string>();
  committedTxs = 0;
  maxHeight = 0;

  submitted(id: Uint8Array): void {
    this.#submitted.add(toHex(id));
  }

  #violate(kind: Violation['kind'], time: number, detail: string): void {
    if (this.violations.length < 100) this.violations.push({ kind, time, detail });
  }

  onCommit(
    time: number,
    node: number,
    c: {
      height: number;
      hash: Uint8Array;
      stateRoot: Uint8Array;
      logSize: number;
      logRoot: Uint8Array;
      txIds: Uint8Array[];
    },
  ): void {
    const rec: HeightRecord = {
      hash: toHex(c.hash),
      stateRoot: toHex(c.stateRoot),
      logSize: c.logSize,
      logRoot: toHex(c.logRoot),
      node,
    };
    const prior = this.#heights.get(c.height);
    if (prior === undefined) {
      this.#heights.set(c.height, rec);
      this.maxHeight = Math.max(this.maxHeight, c.height);
      this.committedTxs += c.txIds.length;
      for (const id of c.txIds) {
        if (!this.#submitted.has(toHex(id)))
          this.#violate('validity', time, `height ${c.height}: transaction ${toHex(id)} was never submitted`);
      }
    } else {
      if (prior.hash !== rec.hash) {
        this.#violate(
          'agreement',
          time,
          `height ${c.height}: node ${node} committed ${rec.hash.slice(0, 16)}, node ${prior.node} committed ${prior.hash.slice(0, 16)}`,
        );
      } else if (
        prior.stateRoot !== rec.stateRoot ||
        prior.logRoot !== rec.logRoot ||
        prior.logSize !== rec.logSize
      ) {
        this.#violate(
          'state-divergence',
          time,
          `height ${c.height}: node ${node} state/log roots differ from node ${prior.node}`,
        );
      }
    }
  }

  logInconsistent(time: number, node: number, size1: number, size2: number): void {
    this.#violate(
      'log-inconsistent',
      time,
      `node ${node}: log of size ${size2} does not extend its tree head of size ${size1}`,
    );
  }

  /** An honest validator's signature. Twins (Byzantine) are not reported here. */
  onSigned(
    time: number,
    validator: number,
    slot: SignSlot | undefined,
    hash: Uint8Array,
    description: string,
  ): void {
    if (slot === undefined) return;
    const key = `${validator}/${slot.height}/${slot.round}/${slot.step}`;
    const h = toHex(hash);
    const prior = this.#signed.get(key);
    if (prior === undefined) this.#signed.set(key, h);
    else if (prior !== h)
      this.#violate(
        'double-sign',
        time,
        `validator ${validator} signed two messages for ${key}: ${description}`,
      );
  }

  get safe(): boolean {
    return this.violations.length === 0;
  }
}
