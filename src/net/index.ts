/** The libp2p networking layer: `createLibp2pNetwork` implements the runtime's `Transport`. */
export { type BackoffOptions, backoffDelay } from './backoff.ts';
export { NetError, type NetErrorCode } from './errors.ts';
export { encodeFrame, encodeFrameHeader, FrameDecoder, MAX_FRAME_CAP } from './frame.ts';
export { libp2pKeyFromSeed, peerIdFromSeed } from './identity.ts';
export {
  type ChannelStats,
  createLibp2pNetwork,
  DEFAULT_MAX_FRAME_BYTES,
  Libp2pNetwork,
  type Libp2pNetworkOptions,
  type NetworkStats,
  type PeerAddress,
  PROTOCOLS,
  parsePeerAddress,
} from './libp2p-network.ts';
export { Outbox, type OutboxLimits } from './outbox.ts';
export { PeerScores, type ScoringOptions, type Severity } from './scoring.ts';
