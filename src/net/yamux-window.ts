/**
 * Yamux window updates only when the window is half used, as hashicorp/yamux and go-yamux send
 * them.
 *
 * @chainsafe/libp2p-yamux grants the sender more window after every data frame it receives, so
 * each message on a stream costs a second frame the other way: a Yamux header, a Noise frame
 * (encrypt, decrypt) and a socket write, for a 12-byte credit. With consensus messages of a few
 * hundred bytes against a 256 KiB window that credit is never needed so soon. Here a stream sends
 * the update once less than half of its receive window is left, which still always grants credit
 * before the sender runs out (the check runs on every data frame). Streams not established yet
 * (an update then carries the SYN/ACK flags), paused, or finished keep the library's behaviour.
 *
 * The method and fields are the library's internals, so `lazyWindowUpdates` checks their shape
 * and leaves a stream it does not recognise alone (returning false; the tests assert true).
 */
import type { Stream } from '@libp2p/interface';

/** @chainsafe/libp2p-yamux's StreamState.Established. */
const ESTABLISHED = 3;

interface YamuxWindow {
  state: unknown;
  recvWindow: unknown;
  recvWindowCapacity: unknown;
  sendWindowUpdate: unknown;
}

const tuned = new WeakSet<object>();

/** Makes `stream` (a Yamux stream) send window updates only when half its window is used. */
export function lazyWindowUpdates(stream: Stream): boolean {
  const s = stream as unknown as YamuxWindow;
  if (tuned.has(s)) return true;
  if (
    typeof s.sendWindowUpdate !== 'function' ||
    typeof s.recvWindow !== 'number' ||
    typeof s.recvWindowCapacity !== 'number' ||
    typeof s.state !== 'number'
  )
    return false;
  const eager = s.sendWindowUpdate as (this: YamuxWindow) => void;
  s.sendWindowUpdate = function lazy(this: YamuxWindow): void {
    if (this.state === ESTABLISHED && (this.recvWindowCapacity as number) * 2 >= (this.recvWindow as number))
      return;
    eager.call(this);
  };
  tuned.add(s);
  return true;
}
