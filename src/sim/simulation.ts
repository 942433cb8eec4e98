/**
 * The deterministic simulator: one process, virtual time, one root seed. It runs the very same
 * runtime and engine code as the node, over a simulated network, simulated disks and skewed
 * virtual clocks, injects faults, and checks safety on every commit and liveness after healing.
 *
 * Phases: (1) fault phase for `durationMs` — network faults, crashes, pauses, partitions,
 * Byzantine validators, as the fault plan (fault-plan.ts) schedules them; (2) liveness phase — the network heals, crashed honest nodes restart, and
 * every honest node must commit at least `livenessBlocks` new blocks within `livenessMs`. The
 * run is live only if that healed honest core can form a quorum on its own (≥ n − f honest
 * validators and a quorum of the voting power — > 2/3 for BFT engines, > 1/2 for CFT); with
 * fewer (more Byzantine or permanently crashed validators than tolerated) liveness cannot be
 * demonstrated and `live` is false, with the reason in `livenessFailure`.
 *
 * Checks on every honest commit (checkers.ts): agreement, validity (submitted, no transaction
 * taking effect twice), identical roots per height, the node's committed store (log size and
 * root, state trie) against the header, log consistency between successive tree heads. The store
 * and consistency checks are asynchronous reads; they are collected and awaited after every
 * event, before the next one runs (so they read the store the commit left, and never race a
 * crash), which adds no events and leaves the trace unchanged.
 *
 * Same options ⇒ same trace hash: every delivery, timer and commit is folded into a SHA-256 trace.
 * `replayCommand` prints the `verity sim` command line that reproduces a run exactly.
 *
 * This file holds what a run takes, gives and lets a scenario do; the run itself, phase by
 * phase, is sim-run.ts.
 */

import type { EngineModule, LeaderOverride, SignSlot } from '../../consensus/types.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import type { EncodedTransaction } from '../../ledger/tx.ts';
import type { AdmitResult } from '../runtime/mempool.ts';
import type { Channel } from '../runtime/ports.ts';
import type { ConsensusRuntime } from '../runtime/runtime.ts';
import type { ByzantineMode } from './byzantine.ts';
import type { Violation } from './checkers.ts';
import { FAULT_KINDS, type FaultKind } from './fault-plan.ts';
import { SimRun } from './sim-run.ts';
import type { WalDamage, WalDamageKind } from './storage-faults.ts';
import type { VectorTraceOptions } from './vector-trace.ts';

export { FAULT_KINDS, type FaultKind };

export interface SimOptions {
  readonly engine: EngineModule<unknown>;
  readonly engineParams?: EngineParams;
  readonly nodes: number;
  readonly byzantine: number;
  readonly byzantineMode: ByzantineMode;
  readonly faults: ReadonlySet<FaultKind>;
  readonly seed: string;
  readonly durationMs: number;
  readonly txs: number;
  readonly livenessMs?: number;
  readonly livenessBlocks?: number;
  /** Maximum virtual time of the whole run (safety valve). */
  readonly maxEvents?: number;
  /** Use the real ed25519 verifier for every message (no cross-node memo). */
  readonly uncachedVerify?: boolean;
  readonly onProgress?: (p: { phase: 'faults' | 'liveness'; timeMs: number; height: number }) => void;
  /** Debugging: receives every runtime log line with its node and virtual time. */
  readonly log?: (line: string) => void;
  /** Targeted scenarios: schedule crashes, restarts, injections… (see SimControl). */
  readonly scenario?: (ctl: SimControl) => void;
  /**
   * Which validators are Byzantine (exactly `byzantine` of them), instead of the seed's choice —
   * for scenarios that name instances (Twins, twins.ts). The seed's draw is still made, so every
   * other random stream is as without it.
   */
  readonly byzantineValidators?: readonly number[];
  /** The runtime's state-sync lead (RuntimeOptions.snapshotLead); its default when absent. */
  readonly snapshotLead?: number;
  /** The runtime's floor under the block interval (RuntimeOptions.minBlockIntervalMs); 0 when absent. */
  readonly minBlockIntervalMs?: number;
  /** The runtime's floor when busy (RuntimeOptions.busyBlockIntervalMs); the minimum when absent. */
  readonly busyBlockIntervalMs?: number;
  /**
   * How busy every node reports itself, 0 to 1 (RuntimeOptions.load; a real node measures its
   * event loop): a fixed value, so a run replays. 0 when absent.
   */
  readonly load?: number;
  /**
   * Proof of Work: each validator's share of the hash power, as relative weights (one per
   * validator; a Byzantine validator's twin mines with its share). Default: equal shares.
   */
  readonly hashPower?: readonly number[];
  /** Inspect the nodes at the end of the run, before they stop. */
  readonly inspect?: (ctl: SimControl) => Promise<void> | void;
  /**
   * Debugging: record every message with vector clocks (vector-trace.ts); the ShiViz log comes
   * back as `SimResult.vectorTrace`. Recording adds no events and leaves the trace hash unchanged.
   */
  readonly vectorTrace?: VectorTraceOptions;
  /**
   * Genesis `staking` (ledger/staking/config.ts): the validator set changes by epoch through
   * transactions a scenario submits. `candidates` more nodes run with validator keys
   * `nodes … nodes + candidates − 1` that genesis does not list (funded, so they can bond).
   */
  readonly staking?: { readonly config: Record<string, unknown>; readonly candidates?: number };
  /**
   * The leader at each rotation position, the same for every node (EngineContext.leaderOverride):
   * Twins scenarios choose leaders with it. Only engines whose module says `leaderRotation`.
   */
  readonly leaderOverride?: LeaderOverride;
}

/** What a scenario can do to a running simulation. Times are simulated ms from the start. */
export interface SimControl {
  now(): number;
  at(ms: number, fn: () => Promise<void> | void): void;
  /** Instance ids of a validator (two for twins). */
  instancesOf(validator: number): number[];
  runtime(instance: number): ConsensusRuntime<unknown> | undefined;
  /** Crashes an instance; `permanent` ones are not restarted and not required to be live. */
  crash(instance: number, opts?: { loseUnsynced?: boolean; permanent?: boolean }): void;
  /**
   * Restarts a crashed instance; `wipeWal` simulates a validator that lost its consensus WAL (its
   * sign fence survives, as it does on disk: the node must notice), `wipeFence` the fence too.
   */
  restart(
    instance: number,
    opts?: { wipeWal?: boolean; wipeFence?: boolean; wipeChain?: boolean },
  ): Promise<void>;
  /**
   * Loses every message `drop` returns true for, from now on (undefined: none). Instances are
   * network endpoints; consensus messages can be opened with the engine's codec to pick by kind.
   */
  dropMessages(
    drop: ((from: number, to: number, channel: Channel, bytes: Uint8Array) => boolean) | undefined,
  ): void;
  /**
   * Damages one record of a crashed instance's WAL (storage-faults.ts); the instance must notice
   * when it restarts, or the run records a `storage-unnoticed` violation.
   */
  damageWal(instance: number, kind?: WalDamageKind): Promise<WalDamage | undefined>;
  /** Sets an instance's clock to read `ms` ahead of true time (negative: behind). */
  setSkew(instance: number, ms: number): void;
  /** Delivers raw bytes to every up instance as if sent by `fromPeer`. */
  inject(fromPeer: string, channel: Channel, bytes: Uint8Array): void;
  /** Submits a transaction to an instance (recorded as submitted, as the workload's are). */
  submit(instance: number, etx: EncodedTransaction): Promise<AdmitResult>;
  /** Called after every signature an honest instance makes. */
  onSigned(cb: (instance: number, slot: SignSlot | undefined, description: string) => void): void;
}

export interface SimResult {
  readonly engine: string;
  readonly nodes: number;
  readonly byzantine: number;
  readonly byzantineMode: ByzantineMode;
  readonly tolerated: boolean;
  readonly seed: string;
  readonly simulatedMs: number;
  readonly committedHeight: number;
  /** Committed transactions of the workload's budget (`txs`). */
  readonly committedTxs: number;
  /**
   * Committed transactions beyond the budget, submitted after healing so that an engine that
   * makes no empty blocks (EngineModule.emptyBlocks) has blocks to make; 0 for the others.
   */
  readonly demandTxs: number;
  /** Reads the simulator asked of an engine that confirms them: served, and refused (typed). */
  readonly reads: { readonly served: number; readonly failed: number };
  readonly viewChanges: number;
  readonly messages: number;
  readonly bytes: number;
  readonly safe: boolean;
  readonly live: boolean;
  /** Why the run is not live (undefined when it is). */
  readonly livenessFailure?: string;
  readonly violations: readonly Violation[];
  readonly traceHash: string;
  /** Free-text misbehaviour reports of the engines (invalid messages, duplicate proposals…). */
  readonly engineReports: number;
  /**
   * Verified equivocation evidence the honest nodes hold (consensus/evidence.ts), one per
   * (validator, slot), in order of validator then slot.
   */
  readonly evidence: ReadonlyArray<{ readonly validator: number; readonly slot: SignSlot }>;
  /** The same evidence, encoded (consensus/evidence.ts): what `verity evidence verify` checks offline. */
  readonly evidenceBytes: readonly Uint8Array[];
  readonly refusedDoubleSigns: number;
  /** WAL records the `corrupt` fault damaged (storage-faults.ts); each must have been noticed. */
  readonly walRecordsDamaged: number;
  readonly wallMs: number;
  /**
   * For a chain whose tip can reorganize (Proof of Work): blocks mined by every miner, the share
   * that did not end on the best chain an honest node holds, and the deepest reorganization an
   * honest node went through. Absent when nothing was mined.
   */
  readonly mining?: { readonly mined: number; readonly orphanRate: number; readonly maxReorgDepth: number };
  /** The ShiViz log (vector-trace.ts), when `vectorTrace` was asked for. */
  readonly vectorTrace?: string;
  /** Final state of every node instance (for diagnosis). */
  readonly nodeStates: ReadonlyArray<{
    id: number;
    validator: number;
    byzantine: boolean;
    up: boolean;
    height: number;
    status: unknown;
  }>;
}

/**
 * The largest block-interval floor a simulation takes (SimOptions.minBlockIntervalMs): what
 * `verity sim --min-block-interval` and the long sweep accept too, so every run's replay command
 * replays it.
 */
export const MAX_SIM_MIN_BLOCK_INTERVAL_MS = 1000;

/** Both floors (ms) within what a simulation takes (MAX_SIM_MIN_BLOCK_INTERVAL_MS). */
function checkFloors(o: SimOptions): void {
  for (const name of ['minBlockIntervalMs', 'busyBlockIntervalMs'] as const) {
    const ms = o[name] ?? 0;
    if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_SIM_MIN_BLOCK_INTERVAL_MS)
      throw new RangeError(
        `${name} must be an integer from 0 to ${MAX_SIM_MIN_BLOCK_INTERVAL_MS}, not ${ms}`,
      );
  }
}

export async function runSimulation(o: SimOptions): Promise<SimResult> {
  checkFloors(o);
  if (o.load !== undefined && !(o.load >= 0 && o.load <= 1))
    throw new RangeError(`load must be from 0 to 1, not ${o.load}`);
  const describe = () =>
    `${replayCommand(o)}${o.byzantineValidators === undefined ? '' : ` (byzantine validators ${o.byzantineValidators.join(',')})`}`;
  return new SimRun(o, describe).run();
}

/** POSIX shell quoting: bare when only safe characters, else single quotes. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The `verity sim` command line that replays a run: every option the command has a flag for,
 * exactly (the fault phase in ms, values shell-quoted). Options without a flag (`livenessMs`,
 * `livenessBlocks`, `maxEvents`, `uncachedVerify`, scenarios) are not representable; the sweeps,
 * whose failures this prints, use none of them.
 */
export function replayCommand(o: SimOptions): string {
  const params = Object.entries(o.engineParams ?? {});
  const engine = `${o.engine.name}${params.length ? `:${params.map(([k, v]) => `${k}=${v}`).join(',')}` : ''}`;
  const faults = FAULT_KINDS.filter((f) => o.faults.has(f)).join(',');
  const duration = o.durationMs % 1000 === 0 ? `${o.durationMs / 1000}s` : `${o.durationMs}ms`;
  return [
    'verity sim',
    `--engine ${shellQuote(engine)}`,
    `--nodes ${o.nodes}`,
    `--byzantine ${o.byzantine}`,
    `--byzantine-mode ${o.byzantineMode}`,
    faults ? `--faults ${faults}` : '',
    `--seed ${shellQuote(o.seed)}`,
    `--duration ${duration}`,
    `--txs ${o.txs}`,
    o.hashPower === undefined ? '' : `--hash-power ${o.hashPower.join(',')}`,
    o.minBlockIntervalMs ? `--min-block-interval ${o.minBlockIntervalMs}` : '',
    // (Apart, the two do nothing, and the command refuses one without the other.)
    o.load
      ? `--busy-block-interval ${o.busyBlockIntervalMs ?? o.minBlockIntervalMs ?? 0} --load ${o.load}`
      : '',
  ]
    .filter(Boolean)
    .join(' ');
}
