/**
 * Yamux window updates only when the window is half used, as hashicorp/yamux and go-yamux send
 * them.
 *
 * @chainsafe/libp2p-yamux grants the sender more window after every data frame it receives, so
 * each message on a stream costs a second frame the other way: a Yamux header, a Noise frame
 * (encrypt, decrypt) and a socket write, for a 12-byte credit. With consensus messages of a few
 * hundred bytes against a 256 KiB window that credit is never needed so soon. Here a stream sends
 * the update once less than half of its receive window is left. The check runs on every data
 * frame, so the update goes out at the latest with the frame that uses the window up: a sender may
 * wait a round trip for credit, never for ever. The library also doubles the window (towards
 * 16 MiB) when an update follows the last within four round trips, so windows now grow per half
 * window used, under sustained load only, and large frames wait for window more often (safe since
 * drain.ts). Streams not established yet (an update then carries the SYN/ACK flags), paused, or
 * finished keep the library's behaviour.
 *
 * The method and fields are the library's internals, so `lazyWindowUpdates` checks the class and
 * the fields' types and leaves a stream it does not recognise alone (returning false: the node logs
 * the first, and the tests assert true). The state number is checked by the tests too.
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
    Object.getPrototypeOf(s)?.constructor?.name !== 'YamuxStream' ||
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
