import { beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../../crypto/bytes.ts';
import { formatAddress } from '../../ledger/address.ts';
import { type BundleJson, verifyBundle } from '../../ledger/bundle.ts';
import { LEDGER_CERTIFICATE_SCHEMES } from '../../ledger/certificate.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { trustAnchor } from '../../ledger/genesis.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import {
  buildAccountProof,
  buildConsistencyProof,
  buildRecordProof,
  buildTxProof,
} from '../../ledger/proofs.ts';
import { type EncodedTransaction, signTransaction } from '../../ledger/tx.ts';
import { makeTestChain, quorumCertificate, type TestKey } from '../helpers/chain.ts';

const chain = makeTestChain();
const trust = trustAnchor(chain.genesis);
const [alice, bob] = chain.accounts as [TestKey, TestKey];
let store: ChainStore;
let txs: EncodedTransaction[];

beforeAll(async () => {
  store = await ChainStore.open(new MemoryKvStore(), chain.genesis, { schemes: LEDGER_CERTIFICATE_SCHEMES });
  const sign = (nonce: number, op: Parameters<typeof signTransaction>[0]['op']) =>
    signTransaction({ chainId: chain.genesis.chainId, sender: alice.publicKey, nonce, op }, alice.secretKey);
  txs = [
    sign(0, { type: 'transfer', to: bob.address, amount: 25n }),
    sign(1, { type: 'put', key: utf8('doc'), value: utf8('v1') }),
  ];
  for (const [i, batch] of [[txs[0]], [txs[1]], []].entries()) {
    const executed = await store.propose({
      txs: batch as EncodedTransaction[],
      time: { ms: store.head.time.ms + 1000, logical: 0 },
      proposer: chain.validators[i % 4]!.address,
      engineData: new Uint8Array(0),
    });
    await store.commit(
      executed,
      quorumCertificate(chain, executed.block.header.height, executed.hash, [0, 1, 2]),
    );
  }
});

async function allBundles(): Promise<BundleJson[]> {
  return [
    await buildAccountProof(store, alice.address),
    await buildAccountProof(store, chain.validators[0]!.address), // absent account
    await buildRecordProof(store, utf8('doc')),
    await buildRecordProof(store, utf8('missing')),
    await buildTxProof(store, txs[0]!.id),
    await buildTxProof(store, txs[1]!.id, 2),
    await buildConsistencyProof(store, 1, 3),
  ];
}

/** Every way of changing one byte of one field of a bundle. */
function* tamperings(bundle: BundleJson): Generator<[string, unknown]> {
  const json = JSON.parse(JSON.stringify(bundle)) as Record<string, unknown>;
  function* visit(obj: Record<string, unknown> | unknown[], path: string): Generator<[string, unknown]> {
    for (const [k, v] of Object.entries(obj)) {
      const p = `${path}.${k}`;
      const set = (value: unknown) => {
        const copy = structuredClone(json);
        let target = copy as Record<string, unknown>;
        const keys = p.split('.').slice(1);
        for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
        target[keys.at(-1) as string] = value;
        return copy;
      };
      if (typeof v === 'string' && /^[0-9a-f]+$/.test(v) && v.length % 2 === 0 && k !== 'version') {
        const bytes = fromHex(v);
        for (let i = 0; i < bytes.length; i++) {
          const b = bytes.slice();
          b[i] = (b[i] as number) ^ (i % 2 ? 0x80 : 0x01);
          yield [`${p}[${i}]`, set(toHex(b))];
        }
      } else if (typeof v === 'number') {
        yield [`${p}+1`, set(v + 1)];
        if (v > 0) yield [`${p}-1`, set(v - 1)];
      } else if (typeof v === 'string' && k === 'address') {
        yield [`${p}=other`, set(formatAddress(bob.address))];
      } else if (typeof v === 'object' && v !== null) {
        if (k === 'receipt') {
          yield [`${p}=failed`, set({ ok: false, code: 'BAD_NONCE' })];
          continue;
        }
        yield* visit(v as Record<string, unknown>, p);
        if (Array.isArray(v) && v.length > 0) {
          yield [`${p} drop last`, set(v.slice(0, -1))];
          yield [`${p} extra`, set([...v, v[0]])];
        }
      }
    }
  }
  yield* visit(json, '$');
}

describe('light-client bundles', () => {
  it('every bundle kind verifies against the genesis validator set and reports the proven value', async () => {
    const [acct, absent, rec, missing, tx0, tx1, cons] = await allBundles();
    const value = (b: BundleJson) => {
      const r = verifyBundle(JSON.parse(JSON.stringify(b)), trust);
      if (!r.ok) throw new Error(`${b.kind}: ${r.code} ${r.reason}`);
      return r.value;
    };
    expect(value(acct!)).toMatchObject({ exists: true, nonce: 2, balance: (1_000_000n - 25n).toString() });
    expect(value(absent!)).toMatchObject({ exists: false, balance: '0' });
    expect(value(rec!)).toMatchObject({ exists: true, value: 'v1', owner: formatAddress(alice.address) });
    expect(value(missing!)).toMatchObject({ exists: false });
    expect(value(tx0!)).toMatchObject({ height: 1, logIndex: 0, receipt: { ok: true } });
    expect(value(tx1!)).toMatchObject({ height: 2, logIndex: 1 });
    expect(value(cons!)).toMatchObject({ kind: 'consistency' });
  });

  it('rejects every single-byte tampering of every field, with a reason', async () => {
    let count = 0;
    for (const bundle of await allBundles()) {
      for (const [where, tampered] of tamperings(bundle)) {
        const r = verifyBundle(tampered, trust);
        if (r.ok && (where.startsWith('$.key') || where.startsWith('$.address'))) {
          // Changing the key is a different claim, not a forgery: a proof of absence may well hold
          // for the other key too — but the verifier must then report the other key, never the original.
          const original = verifyBundle(bundle, trust);
          expect(original.ok && r.value.exists === false).toBe(true);
          expect(JSON.stringify(r.value)).not.toBe(original.ok ? JSON.stringify(original.value) : '');
          continue;
        }
        expect(r.ok, `${bundle.kind} ${where}`).toBe(false);
        if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
        count++;
      }
    }
    expect(count).toBeGreaterThan(2000);
  });

  it('rejects a certificate signed by too little power, by non-validators, or for another chain', async () => {
    const bundle = await buildAccountProof(store, alice.address, 3);
    const header = (await store.getBlock(3))!.header;
    const { headerHash } = await import('../../ledger/block.ts');
    const { encodeCertificate } = await import('../../ledger/certificate.ts');
    const weak = quorumCertificate(chain, 3, headerHash(header), [0, 1]); // 2 of 4: not > 2/3
    const r = verifyBundle(
      { ...bundle, certificate: toHex(encodeCertificate(weak, LEDGER_CERTIFICATE_SCHEMES)) },
      trust,
    );
    expect(r).toMatchObject({ ok: false, code: 'BAD_CERTIFICATE' });
    const other = makeTestChain({ label: 'other-validators' });
    const forged = quorumCertificate(other, 3, headerHash(header));
    const r2 = verifyBundle(
      { ...bundle, certificate: toHex(encodeCertificate(forged, LEDGER_CERTIFICATE_SCHEMES)) },
      trust,
    );
    expect(r2).toMatchObject({ ok: false, code: 'BAD_CERTIFICATE' });
    const otherChain = makeTestChain({ chainId: 'another-chain' });
    expect(verifyBundle(bundle, trustAnchor(otherChain.genesis))).toMatchObject({
      ok: false,
      code: 'WRONG_CHAIN',
    });
  });

  it('never throws on hostile input', () => {
    for (const junk of [
      null,
      1,
      'x',
      [],
      {},
      { version: 1 },
      { version: 1, kind: 'tx' },
      { version: 2, kind: 'tx' },
      { version: 1, kind: 'account', address: 7, proof: 'x', header: [], certificate: {} },
    ]) {
      const r = verifyBundle(junk, trust);
      expect(r.ok).toBe(false);
    }
  });
});
