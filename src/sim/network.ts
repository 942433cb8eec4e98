/**
 * The simulated network: endpoints (node instances) exchange messages through per-link fault
 * models driven by one seeded RNG — latency with jitter (hence reordering), loss, duplication
 * (a delayed second copy is a replay), symmetric and asymmetric cuts (partitions, swizzle-clog),
 * and paused receivers. Every delivery is an event in the shared virtual-time queue.
 */
import type { Rng } from '../../consensus/rng.ts';
import type { Channel, MessageHandler, Transport } from '../runtime/ports.ts';
import type { EventQueue } from './event-queue.ts';

export interface NetworkFaults {
  /** Probability a message is lost. */
  loss: number;
  /** Probability a message is delivered twice (the copy arrives up to `replayMaxMs` later). */
  duplicate: number;
  replayMaxMs: number;
  /** Latency: min + uniform jitter. Jitter beyond the gap between messages reorders them. */
  minLatencyMs: number;
  jitterMs: number;
}

export const CALM: NetworkFaults = { loss: 0, duplicate: 0, replayMaxMs: 0, minLatencyMs: 5, jitterMs: 20 };

interface Endpoint {
  readonly id: number;
  readonly peerId: string;
  handler: MessageHandler | undefined;
  up: boolean;
  pausedUntil: number;
  penalties: number;
}

export type DeliveryObserver = (ev: {
  time: number;
  from: number;
  to: number;
  channel: Channel;
  bytes: Uint8Array;
  duplicate: boolean;
  /** The delivery id of the send this delivers (a duplicate shares its original's). */
  msg: number;
}) => void;

/** What became of a send at send time: scheduled for delivery, or why it never will be. */
export type SendFate = 'scheduled' | 'cut' | 'down' | 'dropped' | 'lost';

/** Sees every point-to-point send (a broadcast is one per destination), with its delivery id. */
export type SendObserver = (ev: {
  time: number;
  from: number;
  to: number;
  channel: Channel;
  bytes: Uint8Array;
  msg: number;
  fate: SendFate;
}) => void;

export class SimNetwork {
  readonly #queue: EventQueue;
  readonly #rng: Rng;
  readonly #now: () => number;
  readonly #endpoints: Endpoint[] = [];
  /** Cut links "from→to". */
  readonly #cut = new Set<string>();
  faults: NetworkFaults = { ...CALM };
  observer: DeliveryObserver | undefined;
  /** Debugging (vector-clock traces): every send, with the id its deliveries will carry. */
  sendObserver: SendObserver | undefined;
  #nextMsg = 0;
  /**
   * A scenario's adversary: messages it returns true for are lost (a schedule that picks which
   * votes or which leaders get through — the Twins paper's per-round partitions, by message).
   */
  drop: ((from: number, to: number, channel: Channel, bytes: Uint8Array) => boolean) | undefined;
  messages = 0;
  bytes = 0;

  constructor(queue: EventQueue, rng: Rng, now: () => number) {
    this.#queue = queue;
    this.#rng = rng;
    this.#now = now;
  }

  /** Adds an endpoint; returns its instance id. Twins share a peer id. */
  addEndpoint(peerId: string): number {
    const id = this.#endpoints.length;
    this.#endpoints.push({ id, peerId, handler: undefined, up: true, pausedUntil: 0, penalties: 0 });
    return id;
  }

  endpoint(id: number): Endpoint {
    return this.#endpoints[id] as Endpoint;
  }

  get size(): number {
    return this.#endpoints.length;
  }

  transport(id: number): Transport {
    const ep = this.endpoint(id);
    return {
      self: ep.peerId,
      send: (to, channel, bytes) => {
        for (const dst of this.#endpoints)
          if (dst.peerId === to && dst.id !== id) this.#transmit(id, dst.id, channel, bytes);
      },
      broadcast: (channel, bytes) => {
        for (const dst of this.#endpoints) if (dst.id !== id) this.#transmit(id, dst.id, channel, bytes);
      },
      onMessage: (handler) => {
        ep.handler = handler;
      },
      peers: () => this.#endpoints.filter((e) => e.id !== id && e.up).map((e) => e.peerId),
      penalize: () => {
        ep.penalties++;
      },
    };
  }

  setUp(id: number, up: boolean): void {
    const ep = this.endpoint(id);
    ep.up = up;
    if (!up) ep.handler = undefined;
  }

  pause(id: number, untilMs: number): void {
    this.endpoint(id).pausedUntil = untilMs;
  }

  cut(from: number, to: number): void {
    this.#cut.add(`${from}>${to}`);
  }

  restore(from: number, to: number): void {
    this.#cut.delete(`${from}>${to}`);
  }

  isCut(from: number, to: number): boolean {
    return this.#cut.has(`${from}>${to}`);
  }

  /** Splits endpoints into groups that cannot talk across (symmetric partition). */
  partition(groups: number[][]): void {
    const groupOf = new Map<number, number>();
    groups.forEach((g, i) => {
      for (const id of g) groupOf.set(id, i);
    });
    for (const a of this.#endpoints) {
      for (const b of this.#endpoints) {
        if (a.id !== b.id && groupOf.get(a.id) !== groupOf.get(b.id)) this.cut(a.id, b.id);
      }
    }
  }

  healAll(): void {
    this.#cut.clear();
    for (const ep of this.#endpoints) ep.pausedUntil = 0;
  }

  links(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const a of this.#endpoints)
      for (const b of this.#endpoints) if (a.id !== b.id) out.push([a.id, b.id]);
    return out;
  }

  #transmit(from: number, to: number, channel: Channel, bytes: Uint8Array): void {
    this.messages++;
    this.bytes += bytes.length;
    const msg = this.#nextMsg++;
    const seen = (fate: SendFate) =>
      this.sendObserver?.({ time: this.#now(), from, to, channel, bytes, msg, fate });
    const f = this.faults;
    const fate: SendFate = this.#cut.has(`${from}>${to}`)
      ? 'cut'
      : !this.endpoint(to).up
        ? 'down'
        : this.drop?.(from, to, channel, bytes)
          ? 'dropped'
          : this.#rng.chance(f.loss)
            ? 'lost'
            : 'scheduled';
    seen(fate);
    if (fate !== 'scheduled') return;
    const now = this.#now();
    const latency = Math.round(f.minLatencyMs + this.#rng.next() * f.jitterMs);
    this.#schedule(now + latency, from, to, channel, bytes, false, msg);
    if (this.#rng.chance(f.duplicate)) {
      this.#schedule(
        now + latency + Math.round(this.#rng.next() * f.replayMaxMs),
        from,
        to,
        channel,
        bytes,
        true,
        msg,
      );
    }
  }

  #schedule(
    at: number,
    from: number,
    to: number,
    channel: Channel,
    bytes: Uint8Array,
    duplicate: boolean,
    msg: number,
  ): void {
    this.#queue.push(at, () => this.#deliver(from, to, channel, bytes, duplicate, msg));
  }

  #deliver(
    from: number,
    to: number,
    channel: Channel,
    bytes: Uint8Array,
    duplicate: boolean,
    msg: number,
  ): void {
    const ep = this.endpoint(to);
    if (!ep.up || ep.handler === undefined) return;
    const now = this.#now();
    if (ep.pausedUntil > now) {
      // A paused process picks its messages up when it resumes.
      this.#queue.push(ep.pausedUntil, () => this.#deliver(from, to, channel, bytes, duplicate, msg));
      return;
    }
    this.observer?.({ time: now, from, to, channel, bytes, duplicate, msg });
    ep.handler(this.endpoint(from).peerId, channel, bytes);
  }
}
