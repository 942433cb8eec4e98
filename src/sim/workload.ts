/**
 * The simulator's workload: each funded account keeps one transfer in flight, submitted to a
 * random live honest node and re-submitted (to another) if not committed within 4 s, until
 * `txs` have been submitted. Every random choice comes from its own seeded source. After healing,
 * an engine that makes no empty blocks gets a trickle of further transactions (`demand`), one
 * per tick, so that its liveness shows as new blocks.
 */
import type { Rng } from '../../consensus/rng.ts';
import { toHex } from '../../crypto/bytes.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { type EncodedTransaction, signTransaction } from '../../ledger/tx.ts';
import type { ConsensusRuntime } from '../runtime/runtime.ts';
import { accountKeys } from './sim-world.ts';

const RESUBMIT_AFTER_MS = 4000;

export interface WorkloadOptions {
  readonly chainId: string;
  readonly rng: Rng;
  /** How many transactions to submit in all. */
  readonly txs: number;
  readonly now: () => number;
  /** The nodes a transaction may be submitted to now. */
  readonly targets: () => ReadonlyArray<{ readonly runtime: ConsensusRuntime<unknown> | undefined }>;
  /** Told of every new transaction (the validity checker); `demand` beyond the budget. */
  readonly submitted: (id: Uint8Array, demand: boolean) => void;
}

export class Workload {
  readonly #o: WorkloadOptions;
  readonly #nonces = accountKeys.map(() => 0);
  readonly #inflight = new Map<number, { id: string; bytes: EncodedTransaction; since: number }>();
  readonly #committed = new Set<string>();
  #submitted = 0;
  #demand = false;

  constructor(o: WorkloadOptions) {
    this.#o = o;
  }

  /** A transaction (hex id) committed somewhere: its account moves on to the next nonce. */
  onCommitted(id: string): void {
    if (this.#committed.has(id)) return;
    this.#committed.add(id);
    for (const [acct, f] of this.#inflight) {
      if (f.id === id) {
        this.#inflight.delete(acct);
        this.#nonces[acct] = (this.#nonces[acct] as number) + 1;
      }
    }
  }

  /** From now on, one transaction beyond the budget per tick (see the module comment). */
  demand(): void {
    this.#demand = true;
  }

  async tick(): Promise<void> {
    const o = this.#o;
    const live = o.targets();
    if (live.length === 0) return;
    const now = o.now();
    let extra = this.#demand ? 1 : 0;
    for (let acct = 0; acct < accountKeys.length; acct++) {
      const f = this.#inflight.get(acct);
      const target = live[o.rng.int(live.length)] as (typeof live)[number];
      if (f !== undefined) {
        if (now - f.since > RESUBMIT_AFTER_MS) {
          f.since = now;
          await target.runtime?.submit(f.bytes);
        }
        continue;
      }
      const demand = this.#submitted >= o.txs;
      if (demand && extra-- <= 0) continue;
      const from = accountKeys[acct] as (typeof accountKeys)[number];
      const to = accountKeys[
        (acct + 1 + o.rng.int(accountKeys.length - 1)) % accountKeys.length
      ] as (typeof accountKeys)[number];
      const etx = signTransaction(
        {
          chainId: o.chainId,
          sender: from.publicKey,
          nonce: this.#nonces[acct] as number,
          op: {
            type: 'transfer',
            to: addressFromPublicKey(to.publicKey),
            amount: 1n + BigInt(o.rng.int(100)),
          },
        },
        from.secretKey,
      );
      o.submitted(etx.id, demand);
      this.#submitted++;
      this.#inflight.set(acct, { id: toHex(etx.id), bytes: etx, since: now });
      await target.runtime?.submit(etx);
    }
  }
}
