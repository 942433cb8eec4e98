/**
 * The sign fence (src/runtime/sign-fence.ts, src/storage/sign-fence-file.ts): a checksummed
 * record in two copies written alternately; a damaged copy is ignored, the newest intact one wins.
 */
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  advanceFence,
  decodeFence,
  EMPTY_FENCE,
  encodeFence,
  FENCE_BYTES,
  newestFence,
  underFence,
  VIEW_SLOT_HEIGHT,
} from '../../src/runtime/sign-fence.ts';
import { FileSignFence } from '../../src/storage/sign-fence-file.ts';

describe('sign fence', () => {
  it('keeps the highest slots per class and counts signing batches', () => {
    let f = advanceFence(EMPTY_FENCE, [{ height: 7, round: 2, step: 1 }], 5);
    f = advanceFence(
      f,
      [
        { height: 6, round: 9, step: 2 },
        { height: VIEW_SLOT_HEIGHT, round: 4, step: 5 },
      ],
      6,
    );
    expect(f).toEqual({ seq: 2, maxHeight: 7, maxViewRound: 4, chainHeight: 6 });
    expect(underFence(f, { height: 7, round: 99, step: 0 })).toBe(true);
    expect(underFence(f, { height: 8, round: 0, step: 0 })).toBe(false);
    expect(underFence(f, { height: VIEW_SLOT_HEIGHT, round: 4, step: 6 })).toBe(true);
    expect(underFence(f, { height: VIEW_SLOT_HEIGHT, round: 5, step: 6 })).toBe(false);
  });

  it('round-trips, and any flipped bit or wrong length makes a copy unreadable', () => {
    const f = { seq: 123_456, maxHeight: 2 ** 40, maxViewRound: 17, chainHeight: 99 };
    const bytes = encodeFence(f);
    expect(bytes.length).toBe(FENCE_BYTES);
    expect(decodeFence(bytes)).toEqual(f);
    for (let bit = 0; bit < FENCE_BYTES * 8; bit += 7) {
      const bad = bytes.slice();
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(decodeFence(bad), `bit ${bit}`).toBeUndefined();
    }
    expect(decodeFence(bytes.subarray(0, 63))).toBeUndefined();
    expect(newestFence([encodeFence({ ...f, seq: 4 }), bytes, new Uint8Array(64)])).toEqual({
      fence: f,
      damaged: 1,
    });
  });

  it('on disk: copies alternate; a torn copy leaves the previous fence; both torn is reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'verity-fence-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true, maxRetries: 3 }));
    const store = new FileSignFence(join(dir, 'sign-fence'));
    expect(await store.load()).toEqual({ fence: undefined, damaged: 0 });
    const f1 = advanceFence(EMPTY_FENCE, [{ height: 3, round: 0, step: 1 }], 2);
    const f2 = advanceFence(f1, [{ height: 4, round: 0, step: 1 }], 3);
    await store.write(f1);
    await store.write(f2);
    expect(await store.load()).toEqual({ fence: f2, damaged: 0 });
    // A torn write of the newest copy (f2 is seq 2: copy .0).
    await truncate(store.path(0), 20);
    expect(await store.load()).toEqual({ fence: f1, damaged: 1 });
    // Bytes beyond the record do not matter; writing again brings the newest copy back.
    const f3 = advanceFence(f1, [{ height: 5, round: 0, step: 1 }], 4);
    await writeFile(store.path(1), Buffer.concat([await readFile(store.path(1)), Buffer.alloc(10)]));
    await store.write({ ...f3, seq: 3 });
    expect(await store.load()).toEqual({ fence: { ...f3, seq: 3 }, damaged: 1 }); // copy .0 is still torn
    await store.close();
    await writeFile(store.path(0), 'garbage');
    await writeFile(store.path(1), 'garbage');
    expect(await store.load()).toEqual({ fence: undefined, damaged: 2 });
  });
});
