/**
 * The runtime's environment, injected: the node wires libp2p, real timers and the system clock;
 * the simulator wires a virtual network, virtual timers and skewed virtual clocks. The runtime and
 * the engines cannot tell the difference.
 */

/** Channels multiplexed over one peer connection. */
export type Channel = 'consensus' | 'tx' | 'sync';

export type MessageHandler = (from: string, channel: Channel, bytes: Uint8Array) => void;

export interface Transport {
  /** This node's peer id. */
  readonly self: string;
  send(to: string, channel: Channel, bytes: Uint8Array): void;
  /** To every connected peer (not to self). */
  broadcast(channel: Channel, bytes: Uint8Array): void;
  /** Registers the (single) handler for inbound messages. */
  onMessage(handler: MessageHandler): void;
  /** Connected peers. */
  peers(): string[];
  /** Reports a misbehaving peer (the transport may score it down and disconnect). */
  penalize(peer: string, reason: string, severity: 'minor' | 'major'): void;
  /**
   * The validators' peer ids changed (a new epoch: ledger/staking). A permissioned transport
   * admits them from now on, beside those it admitted before (a departed validator may still be
   * finishing the old epoch, and serves blocks like any peer). Optional: an open transport needs
   * nothing.
   */
  admitValidators?(peerIds: readonly string[]): void;
}

export interface Timers {
  /** (Re)arms timer `id` to fire `cb` after `ms`; an armed timer with the same id is replaced. */
  set(id: string, ms: number, cb: () => void): void;
  cancel(id: string): void;
  cancelAll(): void;
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/**
 * A Proof-of-Work job (consensus/types.ts `mine`): vary the last 8 bytes of `header` (the nonce)
 * until SHA-256 of it, read big-endian, is at most `target`.
 */
export interface MineJob {
  readonly header: Uint8Array;
  readonly target: bigint;
}

/**
 * Grinds nonces for the engine, off the engine's step: the node grinds in slices so its event loop
 * keeps serving (src/runtime/grinding-miner.ts); the simulator draws the time to a solution from
 * its seeded RNG and its hash-rate model, then grinds the (easy) target for real (src/sim).
 */
export interface Miner {
  /** Starts `job`, replacing any job in progress; `solved` gets the winning header bytes. */
  mine(job: MineJob, solved: (header: Uint8Array) => void): void;
  /** Abandons the job in progress (its `solved` is never called). */
  cancel(): void;
  /** Releases what mining holds (the node's worker thread): the runtime stopped for good. */
  close?(): Promise<void>;
}
