/**
 * Tree heads. A block carries (logSize, logRoot) and the block's commit certificate is what
 * certifies it, so a signed tree head is just the head plus that certificate; its shape belongs to
 * the consensus layer and stays opaque here.
 */
import { equalBytes, fromHex, toHex } from '../../crypto/bytes.ts';
import { LogError } from './errors.ts';
import { HASH_BYTES } from './hashing.ts';

export interface TreeHead {
  readonly size: number;
  readonly root: Uint8Array;
}

export type SignedTreeHead<C = unknown> = TreeHead & { readonly certificate: C };

export interface TreeHeadJson {
  readonly size: number;
  /** Lower-case hex, no prefix. */
  readonly root: string;
}

/** u64 big-endian size ‖ 32-byte root. */
export const TREE_HEAD_BYTES = 8 + HASH_BYTES;

function checkTreeHead(size: unknown, root: unknown): void {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new LogError(
      'INVALID_ARGUMENT',
      `tree size must be a safe non-negative integer, got ${String(size)}`,
    );
  }
  if (!(root instanceof Uint8Array) || root.length !== HASH_BYTES) {
    throw new LogError('INVALID_ARGUMENT', `tree root must be ${HASH_BYTES} bytes`);
  }
}

/** Canonical 40-byte encoding; also the log's persisted state record. */
export function encodeTreeHead(head: TreeHead): Uint8Array {
  checkTreeHead(head.size, head.root);
  const out = new Uint8Array(TREE_HEAD_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, Math.floor(head.size / 2 ** 32));
  dv.setUint32(4, head.size % 2 ** 32);
  out.set(head.root, 8);
  return out;
}

export function decodeTreeHead(bytes: Uint8Array): TreeHead {
  if (!(bytes instanceof Uint8Array) || bytes.length !== TREE_HEAD_BYTES) {
    throw new LogError('INVALID_ARGUMENT', `tree head must be ${TREE_HEAD_BYTES} bytes`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = dv.getUint32(0) * 2 ** 32 + dv.getUint32(4);
  if (!Number.isSafeInteger(size)) throw new LogError('INVALID_ARGUMENT', 'tree size exceeds 2^53 - 1');
  return { size, root: bytes.slice(8) };
}

export function treeHeadToJson(head: TreeHead): TreeHeadJson {
  checkTreeHead(head.size, head.root);
  return { size: head.size, root: toHex(head.root) };
}

export function treeHeadFromJson(json: unknown): TreeHead {
  if (typeof json !== 'object' || json === null)
    throw new LogError('INVALID_ARGUMENT', 'tree head must be an object');
  const { size, root } = json as Record<string, unknown>;
  if (typeof root !== 'string' || !/^[0-9a-f]{64}$/.test(root)) {
    throw new LogError('INVALID_ARGUMENT', 'tree head root must be 64 lower-case hex characters');
  }
  const rootBytes = fromHex(root);
  checkTreeHead(size, rootBytes);
  return { size: size as number, root: rootBytes };
}

export function equalTreeHeads(a: TreeHead, b: TreeHead): boolean {
  return a.size === b.size && equalBytes(a.root, b.root);
}
