/**
 * Equivocation evidence (consensus/evidence.ts): a pair of envelopes one validator signed for one
 * slot with different bytes verifies offline against the validator set; every way of faking one
 * does not.
 */
import { describe, expect, it } from 'vitest';
import { encodeEnvelope, sealEnvelope } from '../../consensus/envelope.ts';
import {
  decodeEquivocation,
  type Equivocation,
  EvidenceError,
  encodeEquivocation,
  equivocation,
  stakingEvidenceVerifier,
  verifyEquivocation,
} from '../../consensus/evidence.ts';
import { type PosMessage, posCodec } from '../../consensus/pos/messages.ts';
import { type TmMessage as TendermintMessage, tendermintCodec } from '../../consensus/tendermint/messages.ts';
import type { FfgLink, MessageCodec, SignSlot } from '../../consensus/types.ts';
import { sha256 } from '../../crypto/hash.ts';
import { rlpDecodeStrict } from '../../ledger/codec.ts';
import { signingDomain } from '../../ledger/signing-domain.ts';
import { EquivocationWatch } from '../../src/runtime/equivocation-watch.ts';
import { makeTestChain, type TestKey } from '../helpers/chain.ts';

const chain = makeTestChain({ validators: 4, accounts: 1 });
const CHAIN = chain.genesis.chainId;
const codec = tendermintCodec as MessageCodec<unknown>;
const trust = { engine: 'tendermint', chainId: CHAIN, validators: chain.genesis.validators, codec };

function signed(signer: number, msg: TendermintMessage, as = signer) {
  const key = chain.validators[signer] as TestKey;
  const seal = sealEnvelope(tendermintCodec, msg, CHAIN, as, key.secretKey);
  return { envelope: seal.bytes, hash: sha256(tendermintCodec.signingBytes(msg, CHAIN)) };
}

const prevote = (round: number, fill: number): TendermintMessage => ({
  type: 'prevote',
  height: 5,
  round,
  id: new Uint8Array(32).fill(fill),
});

function evidenceOf(first: ReturnType<typeof signed>, second: ReturnType<typeof signed>): Equivocation {
  return equivocation(
    { engine: 'tendermint', chainId: CHAIN, validator: 1, slot: { height: 5, round: 0, step: 1 } },
    first,
    second,
  );
}

describe('equivocation evidence', () => {
  it('two different prevotes of one validator in one round verify, in either order caught, with one encoding', () => {
    const a = signed(1, prevote(0, 1));
    const b = signed(1, prevote(0, 2));
    const e = evidenceOf(a, b);
    expect(encodeEquivocation(evidenceOf(b, a))).toEqual(encodeEquivocation(e));
    const check = verifyEquivocation(decodeEquivocation(encodeEquivocation(e), 1 << 20), trust);
    expect(check.ok).toBe(true);
    if (check.ok) {
      expect(check.validator).toBe(1);
      expect(check.messages.every((m) => m.startsWith('prevote(h=5, r=0'))).toBe(true);
    }
  });

  it('negative controls: the same message twice, two slots, another signer, a forged signature, another chain, non-canonical order', () => {
    const a = signed(1, prevote(0, 1));
    const b = signed(1, prevote(0, 2));
    const fails = (e: Equivocation, why: RegExp) => {
      const r = verifyEquivocation(e, trust);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(why);
    };
    fails(evidenceOf(a, a), /same bytes/);
    fails(evidenceOf(a, signed(1, prevote(1, 2))), /not for the slot/);
    fails(evidenceOf(a, signed(2, prevote(0, 2))), /signed by validator 2/);
    const forged = signed(2, prevote(0, 2), 1); // validator 2's key, claiming to be 1
    fails(evidenceOf(a, forged), /bad signature/);
    fails({ ...evidenceOf(a, b), chainId: 'other' }, /chain "other"/);
    fails({ ...evidenceOf(a, b), validator: 9 }, /not in the set/);
    const e = evidenceOf(a, b);
    fails({ ...e, a: e.b, b: e.a }, /canonical order/);
  });

  it('malformed bytes are a typed error, never anything else', () => {
    const e = encodeEquivocation(evidenceOf(signed(1, prevote(0, 1)), signed(1, prevote(0, 2))));
    for (const bad of [
      new Uint8Array(0),
      e.subarray(0, e.length - 3),
      new Uint8Array([0xc0]),
      e.map((x, i) => (i === 1 ? x ^ 0xff : x)),
    ]) {
      expect(() => decodeEquivocation(bad, 1 << 20)).toThrow(EvidenceError);
    }
    expect(() => decodeEquivocation(e, 64)).toThrow(EvidenceError);
  });
});

describe('evidence on a chain whose set changes', () => {
  function signedIn(epoch: number, signer: number, msg: TendermintMessage) {
    const key = chain.validators[signer] as TestKey;
    const seal = sealEnvelope(tendermintCodec, msg, CHAIN, signer, key.secretKey, epoch);
    return {
      envelope: seal.bytes,
      hash: sha256(tendermintCodec.signingBytes(msg, signingDomain(CHAIN, epoch))),
    };
  }
  const inEpoch3 = (a: ReturnType<typeof signedIn>, b: ReturnType<typeof signedIn>) =>
    equivocation(
      {
        engine: 'tendermint',
        chainId: CHAIN,
        epoch: 3,
        validator: 1,
        slot: { height: 5, round: 0, step: 1 },
      },
      a,
      b,
    );

  it('names its epoch (version 2), verifies in that epoch’s domain, and round-trips', () => {
    const e = inEpoch3(signedIn(3, 1, prevote(0, 1)), signedIn(3, 1, prevote(0, 2)));
    const decoded = decodeEquivocation(encodeEquivocation(e), 1 << 20);
    expect(decoded.epoch).toBe(3);
    expect(verifyEquivocation(decoded, trust).ok).toBe(true);
    // Epoch-0 evidence keeps its version-1 bytes.
    const zero = evidenceOf(signed(1, prevote(0, 1)), signed(1, prevote(0, 2)));
    expect(decodeEquivocation(encodeEquivocation(zero), 1 << 20).epoch).toBeUndefined();
  });

  it('messages signed in one epoch are not evidence in another', () => {
    // Envelopes of epoch 0, presented as epoch 3's: refused before any signature is checked.
    const e = inEpoch3(signed(1, prevote(0, 1)), signed(1, prevote(0, 2)));
    const r = verifyEquivocation(e, trust);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/epoch 0/);
    // Signed in epoch 0's domain but labelled epoch 3: the signatures do not verify there.
    const relabel = (x: ReturnType<typeof signed>) => {
      const f = rlpDecodeStrict(x.envelope, 1 << 20) as Uint8Array[];
      return { envelope: encodeEnvelope(f[0] as Uint8Array, 1, f[2] as Uint8Array, 3), hash: x.hash };
    };
    const forged = verifyEquivocation(
      inEpoch3(relabel(signed(1, prevote(0, 1))), relabel(signed(1, prevote(0, 2)))),
      trust,
    );
    expect(forged.ok).toBe(false);
    if (!forged.ok) expect(forged.reason).toMatch(/bad signature/);
    // And one message from each epoch for one slot is no equivocation at all.
    const mixed = inEpoch3(signedIn(3, 1, prevote(0, 1)), signed(1, prevote(0, 2)));
    expect(verifyEquivocation(mixed, trust).ok).toBe(false);
  });

  it('the staking verifier names the offender, the epoch, and one infraction id per slot', async () => {
    const verify = stakingEvidenceVerifier({ engine: 'tendermint', chainId: CHAIN, codec });
    const setOf = async (epoch: number) => (epoch === 3 ? chain.genesis.validators : undefined);
    const ab = encodeEquivocation(inEpoch3(signedIn(3, 1, prevote(0, 1)), signedIn(3, 1, prevote(0, 2))));
    const ac = encodeEquivocation(inEpoch3(signedIn(3, 1, prevote(0, 1)), signedIn(3, 1, prevote(0, 3))));
    const first = await verify(ab, setOf);
    const second = await verify(ac, setOf);
    expect(first.ok && second.ok).toBe(true);
    if (first.ok && second.ok) {
      expect(first.address).toEqual((chain.validators[1] as TestKey).address);
      expect(first.epoch).toBe(3);
      expect(first.infraction).toEqual(second.infraction);
    }
    // Negative controls: an unknown epoch's set, and garbage.
    const unknown = await verify(
      encodeEquivocation(evidenceOf(signed(1, prevote(0, 1)), signed(1, prevote(0, 2)))),
      setOf,
    );
    expect(unknown).toMatchObject({ ok: false, epoch: 0 });
    expect((await verify(new Uint8Array([1, 2, 3]), setOf)).ok).toBe(false);
  });
});

describe('surround-vote evidence (Casper FFG votes: Proof of Stake attestations)', () => {
  const posTrust = { ...trust, engine: 'pos', codec: posCodec as MessageCodec<unknown> };
  const attest = (source: number, target: number): PosMessage => ({
    type: 'attest',
    slot: target + 1,
    head: new Uint8Array(32).fill(target),
    source: { slot: source, root: new Uint8Array(32).fill(source + 100) },
    target: { slot: target, root: new Uint8Array(32).fill(target + 100) },
    signature: new Uint8Array(96),
  });
  const vote = (source: number, target: number) => {
    const msg = attest(source, target);
    const key = chain.validators[1] as TestKey;
    const seal = sealEnvelope(posCodec, msg, CHAIN, 1, key.secretKey);
    return { envelope: seal.bytes, hash: sha256(posCodec.signingBytes(msg, CHAIN)), msg };
  };
  const caught = (outer: ReturnType<typeof vote>, inner: ReturnType<typeof vote>) => {
    const watch = new EquivocationWatch('pos', CHAIN);
    for (const v of [inner, outer]) watch.observe(1, posCodec.slot(v.msg) as SignSlot, v.hash, v.envelope);
    watch.observeVote(
      1,
      posCodec.ffgLink?.(inner.msg) as FfgLink,
      posCodec.slot(inner.msg) as SignSlot,
      inner.hash,
      inner.envelope,
    );
    return watch.observeVote(
      1,
      posCodec.ffgLink?.(outer.msg) as FfgLink,
      posCodec.slot(outer.msg) as SignSlot,
      outer.hash,
      outer.envelope,
    );
  };

  it('a vote 0 → 12 beside a vote 4 → 8 of the same validator is caught and verifies offline, naming the outer slot', () => {
    const e = caught(vote(0, 12), vote(4, 8));
    expect(e?.slot).toEqual({ height: 12, round: 0, step: 2 });
    const check = verifyEquivocation(
      decodeEquivocation(encodeEquivocation(e as Equivocation), 1 << 20),
      posTrust,
    );
    expect(check).toMatchObject({ ok: true, validator: 1, offence: 'surround' });
    // The order it is caught in does not matter: the surrounded vote seen last is caught too.
    const watch = new EquivocationWatch('pos', CHAIN);
    const [o, i] = [vote(0, 12), vote(4, 8)];
    watch.observeVote(1, { source: 0, target: 12 }, posCodec.slot(o.msg) as SignSlot, o.hash, o.envelope);
    expect(
      watch.observeVote(1, { source: 4, target: 8 }, posCodec.slot(i.msg) as SignSlot, i.hash, i.envelope)
        ?.slot.height,
    ).toBe(12);
  });

  it('negative controls: votes that do not surround, and evidence naming the inner vote’s slot, do not verify', () => {
    expect(caught(vote(4, 12), vote(0, 8))).toBeUndefined(); // 0 < 4 but 8 < 12: neither surrounds
    const a = vote(4, 12);
    const b = vote(0, 8);
    const named = (slot: SignSlot) =>
      verifyEquivocation(equivocation({ engine: 'pos', chainId: CHAIN, validator: 1, slot }, a, b), posTrust);
    expect(named({ height: 12, round: 0, step: 2 })).toMatchObject({ ok: false });
    const outer = vote(0, 12);
    const inner = vote(4, 8);
    const wrongSlot = equivocation(
      { engine: 'pos', chainId: CHAIN, validator: 1, slot: { height: 8, round: 0, step: 2 } },
      outer,
      inner,
    );
    expect(verifyEquivocation(wrongSlot, posTrust)).toMatchObject({ ok: false });
  });
});
