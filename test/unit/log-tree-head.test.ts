import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../crypto/bytes.ts';
import type { SignedTreeHead, TreeHead } from '../../ledger/log/index.ts';
import {
  decodeTreeHead,
  emptyRoot,
  encodeTreeHead,
  equalTreeHeads,
  LogError,
  TREE_HEAD_BYTES,
  TransparencyLog,
  treeHeadFromJson,
  treeHeadToJson,
} from '../../ledger/log/index.ts';

const codeOf = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(LogError);
    return (e as LogError).code;
  }
};

describe('tree heads', () => {
  it('encode: u64 big-endian size ‖ root, 40 bytes', () => {
    const root = new Uint8Array(32).fill(0xab);
    const bytes = encodeTreeHead({ size: 2 ** 40 + 258, root });
    expect(bytes.length).toBe(TREE_HEAD_BYTES);
    expect(toHex(bytes)).toBe(`0000010000000102${'ab'.repeat(32)}`);
    expect(toHex(encodeTreeHead({ size: Number.MAX_SAFE_INTEGER, root })).slice(0, 16)).toBe(
      '001fffffffffffff',
    );
  });

  it('binary and JSON round trips for any safe size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (size, root) => {
          const head: TreeHead = { size, root };
          expect(equalTreeHeads(decodeTreeHead(encodeTreeHead(head)), head)).toBe(true);
          const json = JSON.parse(JSON.stringify(treeHeadToJson(head)));
          expect(equalTreeHeads(treeHeadFromJson(json), head)).toBe(true);
        },
      ),
    );
  });

  it('rejects malformed heads with typed errors', () => {
    const root = emptyRoot();
    expect(codeOf(() => encodeTreeHead({ size: -1, root }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => encodeTreeHead({ size: 1.5, root }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => encodeTreeHead({ size: 1, root: new Uint8Array(31) }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => decodeTreeHead(new Uint8Array(39)))).toBe('INVALID_ARGUMENT');
    const tooBig = new Uint8Array(40).fill(0xff);
    expect(codeOf(() => decodeTreeHead(tooBig))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => treeHeadFromJson(null))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => treeHeadFromJson({ size: 1, root: 'AB'.repeat(32) }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => treeHeadFromJson({ size: '1', root: 'ab'.repeat(32) }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => treeHeadFromJson({ size: 1, root: 'ab'.repeat(31) }))).toBe('INVALID_ARGUMENT');
  });

  it('equality compares size and root; a signed head is a head plus an opaque certificate', async () => {
    const log = await TransparencyLog.create();
    await log.append([new Uint8Array([1])]);
    const signed: SignedTreeHead<{ sig: string }> = { ...log.head, certificate: { sig: 'x' } };
    expect(equalTreeHeads(signed, log.head)).toBe(true);
    expect(equalTreeHeads(signed, { size: 2, root: signed.root })).toBe(false);
    expect(equalTreeHeads(signed, { size: 1, root: emptyRoot() })).toBe(false);
  });
});
