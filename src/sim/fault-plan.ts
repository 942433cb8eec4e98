/**
 * The fault plan: a pure function from a random source and the cluster's shape to the schedule of
 * faults a simulation runs — network rates, clock skews, and timed actions (partitions, link cuts,
 * crashes, pauses, WAL damage, restarts). It touches no node: the simulation applies the actions
 * at their times. Being pure, a plan can be printed, tested and compared on its own.
 *
 * Draw order is part of the contract (same seed ⇒ same trace): skews, then network rates, then
 * one pass over the fault windows, then the contents of each partition in window order — the order
 * in which the simulator drew them when it chose a partition's sides only at the moment it began.
 */
import { type Rng, shuffle } from '../../consensus/rng.ts';

/** Simulated-fault names, as `verity sim --faults` takes them. */
export const FAULT_KINDS = [
  'loss',
  'dup',
  'reorder',
  'partition',
  'clog',
  'crash',
  'skew',
  'corrupt',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Kinds that are timed windows (the others set rates or skews for the whole fault phase). */
const WINDOW_KINDS: ReadonlySet<FaultKind> = new Set(['partition', 'clog', 'crash', 'corrupt']);

export interface PlanNode {
  /** Network endpoint id. */
  readonly id: number;
  /** Validator index (twins share one). */
  readonly validator: number;
  readonly byzantine: boolean;
}

export interface FaultPlanInput {
  readonly faults: ReadonlySet<FaultKind>;
  /** Length of the fault phase in ms; every action happens within it. */
  readonly durationMs: number;
  /** Every endpoint, in id order. */
  readonly nodes: readonly PlanNode[];
  /** Endpoints whose WAL the `corrupt` fault may damage (see storage-faults.ts). */
  readonly walVictims: readonly number[];
  /** Byzantine validators run as twins: partitions then also split each twin pair. */
  readonly twins: boolean;
}

/** One timed fault; `at` is ms since genesis. */
export type FaultAction =
  | { readonly at: number; readonly kind: 'partition'; readonly groups: readonly (readonly number[])[] }
  /** Directed links cut at once (an asymmetric partition). */
  | {
      readonly at: number;
      readonly kind: 'cut-links';
      readonly links: readonly (readonly [number, number])[];
    }
  | { readonly at: number; readonly kind: 'heal' }
  | { readonly at: number; readonly kind: 'cut'; readonly from: number; readonly to: number }
  | { readonly at: number; readonly kind: 'restore'; readonly from: number; readonly to: number }
  | { readonly at: number; readonly kind: 'crash'; readonly node: number; readonly loseUnsynced: boolean }
  | { readonly at: number; readonly kind: 'pause'; readonly node: number; readonly untilMs: number }
  /** Crash the node and damage one record of its WAL. */
  | { readonly at: number; readonly kind: 'corrupt-wal'; readonly node: number }
  | { readonly at: number; readonly kind: 'restart'; readonly node: number };

export interface NetworkRates {
  readonly loss?: number;
  readonly duplicate?: number;
  readonly replayMaxMs?: number;
  readonly jitterMs?: number;
}

export interface FaultPlan {
  readonly network: NetworkRates;
  /** Clock skew per endpoint id, in ms (absent: none). */
  readonly skewMs: ReadonlyMap<number, number>;
  /** In scheduling order: actions at one time run in this order. */
  readonly actions: readonly FaultAction[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function planFaults(rng: Rng, p: FaultPlanInput): FaultPlan {
  const skewMs = new Map<number, number>();
  if (p.faults.has('skew'))
    for (const n of p.nodes) skewMs.set(n.id, Math.round((rng.next() * 2 - 1) * 1500));

  const network: Mutable<NetworkRates> = {};
  if (p.faults.has('loss')) network.loss = 0.05 + rng.next() * 0.25;
  if (p.faults.has('dup')) {
    network.duplicate = 0.05 + rng.next() * 0.45;
    network.replayMaxMs = 3000;
  }
  if (p.faults.has('reorder')) network.jitterMs = 50 + rng.next() * 250;

  const ids = p.nodes.map((n) => n.id);
  const links: Array<[number, number]> = [];
  for (const a of ids) for (const b of ids) if (a !== b) links.push([a, b]);

  const kinds = FAULT_KINDS.filter(
    (k) => p.faults.has(k) && WINDOW_KINDS.has(k) && (k !== 'corrupt' || p.walVictims.length > 0),
  );
  const twinSplit = p.twins && p.nodes.some((n) => n.byzantine) && p.faults.has('partition');

  // A partition's sides are drawn after every window (see the header comment): until then its
  // slot in `actions` holds a placeholder.
  const actions: Array<FaultAction | undefined> = [];
  const partitions: Array<{ slot: number; at: number; twins: boolean }> = [];
  let t = 2000;
  while (t < p.durationMs - 1000 && (kinds.length > 0 || twinSplit)) {
    const choice = twinSplit && rng.chance(0.5) ? 'twins' : kinds[rng.int(kinds.length)];
    const dur = 1000 + rng.int(4000);
    const start = t;
    const end = Math.min(start + dur, p.durationMs);
    if (choice === 'twins' || choice === 'partition') {
      partitions.push({ slot: actions.length, at: start, twins: choice === 'twins' });
      actions.push(undefined, { at: end, kind: 'heal' });
    } else if (choice === 'clog') {
      // Swizzle-clog: cut links one by one, then restore them in a random order.
      const cut = shuffle([...links], rng).slice(0, 1 + rng.int(links.length));
      const step = Math.max(20, Math.floor(dur / (2 * cut.length)));
      // A cut that would fall past the fault phase is left out: the liveness phase runs healed.
      // (Its restore stays, a no-op, so that no other time or draw depends on it.)
      for (const [i, [from, to]] of cut.entries())
        if (start + i * step <= p.durationMs) actions.push({ at: start + i * step, kind: 'cut', from, to });
      const restoreOrder = shuffle([...cut], rng);
      for (const [i, [from, to]] of restoreOrder.entries())
        actions.push({ at: start + (cut.length + i) * step, kind: 'restore', from, to });
    } else if (choice === 'corrupt') {
      const node = p.walVictims[rng.int(p.walVictims.length)] as number;
      actions.push({ at: start, kind: 'corrupt-wal', node }, { at: end, kind: 'restart', node });
    } else if (choice === 'crash') {
      const node = ids[rng.int(ids.length)] as number;
      const loseUnsynced = rng.chance(0.5);
      if (rng.chance(0.3)) actions.push({ at: start, kind: 'pause', node, untilMs: end });
      else actions.push({ at: start, kind: 'crash', node, loseUnsynced }, { at: end, kind: 'restart', node });
    }
    t += 500 + rng.int(2500);
  }

  for (const { slot, at, twins } of partitions) {
    if (twins) {
      // Twin A with half the honest nodes, twin B with the other half.
      const groups: number[][] = [[], []];
      const seen = new Map<number, number>();
      for (const n of p.nodes) {
        if (!n.byzantine) continue;
        const k = seen.get(n.validator) ?? 0;
        seen.set(n.validator, k + 1);
        (groups[k % 2] as number[]).push(n.id);
      }
      const honest = shuffle(
        p.nodes.filter((n) => !n.byzantine).map((n) => n.id),
        rng,
      );
      for (const [i, id] of honest.entries()) (groups[i % 2] as number[]).push(id);
      actions[slot] = { at, kind: 'partition', groups };
      continue;
    }
    const order = shuffle([...ids], rng);
    if (rng.chance(0.3)) {
      // Asymmetric: some links work one way only.
      actions[slot] = { at, kind: 'cut-links', links: links.filter(() => rng.chance(0.2)) };
    } else {
      const cutAt = 1 + rng.int(order.length - 1);
      actions[slot] = { at, kind: 'partition', groups: [order.slice(0, cutAt), order.slice(cutAt)] };
    }
  }
  return { network, skewMs, actions: actions as FaultAction[] };
}
