/** A verification worker that dies (test/unit/verify-pool.test.ts): it exits with code 3 on its first batch. */
import { parentPort } from 'node:worker_threads';

parentPort?.on('message', () => process.exit(3));
