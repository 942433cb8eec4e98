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

  it('reports the operation of a proven transaction (to/amount, key/value)', async () => {
    const transfer = verifyBundle(await buildTxProof(store, txs[0]!.id), trust);
    expect(transfer).toMatchObject({
      ok: true,
      value: { op: { type: 'transfer', to: formatAddress(bob.address), amount: '25' } },
    });
    const put = verifyBundle(await buildTxProof(store, txs[1]!.id), trust);
    expect(put).toMatchObject({
      ok: true,
      value: { op: { type: 'put', key: 'doc', value: 'v1', valueHex: toHex(utf8('v1')) } },
    });
  });

  it('a record with a maximum-size value (32 KiB) is provable: proof nodes are not capped below it', async () => {
    const { MAX_RECORD_VALUE_LENGTH } = await import('../../ledger/tx.ts');
    const big = await ChainStore.open(new MemoryKvStore(), chain.genesis, {
      schemes: LEDGER_CERTIFICATE_SCHEMES,
    });
    const value = new Uint8Array(MAX_RECORD_VALUE_LENGTH).fill(0x61);
    const tx = signTransaction(
      {
        chainId: chain.genesis.chainId,
        sender: bob.publicKey,
        nonce: 0,
        op: { type: 'put', key: utf8('big'), value },
      },
      bob.secretKey,
    );
    const executed = await big.propose({
      txs: [tx],
      time: { ms: big.head.time.ms + 1000, logical: 0 },
      proposer: chain.validators[0]!.address,
      engineData: new Uint8Array(0),
    });
    await big.commit(executed, quorumCertificate(chain, 1, executed.hash, [0, 1, 2]));
    const bundle = JSON.parse(JSON.stringify(await buildRecordProof(big, utf8('big'))));
    expect(verifyBundle(bundle, trust)).toMatchObject({
      ok: true,
      value: { exists: true, valueHex: toHex(value) },
    });
    const txBundle = JSON.parse(JSON.stringify(await buildTxProof(big, tx.id)));
    expect(verifyBundle(txBundle, trust)).toMatchObject({
      ok: true,
      value: { op: { type: 'put', key: 'big' } },
    });
  });

  it('accepts only the canonical JSON form: lower-case hex, no 0x, canonical address, no extra keys', async () => {
    const [acct, , rec, , tx0, , cons] = (await allBundles()).map(
      (b) => JSON.parse(JSON.stringify(b)) as Record<string, unknown>,
    ) as Array<Record<string, unknown>>;
    const malformed = (b: unknown, what: string) => {
      const r = verifyBundle(b, trust);
      expect(r, what).toMatchObject({ ok: false, code: 'MALFORMED' });
    };
    const upperOne = (hex: string) => {
      const i = hex.search(/[a-f]/);
      return hex.slice(0, i) + (hex[i] as string).toUpperCase() + hex.slice(i + 1);
    };
    for (const b of [acct!, rec!, tx0!]) {
      malformed({ ...b, header: upperOne(b.header as string) }, `${b.kind} upper-case header`);
      malformed({ ...b, header: `0x${b.header}` }, `${b.kind} 0x header`);
      malformed({ ...b, certificate: upperOne(b.certificate as string) }, `${b.kind} upper-case cert`);
      const proof = b.proof as string[];
      malformed({ ...b, proof: [upperOne(proof[0] as string), ...proof.slice(1)] }, `${b.kind} proof[0]`);
      malformed({ ...b, proof: [`0x${proof[0]}`, ...proof.slice(1)] }, `${b.kind} 0x proof[0]`);
      malformed({ ...b, extra: 1 }, `${b.kind} extra key`);
      malformed({ ...b, constructor: 'x' }, `${b.kind} extra key "constructor"`);
    }
    malformed({ ...rec!, key: (rec!.key as string).toUpperCase() }, 'record key with upper-case hex');
    malformed({ ...rec!, key: `0x${rec!.key}` }, 'record key with 0x');
    malformed({ ...acct!, address: (acct!.address as string).toUpperCase() }, 'upper-case address');
    malformed({ ...tx0!, tx: upperOne(tx0!.tx as string) }, 'upper-case tx');
    malformed({ ...tx0!, receipt: { ok: true, note: 'x' } }, 'receipt extra key');
    malformed({ ...tx0!, receipt: { ok: true, code: undefined, x: 1 } }, 'receipt extra key');
    const from = cons!.from as Record<string, unknown>;
    malformed({ ...cons!, from: { ...from, extra: true } }, 'consistency "from" extra key');
    malformed({ ...cons!, from: { ...from, header: upperOne(from.header as string) } }, 'from.header');
    malformed({ ...cons!, extra: [] }, 'consistency extra key');
    // A missing key inherited from the prototype does not count as present.
    const { proof: _drop, ...noProof } = acct!;
    malformed(Object.assign(Object.create({ proof: acct!.proof }), noProof), 'inherited "proof"');
  });

  it('flipping any bit of the serialized JSON text: a parse failure or ok:false, never a different value', async () => {
    // Every byte position of every bundle kind, each with the case bit 0x20 flipped (hex a-f ↔ A-F,
    // which a lenient parser forgives) and two more bits rotating with the position, so that every
    // bit is flipped at every fourth byte: ~30,000 variants, deterministic.
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let variants = 0;
    let parsed = 0;
    let claims = 0;
    for (const bundle of await allBundles()) {
      const text = JSON.stringify(bundle);
      const original = verifyBundle(JSON.parse(text), trust);
      expect(original.ok, bundle.kind).toBe(true);
      if (!original.ok) continue;
      const bytes = Buffer.from(text, 'utf8');
      for (let i = 0; i < bytes.length; i++) {
        for (let bit = 0; bit < 8; bit++) {
          if (bit !== 5 && (bit + i) % 4 !== 0) continue;
          const mask = 1 << bit;
          const t = Buffer.from(bytes);
          t[i] = (t[i] as number) ^ mask;
          variants++;
          let json: unknown;
          try {
            json = JSON.parse(decoder.decode(t));
          } catch {
            continue; // not UTF-8 or not JSON: rejected before verification
          }
          parsed++;
          const r = verifyBundle(json, trust);
          if (!r.ok) {
            expect(r.reason.length).toBeGreaterThan(0);
            continue;
          }
          // The one way to stay valid: a record bundle whose key changed now claims the OTHER key
          // is absent — a true, different statement (a proof of absence can hold for many keys),
          // reported under the new key. Nothing else may pass.
          const where = `${bundle.kind} byte ${i} ^ 0x${mask.toString(16)}: ${String.fromCharCode(bytes[i] as number)}`;
          const changed = json as Record<string, unknown>;
          expect(bundle.kind, where).toBe('record');
          expect({ ...changed, key: undefined }, where).toEqual({ ...bundle, key: undefined });
          expect(changed.key, where).not.toBe((bundle as { key: string }).key);
          expect(r.value.exists, where).toBe(false);
          expect(r.value.key, where).not.toBe(original.value.key);
          claims++;
        }
      }
    }
    expect(variants).toBeGreaterThan(28_000);
    expect(parsed).toBeGreaterThan(5000); // many flips land inside hex strings and still parse
    expect(claims).toBeLessThan(64); // only the record-key bytes can give another (true) claim
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
      new Proxy(
        {},
        {
          get() {
            throw null; // not even an Error
          },
        },
      ),
    ]) {
      const r = verifyBundle(junk, trust);
      expect(r.ok).toBe(false);
    }
    expect(verifyBundle({}, trust, null as unknown as undefined).ok).toBe(false);
  });
});
