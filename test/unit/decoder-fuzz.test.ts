/**
 * Every decoder of a peer's bytes fails only with a typed error (a VerityError with a `code`).
 * The runtime scores a peer for a typed error and treats anything else as its own bug, which halts
 * its consensus (crypto/errors.ts onlyTyped): a decoder that threw a plain Error on hostile bytes
 * would let any peer stop a validator. Seeded, so a failure replays: random bytes, valid messages
 * with bytes flipped, cut short or extended, and RLP of random shape.
 */
import { describe, expect, it } from 'vitest';
import { decodeEquivocation, type Equivocation, encodeEquivocation } from '../../consensus/evidence.ts';
import { VerityError } from '../../crypto/errors.ts';
import { sha256 } from '../../crypto/hash.ts';
import { decodeBlock, encodeBlock, txRoot } from '../../ledger/block.ts';
import {
  decodeCertificate,
  encodeCertificate,
  LEDGER_CERTIFICATE_SCHEMES,
} from '../../ledger/certificate.ts';
import { rlpEncode } from '../../ledger/codec.ts';
import { genesisHeader } from '../../ledger/genesis.ts';
import { decodeTransaction, signTransaction } from '../../ledger/tx.ts';
import { decodeSync, encodeSync, type SyncMessage } from '../../src/runtime/sync-codec.ts';
import { decodeTxBatch } from '../../src/runtime/tx-gossip.ts';
import { makeTestChain, quorumCertificate } from '../helpers/chain.ts';
import { mutate, randomRlp, untypedFailure } from '../helpers/fuzz.ts';
import { seededBytes } from '../helpers/seeded.ts';

const chain = makeTestChain({ label: 'fuzz' });
const [alice, bob] = chain.accounts as [(typeof chain.accounts)[0], (typeof chain.accounts)[0]];
const tx = signTransaction(
  {
    chainId: chain.genesis.chainId,
    sender: alice.publicKey,
    nonce: 0,
    op: { type: 'transfer', to: bob.address, amount: 5n },
  },
  alice.secretKey,
);
const txs = [tx.bytes, tx.bytes];
const header = {
  ...genesisHeader(chain.genesis, sha256(new Uint8Array([1]))),
  height: 1,
  txCount: txs.length,
  txRoot: txRoot(txs),
};
const block = encodeBlock({ header, txs });
const certificate = encodeCertificate(quorumCertificate(chain, 1, sha256(block)), LEDGER_CERTIFICATE_SCHEMES);
const equivocation: Equivocation = {
  engine: 'tendermint',
  chainId: chain.genesis.chainId,
  epoch: 2,
  validator: 1,
  slot: { height: 3, round: 0, step: 1 },
  a: new Uint8Array(90).fill(1),
  b: new Uint8Array(90).fill(2),
};
const syncMessages: SyncMessage[] = [
  { kind: 'status', height: 7, hash: new Uint8Array(32).fill(3), clockMs: 1_700_000_000_000 },
  { kind: 'status', height: 7, hash: new Uint8Array(32).fill(3), clockMs: 1, work: 123456789n },
  { kind: 'get-blocks', from: 3, count: 4 },
  { kind: 'blocks', items: [{ block, certificate }] },
  { kind: 'evidence', evidence: encodeEquivocation(equivocation) },
  { kind: 'get-snapshot', height: 9 },
  { kind: 'snapshot-manifest', manifest: new Uint8Array(40).fill(4) },
  { kind: 'get-snapshot-part', height: 9, section: 'log', from: 0, count: 10 },
  { kind: 'snapshot-part', height: 9, section: 'state', from: 2, items: [new Uint8Array(33).fill(5)] },
];

const decoders: Record<string, { decode: (b: Uint8Array) => unknown; valid: Uint8Array[] }> = {
  'sync message': { decode: decodeSync, valid: syncMessages.map(encodeSync) },
  'transaction gossip frame': {
    decode: decodeTxBatch,
    valid: [rlpEncode([tx.bytes, tx.bytes]), rlpEncode([])],
  },
  transaction: { decode: (b) => decodeTransaction(b, 4096), valid: [tx.bytes] },
  evidence: {
    decode: (b) => decodeEquivocation(b, 1 << 16),
    valid: [encodeEquivocation(equivocation), encodeEquivocation({ ...equivocation, epoch: 0 })],
  },
  block: { decode: (b) => decodeBlock(b), valid: [block] },
  certificate: { decode: (b) => decodeCertificate(b, LEDGER_CERTIFICATE_SCHEMES), valid: [certificate] },
};

/** The first input `decode` throws an untyped error on, or undefined. */
function firstUntyped(decode: (b: Uint8Array) => unknown, inputs: Iterable<Uint8Array>): string | undefined {
  for (const input of inputs) {
    const why = untypedFailure(decode, input);
    if (why !== undefined) return why;
  }
  return undefined;
}

function* hostile(label: string, valid: readonly Uint8Array[], count: number): Generator<Uint8Array> {
  const rand = seededBytes(`decoder-fuzz:${label}`);
  for (let i = 0; i < count; i++) {
    const [pick = 0, len = 0] = rand(2);
    switch (i % 3) {
      case 0:
        yield rand(len % 64);
        break;
      case 1:
        yield mutate(rand, valid[pick % valid.length] as Uint8Array);
        break;
      default:
        yield rlpEncode(randomRlp(rand));
    }
  }
}

describe('decoders of peer bytes throw only typed errors', () => {
  for (const [name, { decode, valid }] of Object.entries(decoders)) {
    it(`${name}: the valid samples decode, and 3,000 hostile inputs fail typed`, () => {
      for (const v of valid) expect(() => decode(v)).not.toThrow();
      expect(firstUntyped(decode, hostile(name, valid, 3_000))).toBeUndefined();
    });
  }

  it('a message over a count limit fails typed too (TOO_LARGE): 4,097 gossiped transactions, 65 blocks, 4,097 snapshot items', () => {
    const code = (decode: () => unknown) => {
      try {
        decode();
      } catch (e) {
        return e instanceof VerityError ? e.code : `untyped: ${String(e)}`;
      }
      return 'decoded';
    };
    const one = new Uint8Array([1]);
    expect(code(() => decodeTxBatch(rlpEncode(Array(4097).fill(one))))).toBe('TOO_LARGE');
    expect(code(() => decodeSync(rlpEncode([3, Array(65).fill([one, one])])))).toBe('TOO_LARGE');
    expect(code(() => decodeSync(rlpEncode([8, 1, 0, 0, Array(4097).fill(one)])))).toBe('TOO_LARGE');
    expect(code(() => decodeSync(rlpEncode([7, 1, 3, 0, 1])))).toBe('MALFORMED'); // no section 3
  });

  it('the check can fail: a decoder that throws a plain Error is caught', () => {
    const leaky = (b: Uint8Array) => {
      decodeSync(b);
      if (b.length > 0) throw new Error('plain');
    };
    expect(firstUntyped(leaky, [encodeSync({ kind: 'get-snapshot', height: 1 })])).toMatch(/plain/);
  });
});
