/**
 * The node serves the explorer: the page and its bundle with the right content types and a
 * same-origin-only CSP, the bundle free of node-only imports, a clear 503 when it is not built,
 * and the page's verification logic (explorer/src/verify.ts, run here under node) accepting a
 * real proof bundle and refusing a tampered one.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { toHex } from '../../crypto/bytes.ts';
import { EXPLORER_DIST, ensureExplorerBuilt } from '../../explorer/build.ts';
import { tamper, verifyAgainstGenesis } from '../../explorer/src/verify.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { parseGenesis } from '../../ledger/genesis.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import type { VerityNode } from '../../src/node/node.ts';
import type { TestnetManifest } from '../../src/node/testnet.ts';
import { RpcClient } from '../../src/rpc/client.ts';
import { serveExplorer } from '../../src/rpc/explorer.ts';
import { removeTestnet, singleValidatorTestnet, startSingleNode } from '../helpers/single-node.ts';

let manifest: TestnetManifest;
let node: VerityNode;

beforeAll(async () => {
  await ensureExplorerBuilt();
  manifest = await singleValidatorTestnet({ chainId: 'explorer-server', accounts: 1 });
  node = await startSingleNode(manifest);
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await removeTestnet(manifest);
});

describe('explorer routes', () => {
  it('serves the page, its script and stylesheet with their content types and a same-origin CSP', async () => {
    const page = await fetch(`${node.rpcUrl}/explorer`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/explorer/app.js">');
    const app = await fetch(`${node.rpcUrl}/explorer/app.js`);
    expect(app.status).toBe(200);
    expect(app.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await app.text()).length).toBeGreaterThan(10_000);
    const css = await fetch(`${node.rpcUrl}/explorer/style.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const root = await fetch(`${node.rpcUrl}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([302, '/explorer']);
    // Other routes are untouched.
    expect((await fetch(`${node.rpcUrl}/explorer/nope`)).status).toBe(404);
  });

  it("serves this node's genesis for a user who chooses to trust it", async () => {
    const served = parseGenesis(await (await fetch(`${node.rpcUrl}/explorer/genesis.json`)).json());
    const file = parseGenesis(JSON.parse(await readFile(manifest.genesis, 'utf8')));
    expect(served.chainId).toBe(file.chainId);
    expect(toHex(served.validators.hash)).toBe(toHex(file.validators.hash));
  });

  it('the browser bundle imports no node-only module and needs no network but this node', async () => {
    const js = await readFile(join(EXPLORER_DIST, 'app.js'), 'utf8');
    expect(js).not.toMatch(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)["']node:/);
    expect(js).not.toMatch(/\brequire\s*\(/);
    expect(js).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z]/i);
  });

  it('answers 503 with how to build it when the bundle is missing', async () => {
    const server = createServer((_req, res) => {
      void serveExplorer(res, '/explorer/app.js', node.genesis, '/nonexistent/explorer-dist');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/explorer/app.js`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('EXPLORER_NOT_BUILT');
      expect(body.error.message).toMatch(/^explorer not built: run npm run build:explorer/);
    } finally {
      server.close();
    }
  });
});

describe('the page’s verification (explorer/src/verify.ts)', () => {
  it('accepts a real tx bundle against the genesis file, refuses it tampered or against another genesis', async () => {
    const key = await loadKey(manifest.accounts[0]!.keyFile);
    const etx = signTransaction(
      {
        chainId: manifest.chainId,
        sender: key.publicKey,
        nonce: 0,
        op: { type: 'transfer', to: addressFromPublicKey(new Uint8Array(32).fill(7)), amount: 3n },
      },
      key.secretKey,
    );
    const rpc = new RpcClient(node.rpcUrl);
    await rpc.submitTx(toHex(etx.bytes), 'commit');
    const bundle = await rpc.get(`/proof/tx?id=${toHex(etx.id)}`);
    const genesisText = await readFile(manifest.genesis, 'utf8');
    const ok = verifyAgainstGenesis(bundle, genesisText);
    expect(ok.status).toBe('valid');
    if (ok.status !== 'valid') return;
    expect(ok.guarantees.length).toBeGreaterThan(0);
    expect(ok.trusted.chainId).toBe(manifest.chainId);
    const t = tamper(bundle);
    const bad = verifyAgainstGenesis(t.bundle, genesisText);
    expect(bad.status).toBe('invalid');
    if (bad.status === 'invalid') expect(bad.reason.length).toBeGreaterThan(0);
    const other = await singleValidatorTestnet({ chainId: manifest.chainId, accounts: 1 });
    onTestFinished(() => removeTestnet(other));
    const wrong = verifyAgainstGenesis(bundle, await readFile(other.genesis, 'utf8'));
    expect(wrong).toMatchObject({ status: 'invalid', code: 'BAD_CERTIFICATE' });
    expect(verifyAgainstGenesis(bundle, '{')).toMatchObject({ status: 'bad-genesis' });
  });
});
