// The offline CLI end to end: real processes, real files.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import {
  commitVoteBytes,
  LEDGER_CERTIFICATE_SCHEMES,
  type QuorumCertificate,
} from '../../ledger/certificate.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { parseGenesis } from '../../ledger/genesis.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { buildTxProof } from '../../ledger/proofs.ts';
import { decodeTransaction, verifyTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import { parseJsonOutput, runVerity } from '../helpers/cli.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verity-cli-'));
});

describe('verity CLI (offline commands)', () => {
  it('prints help, and exits 2 on usage errors', async () => {
    const help = await runVerity(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('genesis init');
    const sub = await runVerity(['tx', 'sign', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--chain-id');
    expect((await runVerity(['nope'])).code).toBe(2);
    expect((await runVerity(['tx', 'sign', '--bogus'])).code).toBe(2);
    expect((await runVerity(['genesis', 'init', '--chain-id', 'x'])).code).toBe(2);
  });

  it('generates keys (plain and encrypted) and shows them', async () => {
    const plain = join(dir, 'k1.json');
    const gen = parseJsonOutput(await runVerity(['keys', 'generate', '--out', plain, '--json']));
    expect(gen.address).toMatch(/^verity1/);
    const shown = parseJsonOutput(await runVerity(['keys', 'show', plain, '--json']));
    expect(shown.address).toBe(gen.address);
    expect(shown.peerId).toMatch(/^12D3KooW/);
    const enc = join(dir, 'k2.json');
    expect(
      (await runVerity(['keys', 'generate', '--out', enc, '--passphrase-env', 'PW'], { env: { PW: 'pw' } }))
        .code,
    ).toBe(0);
    expect((await runVerity(['keys', 'show', enc])).code).toBe(1);
    const wrong = await runVerity(['keys', 'show', enc, '--passphrase-env', 'PW'], { env: { PW: 'nope' } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('wrong passphrase');
    expect(
      (await runVerity(['keys', 'show', enc, '--passphrase-env', 'PW'], { env: { PW: 'pw' } })).code,
    ).toBe(0);
  });

  it('genesis init → tx sign → proof verify: valid bundle exits 0, tampered exits 1', async () => {
    const out = join(dir, 'chain');
    const init = await runVerity([
      'genesis',
      'init',
      '--chain-id',
      'cli-test',
      '--validators',
      '4',
      '--out',
      out,
      '--json',
    ]);
    expect(init.code).toBe(0);
    const built = parseJsonOutput<{ genesis: string; accounts: Array<{ keyFile: string; address: string }> }>(
      init,
    );
    const [a0, a1] = built.accounts as [
      { keyFile: string; address: string },
      { keyFile: string; address: string },
    ];

    const signed = parseJsonOutput<{ raw: string; id: string }>(
      await runVerity([
        'tx',
        'sign',
        '--key',
        a0.keyFile,
        '--chain-id',
        'cli-test',
        '--nonce',
        '0',
        '--to',
        a1.address,
        '--amount',
        '42',
        '--json',
      ]),
    );
    const etx = decodeTransaction(fromHex(signed.raw));
    verifyTransaction(etx, 'cli-test');

    // Commit it in a chain store certified by the validator keys genesis init wrote.
    const genesis = parseGenesis(JSON.parse(await readFile(built.genesis, 'utf8')));
    const store = await ChainStore.open(new MemoryKvStore(), genesis, {
      schemes: LEDGER_CERTIFICATE_SCHEMES,
    });
    const executed = await store.propose({
      txs: [etx],
      time: { ms: store.head.time.ms + 1, logical: 0 },
      proposer: genesis.validators.at(0)!.address,
      engineData: new Uint8Array(0),
    });
    const keys = await Promise.all(
      [0, 1, 2, 3].map((i) => loadKey(join(out, `node${i}`, 'keys', 'ed25519.json'))),
    );
    const msg = commitVoteBytes('cli-test', 1, 0, executed.hash);
    const cert: QuorumCertificate = {
      kind: 'ed25519-quorum',
      height: 1,
      blockHash: executed.hash,
      round: 0,
      votes: [0, 1, 2].map((i) => ({ validator: i, signature: ed25519.sign(msg, keys[i]!.secretKey) })),
    };
    await store.commit(executed, cert);
    const bundle = await buildTxProof(store, etx.id);
    const bundlePath = join(dir, 'tx-proof.json');
    await writeFile(bundlePath, JSON.stringify(bundle));

    const ok = await runVerity(['proof', 'verify', bundlePath, '--genesis', built.genesis, '--json']);
    expect(ok.code).toBe(0);
    expect(parseJsonOutput(ok)).toMatchObject({ ok: true, kind: 'tx', id: signed.id, height: 1 });

    const tampered = { ...bundle, logIndex: 1 };
    const badPath = join(dir, 'tx-proof-bad.json');
    await writeFile(badPath, JSON.stringify(tampered));
    const bad = await runVerity(['proof', 'verify', badPath, '--genesis', built.genesis]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('INVALID');

    await writeFile(badPath, '{not json');
    expect((await runVerity(['proof', 'verify', badPath, '--genesis', built.genesis])).code).toBe(1);
    expect((await runVerity(['proof', 'verify', bundlePath])).code).toBe(2);
  });
});
