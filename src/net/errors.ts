/** Typed errors of the networking layer (callers branch on `code`). */
import { VerityError } from '../../crypto/errors.ts';

export type NetErrorCode =
  /** A frame's length prefix announces more than the channel's cap. */
  | 'FRAME_TOO_LARGE'
  /** A length prefix that is not a minimal unsigned varint within the header budget. */
  | 'FRAME_MALFORMED'
  /** A peer used a protocol it is not entitled to, or wrote on a send-only stream. */
  | 'PROTOCOL_VIOLATION'
  /** Local teardown: the network stopped, the peer left or was banned. */
  | 'CLOSED'
  /** Opening a stream or draining a send buffer took too long (a stalled peer). */
  | 'TIMEOUT'
  | 'INVALID_PEER_ADDRESS'
  | 'INVALID_OPTIONS'
  /** libp2p failed to start (e.g. the listen port is taken). */
  | 'START_FAILED'
  | 'INVALID_KEY';

export class NetError extends VerityError<NetErrorCode> {}
