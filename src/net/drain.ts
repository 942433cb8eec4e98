/**
 * Waiting for a libp2p stream to drain, on its 'drain' event.
 *
 * Not `stream.onDrain()`: @libp2p/utils' AbstractMessageStream (7.4.1) makes one promise for the
 * first wait, resolves it on the first drain and never replaces it, so every later `onDrain()`
 * returns that settled promise at once while the stream still needs draining. A sender looping on
 * "needs drain? wait" then spins in microtasks for ever and starves the event loop; a validator did
 * exactly that under load (100 % CPU, RPC dead, consensus stopped) once Yamux windows stopped
 * being refilled after every frame made a second drain likely.
 */
import type { Stream } from '@libp2p/interface';
import { NetError } from './errors.ts';

/** Resolves once `stream` no longer needs draining; rejects if it closes or `signal` aborts. */
export function waitForDrain(stream: Stream, signal: AbortSignal): Promise<void> {
  if (!stream.writableNeedsDrain) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      stream.removeEventListener('drain', onDrain);
      stream.removeEventListener('close', onClose);
      signal.removeEventListener('abort', onAbort);
    };
    // The stream's own 'drain' listener, added when it was made, runs first and clears the flag.
    const onDrain = () => {
      if (stream.writableNeedsDrain) return;
      cleanup();
      resolve();
    };
    const onClose = (evt: Event) => {
      cleanup();
      reject(
        (evt as Event & { error?: Error }).error ??
          new NetError('CLOSED', 'stream closed while waiting to drain'),
      );
    };
    const onAbort = () => {
      cleanup();
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    stream.addEventListener('drain', onDrain);
    stream.addEventListener('close', onClose);
    signal.addEventListener('abort', onAbort);
  });
}
