/** A verification worker with a bug (test/unit/verify-pool.test.ts): it throws on its first batch. */
import { parentPort } from 'node:worker_threads';

parentPort?.on('message', () => {
  throw new Error('broken worker: a bug in verification');
});
