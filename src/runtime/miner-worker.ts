/**
 * The grinding loop of the node's miner, on a worker thread (grinding-miner.ts): it tries nonces
 * in batches and yields between them, so a new job or a cancel from the main thread is seen
 * within one batch. Messages in: { id, header, target } (a job; id 0 cancels); out: { id, header }.
 */
import { createHash, randomBytes } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

const NONCE_BYTES = 8;
/** Hashes between looks at the message queue: a few milliseconds on this machine. */
const BATCH = 4096;

let current = 0;

parentPort?.on('message', (m: { id: number; header?: Uint8Array; target?: Uint8Array }) => {
  current = m.id;
  if (m.header === undefined || m.target === undefined) return;
  const id = m.id;
  const header = Buffer.from(m.header);
  const target = Buffer.from(m.target);
  const at = header.length - NONCE_BYTES;
  let nonce = randomBytes(8).readBigUInt64BE();
  let hashes = 0;
  const batch = (): void => {
    if (id !== current) return;
    for (let i = 0; i < BATCH; i++) {
      header.writeBigUInt64BE(nonce, at);
      nonce = (nonce + 1n) & 0xffffffffffffffffn;
      if (createHash('sha256').update(header).digest().compare(target) <= 0) {
        parentPort?.postMessage({ id, header: new Uint8Array(header), hashes: hashes + i + 1 });
        return;
      }
    }
    hashes += BATCH;
    setImmediate(batch);
  };
  batch();
});
