/**
 * A signature-verification worker thread (verify-pool.ts): each message in is { id, packed } (a
 * batch in crypto/signature-batch.ts's packed form); each message out is { id, answers }, one byte
 * per check. It runs the same `ed25519.verify`, on the same backend (the environment is
 * inherited), as the main thread would. Anything thrown here is a bug: it ends the worker, and the
 * pool reports it and verifies on the main thread from then on.
 */
import { parentPort } from 'node:worker_threads';
import { verifyPacked } from '../../crypto/signature-batch.ts';

parentPort?.on('message', (m: { id: number; packed: Uint8Array }) => {
  const answers = verifyPacked(m.packed);
  parentPort?.postMessage({ id: m.id, answers }, [answers.buffer as ArrayBuffer]);
});
