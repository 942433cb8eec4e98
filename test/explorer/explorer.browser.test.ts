/**
 * The explorer in a real browser: Debian's chromium driven by playwright-core (no browser
 * download; the system binary). Against a real single-validator node in this process: the block
 * list grows as blocks commit, a block page names its certificate's signers, a transaction's
 * proof verifies in the page against the genesis file, a tampered one is refused with its
 * reason. Screenshots go to .ci/artifacts/ (git-ignored). Without chromium the test skips and
 * says how to install it.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../crypto/bytes.ts';
import { ensureExplorerBuilt } from '../../explorer/build.ts';
import { addressFromPublicKey, formatAddress } from '../../ledger/address.ts';
import { bundleGuarantees, verifyBundle } from '../../ledger/bundle.ts';
import { parseGenesis, trustAnchor } from '../../ledger/genesis.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../../src/keystore.ts';
import type { VerityNode } from '../../src/node/node.ts';
import type { TestnetManifest } from '../../src/node/testnet.ts';
import { RpcClient } from '../../src/rpc/client.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../../src/schemes.ts';
import { singleValidatorTestnet, startSingleNode } from '../helpers/single-node.ts';

const CHROMIUM = process.env.VERITY_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARTIFACTS = join(import.meta.dirname, '../../.ci/artifacts');

let manifest: TestnetManifest;
let node: VerityNode;
let browser: Browser;
let page: Page;
const problems: string[] = [];

/** The height of the newest row of the block list (0 when empty). */
async function newestListed(): Promise<number> {
  const h = await page.locator('#blocks tr').first().getAttribute('data-height', { timeout: 10_000 });
  return Number(h ?? 0);
}

describe.skipIf(!HAVE_CHROMIUM)(
  HAVE_CHROMIUM
    ? 'explorer in a real browser (chromium)'
    : `explorer in a real browser — skipped: no chromium at ${CHROMIUM}; install it with: apt-get install -y chromium`,
  () => {
    beforeAll(async () => {
      await ensureExplorerBuilt();
      manifest = await singleValidatorTestnet({ chainId: 'explorer-browser', accounts: 1 });
      node = await startSingleNode(manifest);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
      const origin = new URL(node.rpcUrl).origin;
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
      });
      page.on('request', (r) => {
        if (new URL(r.url()).origin !== origin) problems.push(`request to another origin: ${r.url()}`);
      });
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await node?.stop();
    });

    it('streams blocks, shows a block with its signers, verifies a proof and refuses it tampered', async () => {
      await mkdir(ARTIFACTS, { recursive: true });
      await page.goto(`${node.rpcUrl}/explorer`);
      await expect.poll(() => page.locator('#blocks tr').count(), { timeout: 10_000 }).toBeGreaterThan(0);
      const first = await newestListed();
      // Blocks commit every ~200 ms: the list grows from the /events stream without a reload.
      await expect.poll(newestListed, { timeout: 10_000 }).toBeGreaterThanOrEqual(first + 3);
      await page.screenshot({ path: join(ARTIFACTS, 'explorer-home.png') });

      // A committed transfer.
      const key = await loadKey(manifest.accounts[0]!.keyFile);
      const to = addressFromPublicKey(new Uint8Array(32).fill(5));
      const etx = signTransaction(
        {
          chainId: manifest.chainId,
          sender: key.publicKey,
          nonce: 0,
          op: { type: 'transfer', to, amount: 42n },
        },
        key.secretKey,
      );
      const id = toHex(etx.id);
      const rpc = new RpcClient(node.rpcUrl);
      const committed = await rpc.submitTx(toHex(etx.bytes), 'commit');

      // Its block: header, the certificate's signers by name, the transaction listed.
      await page.goto(`${node.rpcUrl}/explorer#/block/${committed.height}`);
      await expect.poll(() => page.locator('#signers').textContent()).toMatch(/node0 \(#0\)/);
      expect(await page.locator('#txs').textContent()).toContain(id.slice(0, 10));

      // The transaction and the recipient's account.
      await page.goto(`${node.rpcUrl}/explorer#/tx/${id}`);
      await expect
        .poll(() => page.locator('main').textContent())
        .toContain(`${committed.height} (position 0)`);
      await page.goto(`${node.rpcUrl}/explorer#/account/${formatAddress(to)}`);
      await expect.poll(() => page.locator('main').textContent()).toContain('42');

      // The proof page: verified in the page against the genesis file the user pastes.
      await page.goto(`${node.rpcUrl}/explorer#/proof/tx/${id}`);
      const genesisText = await readFile(manifest.genesis, 'utf8');
      await page.locator('#genesis').fill(genesisText);
      await page.locator('#verify').click();
      const verdict = page.locator('#verdict');
      await expect.poll(() => verdict.getAttribute('data-status')).toBe('valid');
      expect(await verdict.textContent()).toBe('VALID');
      // The guarantee text is the ledger's own (bundleGuarantees), as `verity proof verify` prints.
      const bundle = await rpc.get(`/proof/tx?id=${id}`);
      const r = verifyBundle(bundle, trustAnchor(parseGenesis(JSON.parse(genesisText))), {
        schemes: ALL_CERTIFICATE_SCHEMES,
      });
      if (!r.ok) throw new Error(r.reason);
      const guarantees = bundleGuarantees(r.value);
      expect(guarantees.length).toBeGreaterThan(0);
      expect(await page.locator('#guarantees li').allTextContents()).toEqual(guarantees);
      expect(await page.locator('#trusted').textContent()).toContain(manifest.chainId);
      expect(await page.locator('#checked').textContent()).toContain('inclusion proof');
      await page.screenshot({ path: join(ARTIFACTS, 'explorer.png'), fullPage: true });

      // Tampered: INVALID, with the verifier's reason.
      await page.locator('#tamper').click();
      await expect.poll(() => verdict.getAttribute('data-status')).toBe('invalid');
      expect(await verdict.textContent()).toMatch(/^INVALID \((BAD_PROOF|BAD_CERTIFICATE|MALFORMED)\)$/);
      expect((await page.locator('#reason').textContent())?.length).toBeGreaterThan(0);
      expect(await page.locator('#bundle-state').textContent()).toMatch(/^TAMPERED/);
      await page.screenshot({ path: join(ARTIFACTS, 'explorer-tampered.png'), fullPage: true });

      // Restored: valid again.
      await page.locator('#restore').click();
      await expect.poll(() => verdict.getAttribute('data-status')).toBe('valid');

      // An account proof (a Merkle-Patricia proof): the genesis stays pinned in this browser, so
      // the page verifies on arrival; a flipped proof node is a BAD_PROOF.
      // (A hash change re-renders without a reload: wait for the account page, not just any VALID.)
      await page.goto(`${node.rpcUrl}/explorer#/proof/account/${formatAddress(to)}`);
      await expect.poll(() => page.locator('#proven').textContent()).toContain('"balance": "42"');
      await expect.poll(() => verdict.getAttribute('data-status')).toBe('valid');
      expect(await page.locator('#trusted').textContent()).toContain('pinned in this browser');
      await page.locator('#tamper').click();
      await expect.poll(() => verdict.textContent()).toBe('INVALID (BAD_PROOF)');
      expect(await page.locator('#bundle-state').textContent()).toContain('proof[0]');
      expect(problems).toEqual([]);
    });
  },
);
