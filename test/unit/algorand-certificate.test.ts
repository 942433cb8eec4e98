/**
 * Algorand BA* commit certificates (`algorand-final`, consensus/algorand/certificate.ts): FINAL
 * committee votes with real ed25519 signatures and real sortition proofs, checked the way a light
 * client does — against a TrustAnchor — and through the wire form with every scheme of the build.
 */
import { describe, expect, it } from 'vitest';
import {
  ALGORAND_CERT_GUARANTEE,
  ALGORAND_CERT_KIND,
  ALGORAND_CERT_MAX_VOTES,
  type AlgorandCertificate,
  type AlgorandFinalVote,
  algorandCertificate,
  algorandCertificateScheme,
} from '../../consensus/algorand/certificate.ts';
import {
  encodeEngineData,
  STEP_FINAL,
  STEP_REDUCTION_TWO,
  sortitionStep,
  voteSigningBytes,
} from '../../consensus/algorand/messages.ts';
import { type SortitionContext, sortition } from '../../consensus/algorand/sortition.ts';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { vrf } from '../../crypto/vrf.ts';
import { type BlockHeader, headerFields, headerHash, txRoot } from '../../ledger/block.ts';
import {
  CertificateError,
  type CertificateScheme,
  decodeCertificate,
  encodeCertificate,
  type TrustAnchor,
  verifyCertificate,
} from '../../ledger/certificate.ts';
import { DecodeError, type RlpItem, rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';
import { type EngineParams, parseGenesis, trustAnchor } from '../../ledger/genesis.ts';
import { ExtendedTree, emptyFrontier, emptyRoot, leafHash } from '../../ledger/log/index.ts';
import { peerIdFromEd25519, ValidatorSet } from '../../ledger/validators.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../../src/schemes.ts';
import { makeTestChain } from '../helpers/chain.ts';

const CHAIN = 'algorand-cert-test';
const scheme = algorandCertificateScheme as unknown as CertificateScheme;
const h32 = (label: string) => sha256(utf8(label));

interface Keys {
  readonly ed: { readonly secretKey: Uint8Array; readonly publicKey: Uint8Array };
  readonly vrfSecret: Uint8Array;
}

interface Net {
  readonly keys: readonly Keys[];
  readonly validators: ValidatorSet;
  readonly trust: TrustAnchor;
}

function keysFor(label: string, i: number): Keys {
  return { ed: ed25519.keygen(h32(`${label}:ed:${i}`)), vrfSecret: h32(`${label}:vrf:${i}`) };
}

/** A validator set with ed25519 and VRF keys (BLS keys are placeholders: nothing here uses them). */
function makeNet(
  powers: readonly number[],
  engineParams: EngineParams | undefined = {},
  label = 'net',
  withVrf = true,
): Net {
  const keys = powers.map((_, i) => keysFor(label, i));
  const validators = new ValidatorSet(
    keys.map((k, i) => ({
      name: `v${i}`,
      publicKey: k.ed.publicKey,
      blsPublicKey: new Uint8Array(48).fill(i + 1), // placeholders, one per validator
      blsPop: new Uint8Array(96),
      peerId: peerIdFromEd25519(k.ed.publicKey),
      power: powers[i] as number,
      ...(withVrf ? { vrfPublicKey: vrf.publicKeyFromSecret(k.vrfSecret) } : {}),
    })),
  );
  const base = { chainId: CHAIN, validators };
  return { keys, validators, trust: engineParams === undefined ? base : { ...base, engineParams } };
}

interface Data {
  readonly period: number;
  readonly sortitionSeed: Uint8Array;
}

const DATA: Data = { period: 2, sortitionSeed: h32('sortition-seed') };

function engineData(d: Data): Uint8Array {
  return encodeEngineData({ ...d, seed: h32('own-seed'), seedProof: new Uint8Array(80).fill(7) });
}

function header(net: Net, o: Partial<BlockHeader> & { height: number }): BlockHeader {
  return {
    chainId: CHAIN,
    parentHash: h32(`parent:${o.height}`),
    historyRoot: emptyRoot(),
    time: { ms: 1_700_000_000_000 + o.height, logical: 0 },
    proposer: new Uint8Array(20),
    txRoot: txRoot([]),
    txCount: 0,
    stateRoot: h32('state'),
    logSize: 0,
    logRoot: emptyRoot(),
    validatorsHash: net.validators.hash,
    engine: 'algorand',
    engineData: engineData(DATA),
    ...o,
  };
}

const finalCtx = (d: BlockHeader, data: Data = DATA): SortitionContext => ({
  seed: data.sortitionSeed,
  round: d.height,
  step: sortitionStep(data.period, STEP_FINAL),
  role: 'committee',
});

function weights(net: Net, i: number, tauFinal: number) {
  const W = net.validators.totalPower;
  return { stake: net.validators.at(i)?.power as number, totalStake: W, expectedSize: Math.min(tauFinal, W) };
}

interface VoteOptions {
  readonly period?: number;
  readonly step?: number;
  readonly parent?: Uint8Array;
  readonly value?: Uint8Array;
  readonly height?: number;
  /** Sortition context of the proof (default: D's FINAL step). */
  readonly ctx?: SortitionContext;
  /** Whose VRF key proves (default: the voter's own). */
  readonly vrfOf?: number;
  readonly tauFinal?: number;
}

/** Validator i's FINAL vote for D, and the j its proof selects. */
function vote(net: Net, d: BlockHeader, i: number, o: VoteOptions = {}): AlgorandFinalVote & { j: number } {
  const k = net.keys[i] as Keys;
  const message = voteSigningBytes(
    CHAIN,
    o.height ?? d.height,
    o.period ?? DATA.period,
    o.step ?? STEP_FINAL,
    o.parent ?? d.parentHash,
    o.value ?? headerHash(d),
  );
  const s = sortition(
    (net.keys[o.vrfOf ?? i] as Keys).vrfSecret,
    o.ctx ?? finalCtx(d),
    weights(net, i, o.tauFinal ?? 10_000),
  );
  return { validator: i, signature: ed25519.sign(message, k.ed.secretKey), proof: s.proof, j: s.j };
}

const strip = ({ validator, signature, proof }: AlgorandFinalVote): AlgorandFinalVote => ({
  validator,
  signature,
  proof,
});

function certOf(d: BlockHeader, votes: readonly AlgorandFinalVote[]): AlgorandCertificate {
  return algorandCertificate(d, votes.map(strip), d.height, headerHash(d));
}

const check = (cert: AlgorandCertificate, trust: TrustAnchor) =>
  algorandCertificateScheme.verify(cert, trust);

function expectRefused(cert: AlgorandCertificate, trust: TrustAnchor, reason: RegExp): void {
  const r = check(cert, trust);
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.reason).toMatch(reason);
}

// Full committee: W = 10 ≤ τ_final (10,000), so every stake unit is selected (j = power) and the
// threshold is floor(0.74 · 10) + 1 = 8.
const POWERS = [1, 2, 3, 4];
const net = makeNet(POWERS);
const D = header(net, { height: 7 });
const full = [0, 1, 2, 3].map((i) => vote(net, D, i));
const good = certOf(D, full);
const vote0to3 = (i: number) => full[i] as AlgorandFinalVote;
const fullVotes = [vote0to3(0), vote0to3(1), vote0to3(2), vote0to3(3)] as const;

describe('algorand-final certificates: full committee', () => {
  it('a FINAL committee holding more than T_final·τ_final verifies, through the wire and against the header', () => {
    expect(full.map((v) => v.j)).toEqual(POWERS); // selection probability 1: j is the whole stake
    expect(check(good, net.trust)).toEqual({ ok: true });
    const bytes = encodeCertificate(good, ALL_CERTIFICATE_SCHEMES);
    const back = decodeCertificate(bytes, ALL_CERTIFICATE_SCHEMES) as AlgorandCertificate;
    expect(back.kind).toBe(ALGORAND_CERT_KIND);
    expect(back.ancestry).toBeUndefined();
    expect(toHex(encodeCertificate(back, ALL_CERTIFICATE_SCHEMES))).toBe(toHex(bytes));
    expect(verifyCertificate(back, D, net.trust, ALL_CERTIFICATE_SCHEMES)).toEqual({ ok: true });
    // Negative control: the same certificate does not certify another block.
    const other = header(net, { height: 7, stateRoot: h32('other state') });
    expect(verifyCertificate(back, other, net.trust, ALL_CERTIFICATE_SCHEMES)).toEqual({
      ok: false,
      reason: 'certificate is for a different block hash',
    });
    // Without engine parameters in the anchor the defaults apply (τ_final 10,000: also everyone).
    expect(check(good, { chainId: CHAIN, validators: net.validators })).toEqual({ ok: true });
  });

  it('one vote short of the threshold is refused; the missing vote completes it', () => {
    const [v0, v1, v2, v3] = fullVotes;
    expectRefused(certOf(D, [v0, v1, v3]), net.trust, /weight 7; need 8/); // 1 + 2 + 4
    expect(check(certOf(D, [v0, v2, v3]), net.trust)).toEqual({ ok: true }); // 1 + 3 + 4 = 8
    expect(check(certOf(D, [v1, v2, v3]), net.trust)).toEqual({ ok: true });
    expectRefused(certOf(D, []), net.trust, /weight 0; need 8/);
  });

  it('a bad signature is refused, and so is a signature by another validator', () => {
    const flipped = full.map((v, i) => {
      if (i !== 2) return v;
      const signature = v.signature.slice();
      signature[5] = (signature[5] as number) ^ 1;
      return { ...v, signature };
    });
    expectRefused(certOf(D, flipped), net.trust, /bad final vote signature from validator 2 \(v2\)/);
    const borrowed = full.map((v, i) =>
      i === 1 ? { ...v, signature: (full[0] as AlgorandFinalVote).signature } : v,
    );
    expectRefused(certOf(D, borrowed), net.trust, /bad final vote signature from validator 1/);
  });

  it('a vote signed for another period, parent, value, step or height is refused', () => {
    const cases: Array<[string, VoteOptions]> = [
      ['period', { period: DATA.period + 1 }],
      ['parent', { parent: h32('another parent') }],
      ['value', { value: h32('another block') }],
      ['step', { step: STEP_REDUCTION_TWO }],
      ['height', { height: D.height + 1 }],
    ];
    for (const [what, o] of cases) {
      const votes = full.map((v, i) => (i === 3 ? vote(net, D, 3, o) : v));
      expectRefused(certOf(D, votes), net.trust, /bad final vote signature from validator 3/);
      expect(what).toBeTruthy();
    }
    // Negative control: re-signing with D's own values verifies.
    expect(
      check(
        certOf(
          D,
          full.map((v, i) => (i === 3 ? vote(net, D, 3) : v)),
        ),
        net.trust,
      ),
    ).toEqual({
      ok: true,
    });
  });

  it("a sortition proof from another validator's VRF key, or for another step, seed, period, height or role, is refused", () => {
    const base = finalCtx(D);
    const cases: VoteOptions[] = [
      { vrfOf: 0 },
      { ctx: { ...base, step: sortitionStep(DATA.period, STEP_REDUCTION_TWO) } },
      { ctx: { ...base, step: sortitionStep(DATA.period + 1, STEP_FINAL) } },
      { ctx: { ...base, seed: h32('another seed') } },
      { ctx: { ...base, round: D.height + 1 } },
      { ctx: { ...base, role: 'proposer' } },
    ];
    for (const o of cases) {
      const votes = full.map((v, i) => (i === 2 ? vote(net, D, 2, o) : v));
      expectRefused(certOf(D, votes), net.trust, /FINAL sortition of validator 2 \(v2\).*does not verify/);
    }
    const garbage = full.map((v, i) => (i === 2 ? { ...v, proof: new Uint8Array(80).fill(1) } : v));
    expectRefused(certOf(D, garbage), net.trust, /FINAL sortition of validator 2/);
  });

  it('votes out of order, duplicated or from an unknown validator are refused', () => {
    const [v0, v1, v2, v3] = fullVotes;
    expectRefused(certOf(D, [v0, v2, v1, v3]), net.trust, /not in strictly increasing validator order/);
    // v3 twice would reach 1 + 4 + 4 ≥ 8 if it were counted twice.
    expectRefused(certOf(D, [v0, v3, v3]), net.trust, /not in strictly increasing validator order/);
    expectRefused(
      certOf(D, [v0, v1, v2, v3, { ...v3, validator: 4 }]),
      net.trust,
      /unknown validator index 4/,
    );
  });

  it('a header of another chain, validator set or engine is refused', () => {
    const onChain = (o: Partial<BlockHeader>) => {
      const d = header(net, { height: 7, ...o });
      return certOf(
        d,
        [0, 1, 2, 3].map((i) => vote(net, d, i)),
      );
    };
    expectRefused(
      onChain({ chainId: 'another-chain' }),
      net.trust,
      /final header is for chain "another-chain"/,
    );
    expectRefused(onChain({ engine: 'tendermint' }), net.trust, /final header is from engine "tendermint"/);
    const otherSet = makeNet(POWERS, {}, 'other');
    expectRefused(good, otherSet.trust, /final header has another validator set/);
    expectRefused(good, { ...net.trust, chainId: 'another-chain' }, /final header is for chain/);
    // A trusted set without VRF keys (one no Algorand genesis accepts) certifies nothing.
    const noVrf = makeNet(POWERS, {}, 'net', false);
    const d = header(noVrf, { height: 7 });
    expectRefused(
      certOf(
        d,
        [0, 1, 2, 3].map((i) => vote(net, d, i)),
      ),
      noVrf.trust,
      /no VRF key .* v0, v1, v2, v3/,
    );
  });

  it('malformed engine data is a failed check with a reason, not an exception', () => {
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array([1, 2, 3]), /final header engine data/],
      [rlpEncode([2, 0, h32('a'), h32('b'), new Uint8Array(80)]), /engine data: version 2/],
      [rlpEncode([1, 0, new Uint8Array(31), h32('b'), new Uint8Array(80)]), /sortitionSeed/],
      [rlpEncode([1, 2 ** 24, h32('a'), h32('b'), new Uint8Array(80)]), /period above/],
      [new Uint8Array(0), /final header engine data/],
    ];
    for (const [engineData, reason] of cases) {
      const d = header(net, { height: 7, engineData });
      expectRefused(certOf(d, full), net.trust, reason);
    }
  });

  it('trust-anchor parameters that are not Algorand parameters are a failed check', () => {
    expectRefused(
      good,
      { ...net.trust, engineParams: { timeoutMs: 5 } },
      /not Algorand's: .*unknown parameter/,
    );
    expectRefused(good, { ...net.trust, engineParams: { thresholdFinal: 400 } }, /not Algorand's/);
  });
});

describe('algorand-final certificates: sampled committee', () => {
  // W = 20,000 stake, τ_final = 20: each validator expects one selected sub-user, and the
  // threshold is floor(0.74 · 20) + 1 = 15 sub-users — about 15 of 20,000 stake units.
  const params = { tauFinal: 20 };
  const sampled = makeNet(Array(20).fill(1000), params, 'sampled');
  const d = header(sampled, { height: 11 });
  const votes = sampled.validators.validators.map((v) => vote(sampled, d, v.index, { tauFinal: 20 }));
  const selected = votes.filter((v) => v.j > 0);
  const weight = selected.reduce((a, v) => a + v.j, 0);

  it('the committee weight is the sum of j, counted only for selected validators', () => {
    // The draw is deterministic (fixed keys and seed); it leaves some validators out.
    expect(votes.some((v) => v.j === 0)).toBe(true);
    expect(selected.length).toBeLessThan(votes.length);
    expect(weight).toBeGreaterThanOrEqual(15);
    expect(check(certOf(d, selected), sampled.trust)).toEqual({ ok: true });
    const back = decodeCertificate(
      encodeCertificate(certOf(d, selected), ALL_CERTIFICATE_SCHEMES),
      ALL_CERTIFICATE_SCHEMES,
    );
    expect(verifyCertificate(back, d, sampled.trust, ALL_CERTIFICATE_SCHEMES)).toEqual({ ok: true });
    // Dropping selected voters until the weight is below the threshold fails with that weight.
    const short: typeof selected = [];
    let w = 0;
    for (const v of selected) {
      if (w + v.j >= 15) continue;
      short.push(v);
      w += v.j;
    }
    expectRefused(
      certOf(d, short),
      sampled.trust,
      new RegExp(`weight ${w}; need 15 \\(more than 740/1000 of τ_final 20\\)`),
    );
  });

  it('a validator that was not selected (j = 0) cannot vote: its proof is valid, its vote is refused', () => {
    const out = votes.find((v) => v.j === 0) as AlgorandFinalVote;
    const withOut = [...selected, out].sort((a, b) => a.validator - b.validator);
    expectRefused(
      certOf(d, withOut),
      sampled.trust,
      new RegExp(`validator ${out.validator} \\(v${out.validator}\\) was not selected`),
    );
  });

  it('T_final and τ_final come from the trust anchor: the same votes pass or fail with them', () => {
    // Drop one voter with j = 1: 19 sub-users, more than 0.74 · 20 but not more than 0.95 · 20.
    const drop = selected.find((v) => v.j === 1) as AlgorandFinalVote;
    const less = selected.filter((v) => v !== drop);
    expect(weight - 1).toBe(19);
    expect(check(certOf(d, less), sampled.trust)).toEqual({ ok: true });
    expectRefused(
      certOf(d, less),
      { ...sampled.trust, engineParams: { tauFinal: 20, thresholdFinal: 950 } },
      /weight 19; need 20/,
    );
  });
});

describe('algorand-final certificates: a tentative block through a final descendant', () => {
  // Blocks 0 … 9: block k's historyRoot is the tree of the hashes of blocks 0 … k − 1.
  const leaves: Uint8Array[] = [];
  const headers: BlockHeader[] = [];
  for (let k = 0; k < 10; k++) {
    const tree = new ExtendedTree(emptyFrontier(), 0, leaves);
    const h = header(net, {
      height: k,
      parentHash: k === 0 ? new Uint8Array(32) : headerHash(headers[k - 1] as BlockHeader),
      historyRoot: tree.root(k),
    });
    headers.push(h);
    leaves.push(leafHash(headerHash(h)));
  }
  const final = headers[9] as BlockHeader;
  const tentative = headers[4] as BlockHeader;
  const finalVotes = [0, 1, 2, 3].map((i) => vote(net, final, i)).map(strip);
  const proofFor = (index: number) => new ExtendedTree(emptyFrontier(), 0, leaves).inclusionProof(index, 9);

  it("a tentative ancestor is certified by its final descendant's votes and an inclusion proof", () => {
    const cert = algorandCertificate(final, finalVotes, 4, headerHash(tentative), proofFor(4));
    expect(check(cert, net.trust)).toEqual({ ok: true });
    const back = decodeCertificate(encodeCertificate(cert, ALL_CERTIFICATE_SCHEMES), ALL_CERTIFICATE_SCHEMES);
    expect((back as AlgorandCertificate).ancestry?.map(toHex)).toEqual(proofFor(4).map(toHex));
    expect(verifyCertificate(back, tentative, net.trust, ALL_CERTIFICATE_SCHEMES)).toEqual({ ok: true });
    // The final block itself, directly.
    expect(check(algorandCertificate(final, finalVotes, 9, headerHash(final)), net.trust)).toEqual({
      ok: true,
    });
  });

  it('a wrong leaf, a proof for another index or a "descendant" that is not above is refused', () => {
    const other = headers[3] as BlockHeader;
    expectRefused(
      algorandCertificate(final, finalVotes, 4, headerHash(other), proofFor(4)),
      net.trust,
      /not in the history of block 9/,
    );
    expectRefused(
      algorandCertificate(final, finalVotes, 4, headerHash(tentative), proofFor(3)),
      net.trust,
      /not in the history of block 9/,
    );
    expectRefused(
      algorandCertificate(final, finalVotes, 4, h32('forged block'), proofFor(4)),
      net.trust,
      /not in the history/,
    );
    expectRefused(
      algorandCertificate(final, finalVotes, 9, headerHash(final), proofFor(4)),
      net.trust,
      /ancestry proof through block 9, not above 9/,
    );
    // Without a proof, the votes certify only D itself.
    expectRefused(
      algorandCertificate(final, finalVotes, 4, headerHash(tentative)),
      net.trust,
      /the final block is not the certified block/,
    );
  });
});

describe('algorand-final wire form', () => {
  const payload = (cert: AlgorandCertificate) =>
    rlpDecodeStrict(rlpEncode(algorandCertificateScheme.encodePayload(cert)), 1 << 24) as RlpItem[];
  const decode = (item: RlpItem) => algorandCertificateScheme.decodePayload(item, D.height, headerHash(D));

  it('round-trips, and refuses anything malformed with a DecodeError', () => {
    const p = payload(good);
    const again = decode(p);
    expect(check(again, net.trust)).toEqual({ ok: true });
    const votes = p[1] as RlpItem[][];
    const withVote = (f: (v: RlpItem[]) => RlpItem) =>
      [p[0], [f(votes[0] as RlpItem[]), ...votes.slice(1)]] as RlpItem;
    const bad: RlpItem[] = [
      [p[0] as RlpItem], // one field
      [...p, [h32('x')], [h32('y')]], // four fields
      [p[0] as RlpItem, new Uint8Array(3)], // votes not a list
      withVote((v) => [v[0] as RlpItem, v[1] as RlpItem]), // a vote without a proof
      withVote((v) => [...v, new Uint8Array(1)]), // four fields
      withVote((v) => [v[0] as RlpItem, (v[1] as Uint8Array).slice(1), v[2] as RlpItem]), // 63-byte signature
      withVote((v) => [v[0] as RlpItem, v[1] as RlpItem, (v[2] as Uint8Array).slice(1)]), // 79-byte proof
      withVote((v) => [[], v[1] as RlpItem, v[2] as RlpItem]), // validator not an integer
      [...p, []], // empty ancestry
      [...p, [new Uint8Array(31)]], // short ancestry hash
      [[new Uint8Array([2])], p[1] as RlpItem], // header
      [[new Uint8Array([99])], p[1] as RlpItem], // header of an unknown version
    ];
    for (const item of bad) expect(() => decode(item)).toThrow(DecodeError);
    const tooMany = Array.from({ length: ALGORAND_CERT_MAX_VOTES + 1 }, () => votes[0] as RlpItem);
    expect(() => decode([p[0] as RlpItem, tooMany])).toThrow(/more than 10000 votes/);
    // Through the certificate codec: typed CertificateError.
    const bytes = rlpEncode([utf8(ALGORAND_CERT_KIND), D.height, headerHash(D), [headerFields(D)]]);
    expect(() => decodeCertificate(bytes, ALL_CERTIFICATE_SCHEMES)).toThrow(CertificateError);
  });
});

describe('algorand-final from a genesis', () => {
  it('the trust anchor of a genesis carries its engine parameters, and they set the committee', () => {
    const chain = makeTestChain({
      validators: 4,
      engine: 'algorand',
      label: 'algo-genesis',
      powers: [5, 5, 5, 5],
    });
    const vrfSecrets = chain.validators.map((_, i) => h32(`algo-genesis:vrf:${i}`));
    const json = {
      ...chain.genesisJson,
      chainId: CHAIN,
      engine: { name: 'algorand', params: { tauFinal: 12 } },
      validators: (chain.genesisJson.validators as Array<Record<string, unknown>>).map((v, i) => ({
        ...v,
        vrfPublicKey: toHex(vrf.publicKeyFromSecret(vrfSecrets[i] as Uint8Array)),
      })),
    };
    const genesis = parseGenesis(json);
    const trust = trustAnchor(genesis);
    expect(trust.engineParams).toEqual({ tauFinal: 12 });
    const g: Net = {
      keys: chain.validators.map((k, i) => ({ ed: k, vrfSecret: vrfSecrets[i] as Uint8Array })),
      validators: genesis.validators,
      trust,
    };
    const d = header(g, { height: 3 });
    const votes = [0, 1, 2, 3].map((i) => vote(g, d, i, { tauFinal: 12 }));
    const selected = votes.filter((v) => v.j > 0);
    const weight = selected.reduce((a, v) => a + v.j, 0);
    // τ_final 12 of 20 stake: floor(0.74 · 12) + 1 = 9 sub-users are needed; the draw gives 10.
    expect(weight).toBe(10);
    expect(check(certOf(d, selected), trust)).toEqual({ ok: true });
    expect(verifyCertificate(certOf(d, selected), d, trust, ALL_CERTIFICATE_SCHEMES)).toEqual({ ok: true });
    // Another genesis threshold (T_final 0.9: 11 needed) refuses the same votes.
    expectRefused(
      certOf(d, selected),
      { ...trust, engineParams: { tauFinal: 12, thresholdFinal: 900 } },
      /weight 10; need 11/,
    );
  });
});

describe('algorand-final guarantee', () => {
  it('is what the scheme states, and names the committee, the thresholds and the seed caveat', () => {
    expect(algorandCertificateScheme.guarantee).toBe(ALGORAND_CERT_GUARANTEE);
    expect(ALL_CERTIFICATE_SCHEMES.get(ALGORAND_CERT_KIND)?.guarantee).toBe(ALGORAND_CERT_GUARANTEE);
    expect(scheme.kind).toBe('algorand-final');
    expect(ALGORAND_CERT_GUARANTEE).toMatch(/FINAL-step committee/);
    expect(ALGORAND_CERT_GUARANTEE).toMatch(/T_final·τ_final/);
    expect(ALGORAND_CERT_GUARANTEE).toMatch(/2·T_final − 1/);
    expect(ALGORAND_CERT_GUARANTEE).toMatch(/80% honest stake/);
    expect(ALGORAND_CERT_GUARANTEE).toMatch(/seed/);
    expect(ALGORAND_CERT_GUARANTEE).toMatch(/offline verifier takes it as stated/);
    expect(ALGORAND_CERT_GUARANTEE).toMatch(/tentative block/);
  });
});
