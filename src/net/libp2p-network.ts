/**
 * The node's network: libp2p 3 over TCP, Noise and Yamux, implementing the runtime's `Transport`.
 *
 *  - Permissioned. A connection gater admits only the genesis validators' peer ids (optionally
 *    plus non-validator full nodes, which may use 'tx' and 'sync' but never 'consensus'). An
 *    inbound stranger is refused right after the Noise handshake authenticates it
 *    (denyInboundEncryptedConnection, the first hook that knows the remote peer id), before any
 *    muxer or protocol runs; outbound dials to strangers are refused before dialling.
 *  - Inbound admission is split around the handshake (see inbound-guard.ts): before it the peer
 *    is unknown, so nobody is refused, but the sockets still handshaking are bounded per host and
 *    a flood's (never answered) ones evicted; after it, the per-host rate limit applies to all but
 *    validators.
 *  - One protocol per channel (/verity/<channel>/1.0.0). Each node sends on one long-lived
 *    outbound stream per (peer, channel) and only reads from streams the peer opened, so a
 *    stream carries frames in one direction, in order.
 *  - Frames are varint length-prefixed with a cap per channel, checked on the prefix before any
 *    payload is kept (see frame.ts). A violation resets that stream and scores the peer down.
 *  - `send`/`broadcast` never block: frames go to a bounded per-peer outbox (oldest 'tx' dropped
 *    first) drained by a pump that respects `send() === false` / `onDrain()`.
 *  - Every configured peer is dialled at start and redialled with capped, jittered exponential
 *    backoff whenever it drops. Penalties lower a score; at the threshold the peer is
 *    disconnected and refused for a cool-down, then let back in.
 *  - `stop()` clears every timer, resets every stream and stops libp2p: nothing keeps the process
 *    alive afterwards.
 */
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Connection, Libp2p, MultiaddrConnection, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { tcp } from '@libp2p/tcp';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import type { Channel, Logger, MessageHandler, Transport } from '../runtime/ports.ts';
import { silentLogger } from '../runtime/ports.ts';
import { type BackoffOptions, backoffDelay } from './backoff.ts';
import { waitForDrain } from './drain.ts';
import { NetError } from './errors.ts';
import { encodeFrameHeader, FrameDecoder, MAX_FRAME_CAP } from './frame.ts';
import { libp2pKeyFromSeed } from './identity.ts';
import { hostOf, InboundGuard } from './inbound-guard.ts';
import { verityNoise } from './noise.ts';
import { CHANNELS, Outbox, type OutboxLimits } from './outbox.ts';
import { PeerScores, type ScoringOptions, type Severity } from './scoring.ts';
import { lazyWindowUpdates } from './yamux-window.ts';

export const PROTOCOLS: Readonly<Record<Channel, string>> = {
  consensus: '/verity/consensus/1.0.0',
  tx: '/verity/tx/1.0.0',
  sync: '/verity/sync/1.0.0',
};

export const DEFAULT_MAX_FRAME_BYTES: Readonly<Record<Channel, number>> = {
  consensus: 1024 * 1024,
  tx: 128 * 1024,
  sync: 32 * 1024 * 1024,
};

/** Inbound streams a peer may hold open per protocol per connection (one, plus one replacing it). */
const MAX_INBOUND_STREAMS_PER_PROTOCOL = 2;
/** Connections one peer may hold to us at once (simultaneous dials make two; a restart may overlap). */
const MAX_CONNECTIONS_PER_PEER = 3;
/** Inbound connections still handshaking (peer unknown) held at once from one host, and from all. */
const MAX_PENDING_INBOUND_PER_HOST = 32;
const MAX_PENDING_INBOUND = 256;
/** Payloads up to this size are sent with their header in one buffer; larger ones in two sends (no copy). */
const COALESCE_BELOW = 16 * 1024;

export interface PeerAddress {
  readonly id: string;
  readonly addrs: readonly string[];
}

export interface Libp2pNetworkOptions {
  /**
   * 32-byte ed25519 seed: a validator's key (its libp2p peer id is then the genesis one) or a
   * full node's own node key.
   */
  readonly seed: Uint8Array;
  /** Multiaddrs to listen on, e.g. "/ip4/0.0.0.0/tcp/26656" (port 0: OS-assigned). */
  readonly listen: readonly string[];
  /**
   * Peers to dial at start and keep connected: "<peerId>@<multiaddr>", "<multiaddr>/p2p/<peerId>"
   * or { id, addrs }. This node's own entry, if present, is skipped (one list can serve all nodes).
   */
  readonly peers?: readonly (string | PeerAddress)[];
  /** The validators' peer ids (genesis): the allow-list, and the only peers allowed on 'consensus'. */
  readonly validators: readonly string[];
  /**
   * Also admit peers outside the validator set, restricted to 'tx' and 'sync': `true` admits any
   * authenticated peer, a list admits those peer ids only. Default: validators only.
   */
  readonly allowNonValidators?: boolean | readonly string[];
  /** Non-validator peers connected at once (default 64); validators always keep their slots. */
  readonly maxNonValidatorPeers?: number;
  /** Frame caps per channel (defaults: consensus 1 MiB, tx 128 KiB, sync 32 MiB). */
  readonly maxFrameBytes?: Partial<Record<Channel, number>>;
  /** Per-peer outbound budget (defaults: largest frame cap + 8 MiB, 8192 frames). */
  readonly outbox?: Partial<OutboxLimits>;
  readonly scoring?: ScoringOptions;
  /** Reconnection backoff (defaults 250 ms → 10 s). */
  readonly backoff?: BackoffOptions;
  /** Dial timeout (default 5 s). */
  readonly dialTimeoutMs?: number;
  /** Opening and negotiating an outbound stream (default 5 s). */
  readonly streamOpenTimeoutMs?: number;
  /** A stream whose send buffer does not drain for this long is reset and its queue dropped (default 60 s). */
  readonly stallTimeoutMs?: number;
  /**
   * libp2p's connection limit, beyond which it prunes connections. Default: enough for every
   * admitted peer, so pruning never hits a validator (the gater caps non-validators first).
   */
  readonly maxConnections?: number;
  /**
   * New inbound connections accepted per remote host per second (default 10), counted once the
   * handshake has authenticated the peer: validators are exempt, so a flood from their host cannot
   * lock them out.
   */
  readonly inboundConnectionThreshold?: number;
  readonly logger?: Logger;
  /** Clock for scoring and cool-downs (default Date.now). */
  readonly now?: () => number;
  /** Randomness for backoff jitter (default Math.random). */
  readonly random?: () => number;
}

export interface ChannelStats {
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  /** Frames not sent: no connection, over the cap, not allowed, evicted from a full outbox, or lost with a failed stream. */
  dropped: number;
}

export interface NetworkStats {
  readonly channels: Readonly<Record<Channel, Readonly<ChannelStats>>>;
  /** Payload bytes and frames over all channels. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly framesIn: number;
  readonly framesOut: number;
  readonly connectedPeers: number;
  readonly queuedBytes: number;
  readonly penalties: { readonly minor: number; readonly major: number };
  /** Peers banned (disconnected and refused for the cool-down) by scoring. */
  readonly bans: number;
  readonly banned: readonly string[];
  /** Peer disconnections, for any reason. */
  readonly disconnects: number;
  readonly dials: number;
  readonly dialFailures: number;
  /** Connections or dials refused by the gater (not allowed, banned, too many, over the host's rate). */
  readonly refused: number;
  /**
   * Inbound connections dropped before their handshake completed, to make room for newer ones
   * (the oldest unanswered first: a flood holding sockets open).
   */
  readonly inboundEvicted: number;
  readonly oversizedFrames: number;
  readonly malformedFrames: number;
  readonly protocolViolations: number;
}

interface OutLink {
  stream: Stream | undefined;
  pumping: boolean;
}

interface PeerState {
  readonly id: string;
  readonly peerId: PeerId;
  readonly outbox: Outbox;
  readonly links: Record<Channel, OutLink>;
  /**
   * The peer accepted us: a protocol stream was negotiated in either direction. Until then the
   * connection may be a phantom — with Noise's early muxer negotiation a dialler's side is "open"
   * as soon as its handshake completes, even if the listener's gater then refuses it.
   */
  ready: boolean;
}

interface DialEntry {
  readonly addrs: Multiaddr[];
  attempt: number;
  dialing: boolean;
}

interface Counters {
  penalties: { minor: number; major: number };
  bans: number;
  disconnects: number;
  dials: number;
  dialFailures: number;
  refused: number;
  inboundEvicted: number;
  oversizedFrames: number;
  malformedFrames: number;
  protocolViolations: number;
}

/** Parses "<peerId>@<multiaddr>" or "<multiaddr>/p2p/<peerId>". */
export function parsePeerAddress(address: string | PeerAddress): PeerAddress {
  if (typeof address !== 'string') {
    for (const a of address.addrs) checkAddr(a, address.id);
    return { id: checkPeerId(address.id), addrs: [...address.addrs] };
  }
  const at = address.indexOf('@');
  if (at >= 0) {
    const id = checkPeerId(address.slice(0, at));
    const addr = address.slice(at + 1);
    checkAddr(addr, id);
    return { id, addrs: [addr] };
  }
  const id = p2pComponent(parseMultiaddr(address));
  if (id === undefined) {
    throw new NetError(
      'INVALID_PEER_ADDRESS',
      `"${address}" names no peer: use <peerId>@<multiaddr> or …/p2p/<peerId>`,
    );
  }
  return { id: checkPeerId(id), addrs: [address] };
}

function checkPeerId(id: string): string {
  try {
    return peerIdFromString(id).toString();
  } catch {
    throw new NetError('INVALID_PEER_ADDRESS', `"${id}" is not a peer id`);
  }
}

function parseMultiaddr(addr: string): Multiaddr {
  try {
    return multiaddr(addr);
  } catch (e) {
    throw new NetError('INVALID_PEER_ADDRESS', `"${addr}" is not a multiaddr: ${(e as Error).message}`);
  }
}

function p2pComponent(ma: Multiaddr): string | undefined {
  return ma.getComponents().findLast((c) => c.name === 'p2p')?.value;
}

function checkAddr(addr: string, id: string): void {
  const inner = p2pComponent(parseMultiaddr(addr));
  if (inner !== undefined && inner !== id) {
    throw new NetError('INVALID_PEER_ADDRESS', `"${addr}" names peer ${inner}, not ${id}`);
  }
}

/** The dialable form: the multiaddr with the peer id appended, so Noise checks who answers. */
function dialAddr(addr: string, id: string): Multiaddr {
  const ma = parseMultiaddr(addr);
  return p2pComponent(ma) === undefined ? ma.encapsulate(`/p2p/${id}`) : ma;
}

/**
 * Bytes we have written on an inbound socket before its handshake completed (@libp2p/tcp's
 * connection exposes its socket; 0 if unknown). Nothing is written until the peer has sent a valid
 * multistream-select proposal: a raw flood, idle or garbage, never gets a byte back.
 */
function bytesAnswered(maConn: object): number {
  const n = (maConn as { socket?: { bytesWritten?: unknown } }).socket?.bytesWritten;
  return typeof n === 'number' ? n : 0;
}

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!Number.isSafeInteger(x) || x <= 0)
    throw new NetError('INVALID_OPTIONS', `${name} must be a positive integer`);
  return x;
}

export async function createLibp2pNetwork(opts: Libp2pNetworkOptions): Promise<Libp2pNetwork> {
  return Libp2pNetwork.create(opts);
}

export class Libp2pNetwork implements Transport {
  readonly self: string;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #caps: Readonly<Record<Channel, number>>;
  readonly #outboxLimits: OutboxLimits;
  readonly #backoff: BackoffOptions;
  readonly #streamOpenTimeoutMs: number;
  readonly #stallTimeoutMs: number;
  readonly #validators: Set<string>;
  readonly #nonValidators: boolean | ReadonlySet<string>;
  readonly #maxNonValidatorPeers: number;
  readonly #scores: PeerScores;
  readonly #guard: InboundGuard<MultiaddrConnection>;
  readonly #dials = new Map<string, DialEntry>();
  readonly #peers = new Map<string, PeerState>();
  #untunedYamuxLogged = false;
  readonly #inbound = new Set<Stream>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #channelStats: Record<Channel, ChannelStats>;
  readonly #counters: Counters;
  #node: Libp2p | undefined;
  #handler: MessageHandler | undefined;
  #running = false;
  #stopped = false;
  #seq = 0;
  #abort = new AbortController();

  private constructor(opts: Libp2pNetworkOptions, self: string) {
    this.self = self;
    this.#logger = opts.logger ?? silentLogger;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    const caps = { ...DEFAULT_MAX_FRAME_BYTES, ...opts.maxFrameBytes };
    for (const ch of CHANNELS) {
      const c = caps[ch];
      if (!Number.isSafeInteger(c) || c <= 0 || c > MAX_FRAME_CAP) {
        throw new NetError(
          'INVALID_OPTIONS',
          `maxFrameBytes.${ch} must be an integer in [1, ${MAX_FRAME_CAP}]`,
        );
      }
    }
    this.#caps = caps;
    const largest = Math.max(...CHANNELS.map((ch) => caps[ch]));
    this.#outboxLimits = {
      maxBytes: positiveInt('outbox.maxBytes', opts.outbox?.maxBytes, largest + 8 * 1024 * 1024),
      maxFrames: positiveInt('outbox.maxFrames', opts.outbox?.maxFrames, 8192),
    };
    this.#backoff = opts.backoff ?? {};
    this.#streamOpenTimeoutMs = positiveInt('streamOpenTimeoutMs', opts.streamOpenTimeoutMs, 5000);
    this.#stallTimeoutMs = positiveInt('stallTimeoutMs', opts.stallTimeoutMs, 60_000);
    this.#validators = new Set(opts.validators.map(checkPeerId));
    const nv = opts.allowNonValidators ?? false;
    this.#nonValidators = typeof nv === 'boolean' ? nv : new Set(nv.map(checkPeerId));
    this.#maxNonValidatorPeers = positiveInt('maxNonValidatorPeers', opts.maxNonValidatorPeers, 64);
    for (const a of opts.listen) {
      try {
        multiaddr(a);
      } catch (e) {
        throw new NetError(
          'INVALID_OPTIONS',
          `listen address "${a}" is not a multiaddr: ${(e as Error).message}`,
        );
      }
    }
    this.#scores = new PeerScores(opts.scoring, this.#now);
    this.#guard = new InboundGuard({
      maxPendingPerHost: MAX_PENDING_INBOUND_PER_HOST,
      maxPending: MAX_PENDING_INBOUND,
      ratePerHost: positiveInt('inboundConnectionThreshold', opts.inboundConnectionThreshold, 10),
      progressed: (c) => bytesAnswered(c) > 0,
      now: this.#now,
    });
    const zero = (): ChannelStats => ({ framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, dropped: 0 });
    this.#channelStats = { consensus: zero(), tx: zero(), sync: zero() };
    this.#counters = {
      penalties: { minor: 0, major: 0 },
      bans: 0,
      disconnects: 0,
      dials: 0,
      dialFailures: 0,
      refused: 0,
      inboundEvicted: 0,
      oversizedFrames: 0,
      malformedFrames: 0,
      protocolViolations: 0,
    };
    for (const p of opts.peers ?? []) this.#addDialTarget(parsePeerAddress(p));
  }

  static async create(opts: Libp2pNetworkOptions): Promise<Libp2pNetwork> {
    const privateKey = await libp2pKeyFromSeed(opts.seed);
    const net = new Libp2pNetwork(opts, peerIdFromPrivateKey(privateKey).toString());
    const admitted = net.#validators.size + (net.#nonValidators === false ? 0 : net.#maxNonValidatorPeers);
    const node = await createLibp2p({
      privateKey,
      start: false,
      addresses: { listen: [...opts.listen] },
      transports: [tcp()],
      connectionEncrypters: [
        verityNoise(() =>
          net.#logger.warn('Noise decoder not recognised (a library upgrade?): reading frames untuned', {}),
        ),
      ],
      streamMuxers: [yamux({ maxInboundStreams: 32, maxOutboundStreams: 32 })],
      // A closed world: no identify, no ping, no discovery. Yamux keep-alives detect dead links.
      connectionMonitor: { enabled: false },
      connectionManager: {
        maxConnections: positiveInt(
          'maxConnections',
          opts.maxConnections,
          admitted * MAX_CONNECTIONS_PER_PEER + 8,
        ),
        dialTimeout: positiveInt('dialTimeoutMs', opts.dialTimeoutMs, 5000),
        // Inbound limits. libp2p's own (acceptIncomingConnection in libp2p's
        // connection-manager/index.js) act when a socket arrives, before the handshake says who it
        // is: `inboundConnectionThreshold` (new connections per remote IP per second) and
        // `maxIncomingPendingConnections` (10 handshakes under way, all hosts together, each slot
        // held up to the 10 s inbound upgrade timeout). A raw TCP flood from a validator's own host
        // exhausts both, and the validator is refused with the flood (the nemesis run: locked out
        // for 64 s). Allow-listing validators' IPs would exempt a co-located flooder too; relying on
        // the other side to redial fails when both ends are flooded, as every connection is
        // inbound at one end. So libp2p's limits are moved out of the way (the pending cap stays as
        // a backstop above ours) and ours are split around the handshake (InboundGuard, via the
        // gater below): before it nobody is refused, a flood's unanswered sockets are evicted to
        // make room; after it the peer id is known and the per-host rate applies to all but
        // validators.
        inboundConnectionThreshold: Number.MAX_SAFE_INTEGER,
        maxIncomingPendingConnections: 2 * MAX_PENDING_INBOUND,
        connectionCloseTimeout: 500,
      },
      connectionGater: {
        denyDialPeer: (peer) => net.#deny(peer, 'dial'),
        denyInboundConnection: (maConn) => net.#admitInbound(maConn),
        denyInboundEncryptedConnection: (peer, maConn) => net.#deny(peer, 'inbound', maConn),
        denyOutboundEncryptedConnection: (peer) => net.#deny(peer, 'outbound'),
      },
    });
    net.#node = node;
    for (const ch of CHANNELS) {
      await node.handle(PROTOCOLS[ch], (stream, connection) => net.#onInboundStream(ch, stream, connection), {
        maxInboundStreams: MAX_INBOUND_STREAMS_PER_PROTOCOL,
      });
    }
    node.addEventListener('peer:connect', (evt) => net.#onConnect(evt.detail));
    node.addEventListener('peer:disconnect', (evt) => net.#onDisconnect(evt.detail));
    return net;
  }

  /** The underlying libp2p node (diagnostics and tests). */
  get libp2p(): Libp2p {
    return this.#node as Libp2p;
  }

  /** Starts listening and dials every configured peer. A stopped network cannot be restarted. */
  async start(): Promise<void> {
    if (this.#running) return;
    if (this.#stopped) throw new NetError('INVALID_OPTIONS', 'a stopped network cannot be restarted');
    this.#running = true;
    try {
      await this.libp2p.start();
    } catch (e) {
      this.#running = false;
      await this.stop();
      throw new NetError('START_FAILED', `p2p could not start: ${(e as Error).message}`);
    }
    this.#logger.info('p2p listening', { peerId: this.self, addrs: this.listenAddrs() });
    for (const id of this.#dials.keys()) void this.#dial(id);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#running = false;
    this.#abort.abort();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    const closing = new NetError('CLOSED', 'network stopping');
    for (const st of this.#peers.values()) this.#dropPeerState(st, closing);
    this.#peers.clear();
    for (const s of this.#inbound) s.abort(closing);
    this.#inbound.clear();
    this.#guard.clear();
    const node = this.#node;
    if (node === undefined) return;
    await node.stop();
    // libp2p 3.3's address manager re-arms a 1 s debounce on 'transport:close' while stopping and
    // never clears it: harmless, but it holds the event loop open. Clear it if it is there.
    const am = (
      node as unknown as {
        components?: { addressManager?: { _updatePeerStoreAddresses?: { stop?(): void } } };
      }
    ).components?.addressManager;
    am?._updatePeerStoreAddresses?.stop?.();
    this.#logger.info('p2p stopped', { peerId: this.self });
  }

  /** Admits a new epoch's validators (Transport.admitValidators): the allow-list only grows. */
  admitValidators(peerIds: readonly string[]): void {
    const added = peerIds.map(checkPeerId).filter((id) => !this.#validators.has(id));
    for (const id of added) this.#validators.add(id);
    if (added.length > 0) this.#logger.info('p2p: validators of a new epoch admitted', { peers: added });
  }

  /** The addresses this node listens on, with its /p2p/<peerId> suffix. */
  listenAddrs(): string[] {
    return this.libp2p.getMultiaddrs().map((ma) => ma.toString());
  }

  /** Adds a peer to keep connected to (dialled now if running). */
  addPeer(address: string | PeerAddress): void {
    const pa = parsePeerAddress(address);
    if (!this.#addDialTarget(pa) || !this.#running) return;
    void this.#dial(pa.id);
  }

  // --- Transport ------------------------------------------------------------------------------

  send(to: string, channel: Channel, bytes: Uint8Array): void {
    if (to === this.self) return;
    const st = this.#peers.get(to);
    if (st === undefined || !this.#running) {
      this.#channelStats[channel].dropped++;
      return;
    }
    this.#enqueue(st, channel, bytes);
  }

  broadcast(channel: Channel, bytes: Uint8Array): void {
    if (!this.#running) return;
    for (const st of this.#peers.values()) {
      if (channel === 'consensus' && !this.#validators.has(st.id)) continue;
      this.#enqueue(st, channel, bytes);
    }
  }

  onMessage(handler: MessageHandler): void {
    this.#handler = handler;
  }

  peers(): string[] {
    const out: string[] = [];
    for (const st of this.#peers.values()) if (st.ready && !this.#scores.isBanned(st.id)) out.push(st.id);
    return out;
  }

  penalize(peer: string, reason: string, severity: Severity): void {
    if (peer === this.self) return;
    this.#counters.penalties[severity]++;
    const { score, banned } = this.#scores.penalize(peer, severity);
    this.#logger.warn('peer penalized', { peer, reason, severity, score });
    if (!banned) return;
    this.#counters.bans++;
    this.#logger.warn('peer banned: disconnecting', {
      peer,
      score,
      until: new Date(this.#scores.bannedUntil(peer)).toISOString(),
    });
    const st = this.#peers.get(peer);
    if (st !== undefined) {
      this.#dropPeerState(st, new NetError('CLOSED', `peer banned: ${reason}`));
      this.#peers.delete(peer);
    }
    if (this.#node !== undefined && this.#running) {
      let pid: PeerId | undefined;
      try {
        pid = peerIdFromString(peer);
      } catch {
        pid = undefined;
      }
      if (pid !== undefined) {
        this.libp2p
          .hangUp(pid)
          .catch((e: unknown) => this.#logger.debug('hang-up failed', { peer, error: String(e) }));
      }
    }
  }

  // --- Stats ----------------------------------------------------------------------------------

  stats(): NetworkStats {
    const channels = {} as Record<Channel, ChannelStats>;
    const total = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 };
    for (const ch of CHANNELS) {
      const c = this.#channelStats[ch];
      channels[ch] = { ...c };
      total.bytesIn += c.bytesIn;
      total.bytesOut += c.bytesOut;
      total.framesIn += c.framesIn;
      total.framesOut += c.framesOut;
    }
    let queuedBytes = 0;
    for (const st of this.#peers.values()) queuedBytes += st.outbox.bytes;
    return {
      ...this.#counters,
      penalties: { ...this.#counters.penalties },
      channels,
      ...total,
      connectedPeers: this.peers().length,
      queuedBytes,
      banned: this.#scores.banned(),
    };
  }

  /** The peer's current score (0 neutral, negative after penalties). */
  score(peer: string): number {
    return this.#scores.score(peer);
  }

  // --- Admission ------------------------------------------------------------------------------

  #isAllowed(peer: string): boolean {
    if (peer === this.self) return false;
    if (this.#validators.has(peer)) return true;
    const nv = this.#nonValidators;
    return nv === true || (nv !== false && nv.has(peer));
  }

  /**
   * Gater, as an inbound socket arrives (the peer is not known yet): admitted, making room by
   * evicting older unauthenticated connections if this host or all hosts are at their bound.
   */
  #admitInbound(maConn: MultiaddrConnection): boolean {
    if (!this.#running || maConn.status !== 'open') return true;
    for (const victim of this.#guard.admit(hostOf(maConn.remoteAddr), maConn)) {
      this.#counters.inboundEvicted++;
      victim.abort(new NetError('CLOSED', 'evicted: too many unauthenticated inbound connections'));
    }
    maConn.addEventListener('close', () => this.#guard.release(maConn), { once: true });
    return false;
  }

  /** Gater: true refuses. An inbound connection gets here once its handshake named the peer. */
  #deny(peerId: PeerId, direction: 'dial' | 'inbound' | 'outbound', maConn?: MultiaddrConnection): boolean {
    if (maConn !== undefined) this.#guard.release(maConn);
    const peer = peerId.toString();
    let why: string | undefined;
    if (!this.#running) why = 'not running';
    else if (!this.#isAllowed(peer)) why = 'not in the allow-list';
    else if (this.#scores.isBanned(peer)) why = 'banned (cool-down)';
    else if (
      direction === 'inbound' &&
      this.libp2p.getConnections(peerId).length >= MAX_CONNECTIONS_PER_PEER
    ) {
      why = 'too many connections from this peer';
    } else if (
      !this.#validators.has(peer) &&
      !this.#peers.has(peer) &&
      this.#nonValidatorCount() >= this.#maxNonValidatorPeers
    ) {
      why = 'too many non-validator peers';
    } else if (
      direction === 'inbound' &&
      maConn !== undefined &&
      !this.#validators.has(peer) &&
      !this.#guard.takeRate(hostOf(maConn.remoteAddr))
    ) {
      why = 'too many new connections from this host';
    }
    if (why === undefined) return false;
    this.#counters.refused++;
    this.#logger.debug('connection refused', { peer, direction, reason: why });
    return true;
  }

  #nonValidatorCount(): number {
    let n = 0;
    for (const id of this.#peers.keys()) if (!this.#validators.has(id)) n++;
    return n;
  }

  // --- Connections ----------------------------------------------------------------------------

  #addDialTarget(pa: PeerAddress): boolean {
    if (pa.id === this.self) return false;
    if (!this.#isAllowed(pa.id)) {
      this.#logger.warn('configured peer is not in the allow-list: not dialling it', { peer: pa.id });
      return false;
    }
    const addrs = pa.addrs.map((a) => dialAddr(a, pa.id));
    const existing = this.#dials.get(pa.id);
    if (existing === undefined) {
      this.#dials.set(pa.id, { addrs, attempt: 0, dialing: false });
      return true;
    }
    for (const a of addrs) if (!existing.addrs.some((b) => b.equals(a))) existing.addrs.push(a);
    return true;
  }

  async #dial(id: string): Promise<void> {
    const entry = this.#dials.get(id);
    if (entry === undefined || entry.dialing || !this.#running || this.#peers.has(id)) return;
    if (this.#scores.isBanned(id)) {
      this.#scheduleDial(id);
      return;
    }
    entry.dialing = true;
    this.#counters.dials++;
    try {
      await this.libp2p.dial(entry.addrs);
    } catch (e) {
      this.#counters.dialFailures++;
      this.#logger.debug('dial failed', { peer: id, attempt: entry.attempt, error: (e as Error).message });
    } finally {
      entry.dialing = false;
    }
    if (this.#running && !this.#peers.has(id)) this.#scheduleDial(id);
  }

  #scheduleDial(id: string): void {
    const entry = this.#dials.get(id);
    if (entry === undefined || !this.#running) return;
    const until = this.#scores.bannedUntil(id);
    const delay =
      until > 0
        ? until - this.#now() + backoffDelay(0, this.#backoff, this.#random)
        : backoffDelay(entry.attempt++, this.#backoff, this.#random);
    this.#setTimer(`dial:${id}`, delay, () => void this.#dial(id));
  }

  #onConnect(peerId: PeerId): void {
    const id = peerId.toString();
    if (!this.#running) return;
    if (!this.#isAllowed(id) || this.#scores.isBanned(id)) {
      this.libp2p.hangUp(peerId).catch(() => {});
      return;
    }
    this.#clearTimer(`dial:${id}`);
    if (this.#peers.has(id)) return;
    const link = (): OutLink => ({ stream: undefined, pumping: false });
    const st: PeerState = {
      id,
      peerId,
      outbox: new Outbox(this.#outboxLimits),
      links: { consensus: link(), tx: link(), sync: link() },
      ready: false,
    };
    this.#peers.set(id, st);
    void this.#probe(st);
  }

  /**
   * Confirms a new connection by negotiating our first stream on it (which the peer only
   * answers if it admitted us); a connection that cannot carry one is hung up, so the dial
   * backoff keeps growing against a peer that refuses us.
   */
  async #probe(st: PeerState): Promise<void> {
    const channel: Channel = this.#mayUseConsensus(st.id) ? 'consensus' : 'tx';
    const link = st.links[channel];
    if (link.pumping || link.stream !== undefined) return; // a pump is opening it already
    link.pumping = true;
    try {
      link.stream = await this.#openStream(st, channel);
    } catch (e) {
      if (this.#running && this.#peers.get(st.id) === st) {
        this.#logger.debug('peer did not accept our stream: hanging up', {
          peer: st.id,
          error: (e as Error).message,
        });
        this.libp2p.hangUp(st.peerId).catch(() => {});
      }
    } finally {
      link.pumping = false;
    }
    if (st.outbox.size(channel) > 0) void this.#pump(st, channel);
  }

  #markReady(st: PeerState): void {
    if (st.ready) return;
    st.ready = true;
    const entry = this.#dials.get(st.id);
    if (entry !== undefined) entry.attempt = 0;
    this.#logger.info('peer connected', { peer: st.id, validator: this.#validators.has(st.id) });
  }

  /** Consensus flows only between two validators. */
  #mayUseConsensus(peer: string): boolean {
    return this.#validators.has(this.self) && this.#validators.has(peer);
  }

  #onDisconnect(peerId: PeerId): void {
    const id = peerId.toString();
    const st = this.#peers.get(id);
    if (st !== undefined) {
      this.#dropPeerState(st, new NetError('CLOSED', 'peer disconnected'));
      this.#peers.delete(id);
    }
    this.#counters.disconnects++;
    if (!this.#running) return;
    this.#logger.info('peer disconnected', { peer: id });
    this.#scheduleDial(id);
  }

  /** Resets the peer's outbound streams and drops its queued frames. */
  #dropPeerState(st: PeerState, reason: Error): void {
    for (const ch of CHANNELS) {
      this.#channelStats[ch].dropped += st.outbox.clear(ch);
      const s = st.links[ch].stream;
      st.links[ch].stream = undefined;
      s?.abort(reason);
    }
  }

  // --- Outbound -------------------------------------------------------------------------------

  #enqueue(st: PeerState, channel: Channel, bytes: Uint8Array): void {
    const stats = this.#channelStats[channel];
    if (bytes.length > this.#caps[channel]) {
      stats.dropped++;
      this.#logger.error('outbound frame exceeds the channel cap: not sent', {
        channel,
        bytes: bytes.length,
        cap: this.#caps[channel],
      });
      return;
    }
    if (channel === 'consensus' && !this.#mayUseConsensus(st.id)) {
      // Only validators speak consensus; the receiver would drop it and penalize us.
      stats.dropped++;
      return;
    }
    if (this.#scores.isBanned(st.id)) {
      stats.dropped++;
      return;
    }
    const evicted = st.outbox.push(channel, bytes);
    if (evicted.length > 0) {
      for (const e of evicted) this.#channelStats[e.channel].dropped++;
      this.#logger.debug('slow peer: outbox full, frames dropped', { peer: st.id, dropped: evicted.length });
    }
    void this.#pump(st, channel);
  }

  /** Drains one (peer, channel) queue into its stream; one pump per link at a time. */
  async #pump(st: PeerState, channel: Channel): Promise<void> {
    const link = st.links[channel];
    if (link.pumping) return;
    link.pumping = true;
    try {
      while (this.#running && this.#peers.get(st.id) === st && st.outbox.size(channel) > 0) {
        const stream = link.stream;
        if (stream === undefined || stream.status !== 'open' || stream.writeStatus !== 'writable') {
          link.stream = undefined;
          link.stream = await this.#openStream(st, channel);
          continue;
        }
        if (stream.writableNeedsDrain) {
          await this.#awaitDrain(st, stream);
          continue;
        }
        const frame = st.outbox.shift(channel) as Uint8Array;
        const header = encodeFrameHeader(frame.length);
        if (frame.length < COALESCE_BELOW) {
          const buf = new Uint8Array(header.length + frame.length);
          buf.set(header, 0);
          buf.set(frame, header.length);
          stream.send(buf);
        } else {
          stream.send(header);
          stream.send(frame);
        }
        const stats = this.#channelStats[channel];
        stats.framesOut++;
        stats.bytesOut += frame.length;
      }
    } catch (e) {
      // The stream or the connection failed: what was queued on this channel is lost (the layers
      // above re-broadcast and re-request); the next frame opens a fresh stream.
      const dropped = st.outbox.clear(channel);
      this.#channelStats[channel].dropped += dropped;
      const s = link.stream;
      link.stream = undefined;
      if (s !== undefined && s.status === 'open') s.abort(e as Error);
      if (this.#running) {
        this.#logger.debug('outbound stream failed', {
          peer: st.id,
          channel,
          dropped,
          error: (e as Error).message,
        });
      }
    } finally {
      link.pumping = false;
    }
  }

  async #openStream(st: PeerState, channel: Channel): Promise<Stream> {
    const conn = this.libp2p.getConnections(st.peerId).find((c) => c.status === 'open');
    if (conn === undefined) throw new NetError('CLOSED', 'no open connection');
    const { signal, done } = this.#deadline(this.#streamOpenTimeoutMs, `open:${st.id}:${channel}`);
    let stream: Stream;
    try {
      stream = await conn.newStream(PROTOCOLS[channel], { signal });
    } finally {
      done();
    }
    if (!this.#running || this.#peers.get(st.id) !== st) {
      stream.abort(new NetError('CLOSED', 'peer gone'));
      throw new NetError('CLOSED', 'peer gone');
    }
    this.#markReady(st);
    const link = st.links[channel];
    // Our streams are send-only: the peer writing back is a protocol violation.
    stream.addEventListener('message', () => {
      if (stream.status !== 'open') return;
      this.#counters.protocolViolations++;
      this.penalize(st.id, `wrote on our send-only ${channel} stream`, 'major');
      stream.abort(new NetError('PROTOCOL_VIOLATION', 'data on a send-only stream'));
    });
    stream.addEventListener('close', () => {
      if (link.stream === stream) link.stream = undefined;
    });
    return stream;
  }

  async #awaitDrain(st: PeerState, stream: Stream): Promise<void> {
    const { signal, done } = this.#deadline(this.#stallTimeoutMs, `drain:${stream.id}:${st.id}`);
    try {
      await waitForDrain(stream, signal); // not stream.onDrain(): see drain.ts
    } catch (e) {
      if (signal.aborted && this.#running) {
        this.#logger.warn('peer is not reading: resetting the stream', {
          peer: st.id,
          protocol: stream.protocol,
        });
      }
      throw e;
    } finally {
      done();
    }
  }

  /** An abort signal that fires on stop() or after `ms` (a tracked timer, cleared by stop()). */
  #deadline(ms: number, key: string): { signal: AbortSignal; done: () => void } {
    const ac = new AbortController();
    const onStop = (): void => ac.abort(new NetError('CLOSED', 'network stopping'));
    if (this.#abort.signal.aborted) onStop();
    else this.#abort.signal.addEventListener('abort', onStop, { once: true });
    const id = `deadline:${key}:${this.#seq++}`;
    this.#setTimer(id, ms, () => ac.abort(new NetError('TIMEOUT', `timed out after ${ms} ms`)));
    return {
      signal: ac.signal,
      done: () => {
        this.#clearTimer(id);
        this.#abort.signal.removeEventListener('abort', onStop);
      },
    };
  }

  // --- Inbound --------------------------------------------------------------------------------

  #onInboundStream(channel: Channel, stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer.toString();
    if (!this.#running || !this.#isAllowed(peer) || this.#scores.isBanned(peer)) {
      stream.abort(new NetError('PROTOCOL_VIOLATION', 'peer not admitted'));
      return;
    }
    if (channel === 'consensus' && !this.#validators.has(peer)) {
      this.#counters.protocolViolations++;
      this.penalize(peer, 'non-validator opened a consensus stream', 'major');
      stream.abort(new NetError('PROTOCOL_VIOLATION', 'consensus is reserved to validators'));
      return;
    }
    const st = this.#peers.get(peer);
    if (st !== undefined) this.#markReady(st);
    // Inbound streams are the ones receiving data, so granting window.
    if (!lazyWindowUpdates(stream) && !this.#untunedYamuxLogged) {
      this.#untunedYamuxLogged = true;
      this.#logger.warn(
        'Yamux stream not recognised (a library upgrade?): window updates after every frame',
        {},
      );
    }
    const decoder = new FrameDecoder(this.#caps[channel]);
    const stats = this.#channelStats[channel];
    this.#inbound.add(stream);
    stream.addEventListener('message', (evt) => {
      try {
        for (const frame of decoder.push(evt.data)) {
          if (!this.#running || this.#scores.isBanned(peer)) {
            stream.abort(new NetError('PROTOCOL_VIOLATION', 'peer not admitted'));
            return;
          }
          stats.framesIn++;
          stats.bytesIn += frame.length;
          this.#deliver(peer, channel, frame);
        }
      } catch (e) {
        const code = e instanceof NetError ? e.code : undefined;
        if (code === 'FRAME_TOO_LARGE') this.#counters.oversizedFrames++;
        else this.#counters.malformedFrames++;
        this.#logger.warn('bad frame: resetting stream', { peer, channel, error: (e as Error).message });
        stream.abort(e as Error);
        this.penalize(peer, `bad ${channel} frame: ${(e as Error).message}`, 'major');
      }
    });
    stream.addEventListener('remoteCloseWrite', () => {
      stream.close().catch(() => {});
    });
    stream.addEventListener('close', () => {
      this.#inbound.delete(stream);
    });
  }

  #deliver(peer: string, channel: Channel, frame: Uint8Array): void {
    const handler = this.#handler;
    if (handler === undefined) return;
    try {
      handler(peer, channel, frame);
    } catch (e) {
      this.#logger.error('message handler threw', { peer, channel, error: (e as Error).message });
    }
  }

  // --- Timers ---------------------------------------------------------------------------------

  #setTimer(id: string, ms: number, cb: () => void): void {
    this.#clearTimer(id);
    if (!this.#running) return;
    const t = setTimeout(
      () => {
        this.#timers.delete(id);
        cb();
      },
      Math.max(0, ms),
    );
    this.#timers.set(id, t);
  }

  #clearTimer(id: string): void {
    const t = this.#timers.get(id);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(id);
  }
}
