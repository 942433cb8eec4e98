/**
 * The sign fence on disk (src/runtime/sign-fence.ts): two fixed-size files, `<base>.0` and
 * `<base>.1`, written alternately in place and fdatasync'ed. A torn write damages one copy at
 * most; the other still holds the previous fence. Next to the validator key (HOME/keys), so that
 * wiping HOME/data — the usual "resync from scratch" — does not wipe what the key has signed.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StorageError } from '../../ledger/kv.ts';
import {
  encodeFence,
  FENCE_BYTES,
  newestFence,
  type SignFence,
  type SignFenceStore,
} from '../runtime/sign-fence.ts';
import { storageErrorFrom } from './level-kv.ts';

export class FileSignFence implements SignFenceStore {
  readonly base: string;
  readonly where: string;
  readonly #handles: Array<FileHandle | undefined> = [undefined, undefined];

  constructor(base: string) {
    this.base = base;
    this.where = `${base}.0 and ${base}.1`;
  }

  path(copy: number): string {
    return `${this.base}.${copy}`;
  }

  async load(): Promise<{ fence: SignFence | undefined; damaged: number }> {
    const copies: Array<Uint8Array | undefined> = [];
    for (const i of [0, 1]) {
      try {
        const fh = await open(this.path(i), 'r');
        try {
          // The record is the first 64 bytes; anything after them is not ours and is ignored.
          const buf = new Uint8Array(FENCE_BYTES);
          const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
          copies.push(buf.subarray(0, bytesRead));
        } finally {
          await fh.close();
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') copies.push(undefined);
        else throw this.#error(e, 'open');
      }
    }
    return newestFence(copies);
  }

  async write(fence: SignFence): Promise<void> {
    const i = fence.seq % 2;
    try {
      let fh = this.#handles[i];
      if (fh === undefined) {
        fh = await open(this.path(i), 'a+');
        await fh.close();
        fh = await open(this.path(i), 'r+');
        this.#handles[i] = fh;
        // A new file's directory entry must be durable too.
        const dir = await open(dirname(this.path(i)), 'r');
        await dir.sync().finally(() => dir.close());
      }
      await fh.write(encodeFence(fence), 0, FENCE_BYTES, 0);
      await fh.datasync();
    } catch (e) {
      throw this.#error(e, 'batch');
    }
  }

  async close(): Promise<void> {
    for (const [i, fh] of this.#handles.entries()) {
      this.#handles[i] = undefined;
      await fh?.close().catch(() => undefined);
    }
  }

  #error(e: unknown, op: 'open' | 'batch'): StorageError {
    return storageErrorFrom(e, this.base, op);
  }
}
