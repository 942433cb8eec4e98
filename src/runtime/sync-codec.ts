/**
 * Block-sync wire messages (channel "sync"), strict and size-capped:
 *   [1, height, headHash, clockMs]   status: my committed head, and my clock (ClockOffset);
 *   [1, height, headHash, clockMs, work]  … and the head's cumulative work, on a chain whose engine
 *                                    counts it (Proof of Work: block sync follows the most work)
 *   [2, fromHeight, count]           get-blocks
 *   [3, [[block, certificate], …]]   blocks (ascending heights)
 *   [4, evidence]                    equivocation evidence (consensus/evidence.ts), gossiped
 *   [5, height]                      get-snapshot: the manifest of a state snapshot at (up to) height
 *   [6, manifest]                    snapshot-manifest (ledger/snapshot.ts); empty: none to offer
 *   [7, height, section, from, count]   get-snapshot-part (section 0 state nodes, 1 log, 2 history)
 *   [8, height, section, from, [item…]] snapshot-part
 */
import { MAX_EVIDENCE_BYTES } from '../../consensus/evidence.ts';
import {
  asBytes,
  asList,
  asSafeUint,
  asUint,
  DecodeError,
  type RlpItem,
  rlpDecodeStrict,
  rlpEncode,
} from '../../ledger/codec.ts';

export const MAX_SYNC_MESSAGE_BYTES = 32 * 1024 * 1024;
export const MAX_SYNC_BATCH = 64;
/** Items one snapshot-part carries at most (the source also caps its bytes). */
export const MAX_SNAPSHOT_ITEMS = 4096;
/** Bytes of one snapshot item: a trie node, a log entry or a block hash (all far smaller). */
const MAX_SNAPSHOT_ITEM_BYTES = 64 * 1024;

export const SNAPSHOT_SECTIONS = ['state', 'log', 'history'] as const;
export type SnapshotSection = (typeof SNAPSHOT_SECTIONS)[number];
export { MAX_EVIDENCE_BYTES };

export type SyncMessage =
  | {
      readonly kind: 'status';
      readonly height: number;
      readonly hash: Uint8Array;
      readonly clockMs: number;
      /** The committed head's cumulative work (EngineModule.chainWork), when the engine counts it. */
      readonly work?: bigint;
    }
  | { readonly kind: 'get-blocks'; readonly from: number; readonly count: number }
  | {
      readonly kind: 'blocks';
      readonly items: ReadonlyArray<{ readonly block: Uint8Array; readonly certificate: Uint8Array }>;
    }
  | { readonly kind: 'evidence'; readonly evidence: Uint8Array }
  | { readonly kind: 'get-snapshot'; readonly height: number }
  | { readonly kind: 'snapshot-manifest'; readonly manifest: Uint8Array }
  | {
      readonly kind: 'get-snapshot-part';
      readonly height: number;
      readonly section: SnapshotSection;
      readonly from: number;
      readonly count: number;
    }
  | {
      readonly kind: 'snapshot-part';
      readonly height: number;
      readonly section: SnapshotSection;
      readonly from: number;
      readonly items: readonly Uint8Array[];
    };

export function encodeSync(m: SyncMessage): Uint8Array {
  switch (m.kind) {
    case 'status':
      return rlpEncode(
        m.work === undefined ? [1, m.height, m.hash, m.clockMs] : [1, m.height, m.hash, m.clockMs, m.work],
      );
    case 'get-blocks':
      return rlpEncode([2, m.from, m.count]);
    case 'blocks':
      return rlpEncode([3, m.items.map((i) => [i.block, i.certificate])]);
    case 'evidence':
      return rlpEncode([4, m.evidence]);
    case 'get-snapshot':
      return rlpEncode([5, m.height]);
    case 'snapshot-manifest':
      return rlpEncode([6, m.manifest]);
    case 'get-snapshot-part':
      return rlpEncode([7, m.height, SNAPSHOT_SECTIONS.indexOf(m.section), m.from, m.count]);
    case 'snapshot-part':
      return rlpEncode([8, m.height, SNAPSHOT_SECTIONS.indexOf(m.section), m.from, [...m.items]]);
  }
}

function section(item: RlpItem | undefined): SnapshotSection {
  const s = SNAPSHOT_SECTIONS[asSafeUint(item, 'snapshot section')];
  if (s === undefined) throw new DecodeError('MALFORMED', 'unknown snapshot section');
  return s;
}

export function decodeSync(bytes: Uint8Array): SyncMessage {
  const f = asList(rlpDecodeStrict(bytes, MAX_SYNC_MESSAGE_BYTES, 'sync message'), 'sync message');
  const kind = asSafeUint(f[0], 'sync.kind');
  if (kind === 1 && (f.length === 4 || f.length === 5)) {
    const status = {
      kind: 'status',
      height: asSafeUint(f[1], 'status.height'),
      hash: asBytes(f[2], 'status.hash', { length: 32 }),
      clockMs: asSafeUint(f[3], 'status.clockMs'),
    } as const;
    return f.length === 4 ? status : { ...status, work: asUint(f[4], 'status.work', 32) };
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
    if (items.length > MAX_SYNC_BATCH)
      throw new DecodeError('TOO_LARGE', `too many blocks (${items.length})`);
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
  if (kind === 5 && f.length === 2)
    return { kind: 'get-snapshot', height: asSafeUint(f[1], 'get-snapshot.height') };
  if (kind === 6 && f.length === 2)
    return { kind: 'snapshot-manifest', manifest: asBytes(f[1], 'snapshot-manifest') };
  if (kind === 7 && f.length === 5)
    return {
      kind: 'get-snapshot-part',
      height: asSafeUint(f[1], 'get-snapshot-part.height'),
      section: section(f[2]),
      from: asSafeUint(f[3], 'get-snapshot-part.from'),
      count: Math.min(asSafeUint(f[4], 'get-snapshot-part.count'), MAX_SNAPSHOT_ITEMS),
    };
  if (kind === 8 && f.length === 5) {
    const items = asList(f[4], 'snapshot-part.items');
    if (items.length > MAX_SNAPSHOT_ITEMS)
      throw new DecodeError('TOO_LARGE', `too many snapshot items (${items.length})`);
    return {
      kind: 'snapshot-part',
      height: asSafeUint(f[1], 'snapshot-part.height'),
      section: section(f[2]),
      from: asSafeUint(f[3], 'snapshot-part.from'),
      items: items.map((it, i) => asBytes(it, `snapshot-part.items[${i}]`, { max: MAX_SNAPSHOT_ITEM_BYTES })),
    };
  }
  throw new DecodeError('MALFORMED', `unknown sync message kind ${kind} (or wrong field count)`);
}
