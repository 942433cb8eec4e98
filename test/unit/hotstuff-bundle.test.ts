/**
 * Light clients and HotStuff: a block committed by HotStuff in the simulator (real runtime, real
 * chain store) yields proof bundles that verify against the genesis file alone — the commit
 * certificate's header chain and QCs included — and any tampering with the certificate fails.
 */
import { describe, expect, it } from 'vitest';
import type { HotStuffCertificate } from '../../consensus/hotstuff/certificate.ts';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import { decodeEngineData } from '../../consensus/hotstuff/messages.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { fromHex, toHex } from '../../crypto/bytes.ts';
import { type BundleJson, verifyBundle } from '../../ledger/bundle.ts';
import { decodeCertificate, encodeCertificate } from '../../ledger/certificate.ts';
import { trustAnchor } from '../../ledger/genesis.ts';
import { buildAccountProof, buildTxProof } from '../../ledger/proofs.ts';
import { decodeTransaction } from '../../ledger/tx.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../../src/schemes.ts';
import { runSimulation } from '../../src/sim/simulation.ts';

const schemes = ALL_CERTIFICATE_SCHEMES;

function tamperCertificate(
  bundle: BundleJson,
  edit: (c: HotStuffCertificate) => HotStuffCertificate,
): BundleJson {
  const b = bundle as BundleJson & { certificate: string };
  const cert = decodeCertificate(fromHex(b.certificate), schemes) as HotStuffCertificate;
  return { ...b, certificate: toHex(encodeCertificate(edit(cert), schemes)) } as BundleJson;
}

// Every configuration: both certificate kinds, each with the 2-chain (one descendant header) and
// the 3-chain (two) commit proof.
for (const params of [
  { qc: 'aggregate', chain: 2 },
  { qc: 'aggregate', chain: 3 },
  { qc: 'threshold', chain: 2 },
  { qc: 'threshold', chain: 3 },
] as const) {
  describe(`hotstuff proofs for light clients (qc=${params.qc}, chain=${params.chain})`, () => {
    it('bundles of a HotStuff-committed block verify with the genesis validator set alone; tampering fails', async () => {
      const checks: Array<() => void> = [];
      const r = await runSimulation({
        engine: hotstuff as EngineModule<unknown>,
        engineParams: params,
        nodes: 4,
        byzantine: 0,
        byzantineMode: 'twins',
        faults: new Set(),
        seed: 'hotstuff-bundle',
        durationMs: 8_000,
        txs: 20,
        inspect: async (ctl) => {
          const chain = ctl.runtime(2)?.chain;
          if (chain === undefined) throw new Error('node 2 is down');
          const trust = trustAnchor(chain.genesis);
          // A transaction proof, anchored at the head, and an account proof at an older height.
          let txId: Uint8Array | undefined;
          for (let h = 1; h <= chain.height && txId === undefined; h++) {
            const block = await chain.getBlock(h);
            const tx = block?.txs[0];
            if (tx !== undefined) txId = decodeTransaction(tx).id;
          }
          if (txId === undefined) throw new Error('no committed transaction');
          const txProof = await buildTxProof(chain, txId);
          const account = chain.genesis.accounts[0]?.address as Uint8Array;
          const accountProof = await buildAccountProof(chain, account, Math.max(1, chain.height - 3));
          const cert = decodeCertificate(fromHex(txProof.certificate), schemes) as HotStuffCertificate;
          checks.push(() => {
            expect(cert.kind).toBe(`hotstuff-bls-${params.qc}`);
            expect(cert.headers.length).toBeGreaterThanOrEqual(params.chain - 1);
            for (const h of cert.headers) expect(decodeEngineData(h.engineData).chain).toBe(params.chain);
            for (const bundle of [txProof, accountProof]) {
              const ok = verifyBundle(bundle, trust, { schemes });
              expect(ok.ok, JSON.stringify(ok)).toBe(true);
              // Without the HotStuff schemes the certificate kind is unknown.
              expect(verifyBundle(bundle, trust).ok).toBe(false);
            }
            const tampered: BundleJson[] = [
              tamperCertificate(txProof, (c) => {
                const signature = c.qc.signature.slice();
                signature[7] = (signature[7] as number) ^ 1;
                return { ...c, qc: { ...c.qc, signature } };
              }),
              tamperCertificate(txProof, (c) => ({ ...c, qc: { ...c.qc, view: c.qc.view + 1 } })),
              tamperCertificate(txProof, (c) => ({ ...c, headers: c.headers.slice(0, -1) })),
              tamperCertificate(txProof, (c) => {
                const h = c.headers[0];
                if (h === undefined) return c;
                return { ...c, headers: [{ ...h, txCount: h.txCount + 1 }, ...c.headers.slice(1)] };
              }),
              // The certificate of another height.
              { ...accountProof, certificate: txProof.certificate } as BundleJson,
            ];
            for (const t of tampered) {
              const bad = verifyBundle(t, trust, { schemes });
              expect(bad.ok).toBe(false);
              if (!bad.ok) expect(bad.code).toBe('BAD_CERTIFICATE');
            }
          });
        },
      });
      expect(r.safe).toBe(true);
      expect(r.live).toBe(true);
      expect(checks.length).toBe(1);
      for (const c of checks) c();
    });
  });
}
