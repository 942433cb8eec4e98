/**
 * Every engine's message codec fails only with a typed error on hostile bytes. The runtime scores
 * a peer for a typed error and halts on anything else (its own bug: crypto/errors.ts onlyTyped),
 * so a codec that threw a plain Error or a TypeError on some input would let any validator's peer
 * stop it. The samples are real: each engine runs a short fault-free simulation, whose consensus
 * messages are captured off the simulated network; each is then flipped, cut, extended and
 * overwritten (seeded), and random RLP and random bytes are added.
 */
import { describe, expect, it } from 'vitest';
import { EnvelopeError, openEnvelope } from '../../consensus/envelope.ts';
import { engineNames, getEngine } from '../../consensus/registry.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { decodeBlock, encodeBlock } from '../../ledger/block.ts';
import { type CertificateSchemes, decodeCertificate, encodeCertificate } from '../../ledger/certificate.ts';
import { asBytes, asList, rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';
import { runSimulation } from '../../src/sim/simulation.ts';
import { makeTestChain } from '../helpers/chain.ts';
import { mutate, type Rand, randomRlp, untypedFailure } from '../helpers/fuzz.ts';
import { seededBytes } from '../helpers/seeded.ts';

const MUTANTS_PER_SAMPLE = 40;
const MAX_SAMPLES = 120;

/** Distinct consensus envelopes seen in a short honest run, and the message bodies they carry. */
async function sampleMessages(
  engine: EngineModule<unknown>,
  params: Record<string, unknown>,
): Promise<{
  bodies: Uint8Array[];
  envelopes: Uint8Array[];
  blocks: Uint8Array[];
  certificates: Uint8Array[];
  schemes: CertificateSchemes;
}> {
  const seen = new Map<string, Uint8Array>();
  const envelopes: Uint8Array[] = [];
  const blocks: Uint8Array[] = [];
  const certificates: Uint8Array[] = [];
  let schemes: CertificateSchemes | undefined;
  await runSimulation({
    engine,
    engineParams: params as never,
    nodes: 4,
    byzantine: 0,
    byzantineMode: 'silent',
    faults: new Set(),
    seed: `codec-fuzz-${engine.name}`,
    durationMs: 15_000,
    txs: 20,
    scenario: (ctl) =>
      ctl.dropMessages((_from, _to, channel, bytes) => {
        if (channel === 'consensus' && seen.size < MAX_SAMPLES) {
          const body = asBytes(asList(rlpDecodeStrict(bytes, 1 << 24, 'envelope'), 'envelope')[0], 'body');
          const key = Buffer.from(body).toString('hex');
          if (!seen.has(key)) envelopes.push(bytes);
          seen.set(key, body);
        }
        return false;
      }),
    // The committed blocks and their certificates, as block sync serves them.
    inspect: async (ctl) => {
      const chain = ctl.runtime(0)?.chain;
      if (chain === undefined) return;
      schemes = chain.schemes;
      for (let h = 1; h <= Math.min(chain.height, 12); h++) {
        const block = await chain.getBlock(h);
        const cert = await chain.getCertificate(h);
        if (block !== undefined) blocks.push(encodeBlock(block));
        if (cert !== undefined) certificates.push(encodeCertificate(cert, chain.schemes));
      }
    },
  });
  return {
    bodies: [...seen.values()],
    envelopes,
    blocks,
    certificates,
    schemes: schemes as CertificateSchemes,
  };
}

/** Why `decode` failed untyped on mutants of `samples` (MUTANTS_PER_SAMPLE of each). */
function mutantFailures(
  decode: (b: Uint8Array) => unknown,
  samples: readonly Uint8Array[],
  rand: Rand,
): string[] {
  const failures: string[] = [];
  for (const s of samples)
    for (let i = 0; i < MUTANTS_PER_SAMPLE; i++) {
      const f = untypedFailure(decode, mutate(rand, s));
      if (f !== undefined) failures.push(f);
    }
  return failures;
}

const variants: Array<[string, Record<string, unknown>]> = engineNames().flatMap((name) =>
  name === 'hotstuff'
    ? [
        ['hotstuff', { qc: 'aggregate' }],
        ['hotstuff', { qc: 'threshold' }],
      ]
    : [[name, {}]],
);

describe('engine message codecs throw only typed errors', () => {
  for (const [name, params] of variants) {
    it(`${name} ${JSON.stringify(params)}: real messages decode; their mutants and random input fail typed`, async () => {
      const engine = getEngine(name) as EngineModule<unknown>;
      const {
        bodies: samples,
        envelopes,
        blocks,
        certificates,
        schemes,
      } = await sampleMessages(engine, params);
      expect(samples.length).toBeGreaterThan(5);
      const decode = (b: Uint8Array) => engine.codec.decode(b);
      for (const s of samples) expect(untypedFailure(decode, s)).toBeUndefined();
      const rand = seededBytes(`engine-codec-fuzz:${name}:${JSON.stringify(params)}`);
      const failures = mutantFailures(decode, samples, rand);
      for (let i = 0; i < 1_000; i++) {
        const [len = 0] = rand(1);
        for (const input of [rand(len % 80), rlpEncode(randomRlp(rand))]) {
          const f = untypedFailure(decode, input);
          if (f !== undefined) failures.push(f);
        }
      }
      // Whole envelopes, mutated, through openEnvelope (signatures trusted, to reach the body):
      // a bad envelope is an EnvelopeError and nothing else.
      const validators = makeTestChain({ validators: 4 }).genesis.validators;
      const open = (b: Uint8Array) => openEnvelope(b, engine.codec, validators, 'fuzz', () => true);
      for (const env of envelopes)
        for (let i = 0; i < MUTANTS_PER_SAMPLE / 2; i++) {
          try {
            open(mutate(rand, env));
          } catch (e) {
            if (!(e instanceof EnvelopeError)) failures.push(`envelope: ${(e as Error)?.stack ?? String(e)}`);
          }
        }
      // Its committed blocks and commit certificates (the engine's own kind: QCs, quorum
      // certificates, proofs of work…), as a peer serves them in block sync.
      expect(blocks.length).toBeGreaterThan(0);
      expect(certificates.length).toBeGreaterThan(0);
      for (const [decodeOne, valid] of [
        [(b: Uint8Array) => decodeBlock(b), blocks],
        [(b: Uint8Array) => decodeCertificate(b, schemes), certificates],
      ] as const) {
        for (const v of valid) expect(untypedFailure(decodeOne, v)).toBeUndefined();
        failures.push(...mutantFailures(decodeOne, valid, rand));
      }
      expect(failures.slice(0, 3)).toEqual([]);
    }, 60_000);
  }

  it('the check can fail: a decoder with an untyped throw on some mutants is caught', () => {
    const body = rlpEncode([1, new Uint8Array(32), [2, 3]]);
    const leaky = (b: Uint8Array) => {
      if (b.length !== body.length) throw new TypeError('a bug on a length the decoder did not expect');
      return b;
    };
    expect(untypedFailure(leaky, body)).toBeUndefined();
    expect(mutantFailures(leaky, [body], seededBytes('engine-codec-fuzz:control')).length).toBeGreaterThan(0);
  });
});
