/**
 * Sealing an engine step's outputs under the double-sign guard (src/runtime/output-sealer.ts):
 * records become WAL operations; a message is signed once per slot, re-signed identically, never
 * signed differently (the earlier envelope is sent instead), not signed where the fence refuses;
 * unslotted messages are signed freely; a node without keys signs nothing.
 */
import { describe, expect, it } from 'vitest';
import { sealEnvelope } from '../../consensus/envelope.ts';
import type { EngineOutput, MessageCodec, SignSlot } from '../../consensus/types.ts';
import { utf8 } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { engineRecordKey } from '../../src/runtime/epoch.ts';
import { type SealContext, sealOutputs } from '../../src/runtime/output-sealer.ts';
import { MemorySignFence } from '../../src/runtime/sign-fence.ts';
import { SigningGuard } from '../../src/runtime/signing-guard.ts';
import { CheckedWal } from '../../src/runtime/wal-records.ts';

/** A toy message: a vote for `value` in slot (height, 0, 1), or an unslotted request. */
type Msg =
  | { readonly kind: 'vote'; readonly height: number; readonly value: string }
  | { readonly kind: 'ask' };

const codec: MessageCodec<Msg> = {
  maxBytes: 1024,
  encode: (m) => utf8(JSON.stringify(m)),
  decode: (b) => JSON.parse(new TextDecoder().decode(b)) as Msg,
  signingBytes: (m, domain) => utf8(`${domain}|${JSON.stringify(m)}`),
  slot: (m): SignSlot | undefined =>
    m.kind === 'vote' ? { height: m.height, round: 0, step: 1 } : undefined,
  describe: (m) => JSON.stringify(m),
};

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const key = ed25519.keygen(new Uint8Array(32).fill(7));

async function context(fence = new MemorySignFence()) {
  const wal = new CheckedWal(new MemoryKvStore());
  await wal.open();
  const guard = new SigningGuard({ wal, fence, logger: quiet });
  await guard.load(0);
  const refused: string[] = [];
  const c: SealContext<Msg> = {
    codec,
    chainId: 'seal-test',
    epoch: 0,
    signer: { index: 0, secretKey: key.secretKey },
    guard,
    log: quiet,
    onRefused: (_slot, description) => refused.push(description),
  };
  return { c, guard, refused };
}

const vote = (height: number, value: string): EngineOutput<Msg> => ({
  kind: 'broadcast',
  msg: { kind: 'vote', height, value },
});

/** The envelope this validator signs for `msg` (ed25519 is deterministic). */
const envelopeOf = (msg: Msg) => sealEnvelope(codec, msg, 'seal-test', 0, key.secretKey).bytes;

describe('sealing engine outputs under the double-sign guard', () => {
  it('records become WAL operations under the epoch; messages are signed and the slot recorded', async () => {
    const { c, guard } = await context();
    const out = vote(1, 'a');
    const r = sealOutputs(
      [{ kind: 'persist', key: 'state', record: new Uint8Array([1]) }, { kind: 'forget', key: 'old' }, out],
      c,
    );
    expect(r.walOps).toEqual([
      { type: 'put', key: engineRecordKey(0, 'state'), value: new Uint8Array([1]) },
      { type: 'del', key: engineRecordKey(0, 'old') },
    ]);
    const seal = r.sealed.get(out);
    expect(seal?.bytes).toEqual(envelopeOf({ kind: 'vote', height: 1, value: 'a' }));
    const signed = codec.signingBytes({ kind: 'vote', height: 1, value: 'a' }, 'seal-test');
    expect(ed25519.verify(seal?.signature as Uint8Array, signed, key.publicKey)).toBe(true);
    expect(r.replaced.size).toBe(0);
    expect(guard.verdict({ height: 1, round: 0, step: 1 }, new Uint8Array(32)).kind).toBe('resend');
  });

  it('the same message again is signed again (the same envelope); a different one gets the first one instead', async () => {
    const { c, refused } = await context();
    const first = sealOutputs([vote(1, 'a')], c);
    const firstBytes = [...first.sealed.values()][0]?.bytes as Uint8Array;
    const again = vote(1, 'a');
    const same = sealOutputs([again], c);
    expect(same.sealed.get(again)?.bytes).toEqual(firstBytes);
    expect(refused).toEqual([]);

    const conflicting = vote(1, 'b');
    const r = sealOutputs([conflicting], c);
    expect(r.sealed.has(conflicting)).toBe(false);
    expect(r.replaced.get(conflicting)).toEqual(firstBytes);
    expect(firstBytes).toEqual(envelopeOf({ kind: 'vote', height: 1, value: 'a' }));
    expect(refused).toEqual([JSON.stringify({ kind: 'vote', height: 1, value: 'b' })]);
  });

  it('within one step too: the second of two conflicting votes is replaced by the first', async () => {
    const { c } = await context();
    const a = vote(2, 'a');
    const b = vote(2, 'b');
    const r = sealOutputs([a, b], c);
    expect(r.sealed.has(a)).toBe(true);
    expect(r.replaced.get(b)).toEqual(r.sealed.get(a)?.bytes);
  });

  it('a slot under a fence whose WAL was lost is not signed at all', async () => {
    const fence = new MemorySignFence();
    {
      const { c, guard } = await context(fence);
      sealOutputs([vote(3, 'a')], c);
      await guard.flush([], 0);
    }
    // The same fence, a fresh (lost) WAL: the slot may have been signed.
    const { c, refused } = await context(fence);
    const out = vote(3, 'b');
    const r = sealOutputs([out], c);
    expect(r.sealed.has(out)).toBe(false);
    expect(r.replaced.has(out)).toBe(false);
    expect(refused).toHaveLength(1);
    // A later slot is signed (the control).
    const later = vote(4, 'b');
    expect(sealOutputs([later], c).sealed.has(later)).toBe(true);
  });

  it('unslotted messages are signed every time, and a node without keys signs nothing', async () => {
    const { c } = await context();
    const ask1: EngineOutput<Msg> = { kind: 'send', to: 0, msg: { kind: 'ask' } };
    const ask2: EngineOutput<Msg> = { kind: 'broadcast', msg: { kind: 'ask' } };
    const r = sealOutputs([ask1, ask2], c);
    expect(r.sealed.size).toBe(2);
    const observer = sealOutputs([vote(5, 'a'), { kind: 'persist', key: 's', record: new Uint8Array([2]) }], {
      ...c,
      signer: undefined,
    });
    expect(observer.sealed.size).toBe(0);
    expect(observer.walOps).toHaveLength(1);
  });
});
