import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NetError } from '../../src/net/errors.ts';
import { encodeFrame, encodeFrameHeader, FrameDecoder, varintLength } from '../../src/net/frame.ts';

const all = (d: FrameDecoder, ...chunks: Uint8Array[]): Uint8Array[] => chunks.flatMap((c) => [...d.push(c)]);

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof NetError ? e.code : `not a NetError: ${String(e)}`;
  }
  return undefined;
}

describe('frame encoding', () => {
  it('encodes lengths as minimal unsigned LEB128 varints', () => {
    expect([...encodeFrameHeader(0)]).toEqual([0]);
    expect([...encodeFrameHeader(127)]).toEqual([127]);
    expect([...encodeFrameHeader(128)]).toEqual([0x80, 0x01]);
    expect([...encodeFrameHeader(300)]).toEqual([0xac, 0x02]);
    expect([...encodeFrameHeader(2 ** 31 - 1)]).toEqual([0xff, 0xff, 0xff, 0xff, 0x07]);
    expect(varintLength(32 * 1024 * 1024)).toBe(4);
  });

  it('rejects lengths it cannot encode', () => {
    expect(codeOf(() => encodeFrameHeader(-1))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => encodeFrameHeader(2 ** 31))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => new FrameDecoder(-1))).toBe('INVALID_OPTIONS');
  });
});

describe('FrameDecoder', () => {
  it('round-trips any frames split at any points', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }),
        (frames, cuts) => {
          const wire = Buffer.concat(frames.map((f) => encodeFrame(f)));
          const d = new FrameDecoder(600);
          const out: Uint8Array[] = [];
          let pos = 0;
          let i = 0;
          while (pos < wire.length) {
            const n = cuts[i++ % cuts.length] as number;
            out.push(...d.push(new Uint8Array(wire.subarray(pos, pos + n))));
            pos += n;
          }
          expect(out.map((f) => Buffer.from(f).toString('hex'))).toEqual(
            frames.map((f) => Buffer.from(f).toString('hex')),
          );
          expect(d.buffered).toBe(0);
        },
      ),
    );
  });

  it('accepts chunk lists (Uint8ArrayList-like iterables)', () => {
    const wire = encodeFrame(new Uint8Array([1, 2, 3, 4]));
    const d = new FrameDecoder(16);
    expect([...d.push([wire.subarray(0, 2), wire.subarray(2)])].map((f) => [...f])).toEqual([[1, 2, 3, 4]]);
  });

  it('delivers frames of exactly the cap, and empty frames', () => {
    const d = new FrameDecoder(1000);
    const frames = all(d, encodeFrame(new Uint8Array(1000).fill(7)), encodeFrame(new Uint8Array(0)));
    expect(frames.map((f) => f.length)).toEqual([1000, 0]);
  });

  it('rejects an oversized frame on its length prefix, before keeping any payload byte', () => {
    const cap = 1024 * 1024;
    const d = new FrameDecoder(cap);
    // The header alone (and nothing after it) is enough to reject.
    expect(codeOf(() => all(d, encodeFrameHeader(cap + 1)))).toBe('FRAME_TOO_LARGE');
    expect(d.buffered).toBe(0);
    // Failed for good: further input is refused, never buffered.
    expect(codeOf(() => all(d, new Uint8Array(100)))).toBe('FRAME_TOO_LARGE');
    expect(d.buffered).toBe(0);
  });

  it('rejects as soon as a partial prefix already exceeds the cap', () => {
    const d = new FrameDecoder(100);
    // 0xff: the first 7 bits alone say ≥ 127 > 100 — rejected on the first byte.
    expect(codeOf(() => all(d, new Uint8Array([0xff])))).toBe('FRAME_TOO_LARGE');
  });

  it('rejects an oversized frame after earlier good frames in the same chunk, delivering those first', () => {
    const d = new FrameDecoder(10);
    const wire = Buffer.concat([
      encodeFrame(new Uint8Array([1])),
      encodeFrame(new Uint8Array([2])),
      encodeFrameHeader(11),
    ]);
    const got: number[] = [];
    expect(
      codeOf(() => {
        for (const f of d.push(new Uint8Array(wire))) got.push(f[0] as number);
      }),
    ).toBe('FRAME_TOO_LARGE');
    expect(got).toEqual([1, 2]);
  });

  it('rejects non-minimal prefixes as malformed, and prefixes longer than the cap needs as too large', () => {
    expect(codeOf(() => all(new FrameDecoder(1000), new Uint8Array([0x80, 0x00])))).toBe('FRAME_MALFORMED');
    expect(codeOf(() => all(new FrameDecoder(1 << 20), new Uint8Array([0x85, 0x80, 0x00])))).toBe(
      'FRAME_MALFORMED',
    );
    // cap 1 MiB needs 3 header bytes: a 4th means a minimal length ≥ 2^21, whatever its bits so far.
    expect(codeOf(() => all(new FrameDecoder(1 << 20), new Uint8Array([0x80, 0x80, 0x80, 0x80])))).toBe(
      'FRAME_TOO_LARGE',
    );
    // cap 2^31-1 allows 5 header bytes; a 6th is too large even if the value bits stay zero.
    expect(
      codeOf(() => all(new FrameDecoder(2 ** 31 - 1), new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80]))),
    ).toBe('FRAME_TOO_LARGE');
  });

  it('never throws anything but a NetError on arbitrary bytes, and never holds more than the cap', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), (chunks) => {
        const d = new FrameDecoder(256);
        try {
          for (const c of chunks) {
            for (const f of d.push(c)) expect(f.length).toBeLessThanOrEqual(256);
            expect(d.buffered).toBeLessThanOrEqual(256);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(NetError);
        }
      }),
    );
  });
});
