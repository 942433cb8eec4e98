/**
 * Block-sync wire messages (channel "sync"), strict and size-capped:
 *   [1, height, headHash, clockMs]   status: my committed head, and my clock (ClockOffset)
 *   [2, fromHeight, count]           get-blocks
 *   [3, [[block, certificate], …]]   blocks (ascending heights)
 *   [4, evidence]                    equivocation evidence (consensus/evidence.ts), gossiped
 */
import { MAX_EVIDENCE_BYTES } from '../../consensus/evidence.ts';
import { asBytes, asList, asSafeUint, rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';

export const MAX_SYNC_MESSAGE_BYTES = 32 * 1024 * 1024;
export const MAX_SYNC_BATCH = 64;
export { MAX_EVIDENCE_BYTES };

export type SyncMessage =
  | { readonly kind: 'status'; readonly height: number; readonly hash: Uint8Array; readonly clockMs: number }
  | { readonly kind: 'get-blocks'; readonly from: number; readonly count: number }
  | {
      readonly kind: 'blocks';
      readonly items: ReadonlyArray<{ readonly block: Uint8Array; readonly certificate: Uint8Array }>;
    }
  | { readonly kind: 'evidence'; readonly evidence: Uint8Array };

export function encodeSync(m: SyncMessage): Uint8Array {
  switch (m.kind) {
    case 'status':
      return rlpEncode([1, m.height, m.hash, m.clockMs]);
    case 'get-blocks':
      return rlpEncode([2, m.from, m.count]);
    case 'blocks':
      return rlpEncode([3, m.items.map((i) => [i.block, i.certificate])]);
    case 'evidence':
      return rlpEncode([4, m.evidence]);
  }
}

export function decodeSync(bytes: Uint8Array): SyncMessage {
  const f = asList(rlpDecodeStrict(bytes, MAX_SYNC_MESSAGE_BYTES, 'sync message'), 'sync message');
  const kind = asSafeUint(f[0], 'sync.kind');
  if (kind === 1 && f.length === 4) {
    return {
      kind: 'status',
      height: asSafeUint(f[1], 'status.height'),
      hash: asBytes(f[2], 'status.hash', { length: 32 }),
      clockMs: asSafeUint(f[3], 'status.clockMs'),
    };
  }
  if (kind === 2 && f.length === 3) {
    const count = asSafeUint(f[2], 'get-blocks.count');
    return {
      kind: 'get-blocks',
      from: asSafeUint(f[1], 'get-blocks.from'),
      count: Math.min(count, MAX_SYNC_BATCH),
    };
  }
  if (kind === 3 && f.length === 2) {
    const items = asList(f[1], 'blocks.items');
    if (items.length > MAX_SYNC_BATCH) throw new Error(`too many blocks (${items.length})`);
    return {
      kind: 'blocks',
      items: items.map((it, i) => {
        const pair = asList(it, `blocks[${i}]`, 2);
        return {
          block: asBytes(pair[0], `blocks[${i}].block`),
          certificate: asBytes(pair[1], `blocks[${i}].certificate`),
        };
      }),
    };
  }
  if (kind === 4 && f.length === 2)
    return { kind: 'evidence', evidence: asBytes(f[1], 'evidence', { max: MAX_EVIDENCE_BYTES }) };
  throw new Error(`unknown sync message kind ${kind}`);
}
