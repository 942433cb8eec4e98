/**
 * The explorer in a real browser: Debian's chromium driven by playwright-core (no browser
 * download; the system binary). Against a real single-validator node in this process: the block
 * list grows as blocks commit, a block page names its certificate's signers, a transaction's
 * proof verifies in the page against the genesis file, a tampered one is refused with its
 * reason; the home page's health chart starts from /status/history and grows as blocks commit. Screenshots go to .ci/artifacts/ (git-ignored). Without chromium the test skips and
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
import { removeTestnet, singleValidatorTestnet, startSingleNode } from '../helpers/single-node.ts';

const CHROMIUM = process.env.VERITY_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARTIFACTS = join(import.meta.dirname, '../../.ci/artifacts');

let manifest: TestnetManifest;
let node: VerityNode;
let browser: Browser;
let page: Page;
const problems: string[] = [];

/** The health chart's height line: its points, and the newest height it names. */
async function chartedHeights(p: Page): Promise<{ points: Array<[number, number]>; newest: number }> {
  const points = (await p.locator('#health polyline[data-series="height"]').getAttribute('points')) ?? '';
  const newest = await p.locator('#health text[data-series="height"]').textContent();
  return {
    points: points
      .split(' ')
      .filter((xy) => xy !== '')
      .map((xy) => xy.split(',').map(Number) as [number, number]),
    newest: Number(newest),
  };
}

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
      await removeTestnet(manifest);
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

    it("charts the network's health from /status/history and grows it as blocks commit", async () => {
      // The node samples /status every 5 s from its start: with two samples held, a fresh page's
      // chart starts from the node's history, before it polls anything itself.
      const rpc = new RpcClient(node.rpcUrl);
      const samples = async () => ((await rpc.get('/status/history')).samples as unknown[]).length;
      await expect.poll(samples, { timeout: 15_000, interval: 250 }).toBeGreaterThanOrEqual(2);
      await page.goto(`${node.rpcUrl}/explorer`);
      await page.reload();
      const chart = page.locator('#health');
      await chart.waitFor({ timeout: 10_000 });
      const first = await chartedHeights(page);
      // History (≥ 2 samples) plus the page's own /status: at least 3 points.
      expect(first.points.length).toBeGreaterThanOrEqual(3);
      expect(Number(await chart.getAttribute('data-samples'))).toBe(first.points.length);
      for (const series of ['round', 'viewChanges'])
        expect(
          await page.locator(`#health polyline[data-series="${series}"]`).getAttribute('points'),
        ).toMatch(/^[\d.]+,[\d.]+( [\d.]+,[\d.]+)+$/);
      // Time runs left to right; the height line climbs (a smaller y is higher).
      const xs = first.points.map(([x]) => x);
      expect(xs).toEqual([...xs].sort((a, b) => a - b));
      expect(first.points.at(-1)?.[1]).toBeLessThan(first.points[0]?.[1] ?? 0);
      // Blocks commit every ~200 ms and the page polls /status every 2 s: more points, a newer height.
      await expect
        .poll(
          async () => {
            const now = await chartedHeights(page);
            return now.points.length > first.points.length && now.newest > first.newest;
          },
          { timeout: 10_000, interval: 250 },
        )
        .toBe(true);
      expect(Number(await page.locator('#height').textContent())).toBeGreaterThanOrEqual(first.newest);
      await page.screenshot({ path: join(ARTIFACTS, 'explorer-health.png') });

      // A node that has no history yet (or no such route): the chart starts from one sample, a
      // dot, and grows from polling alone.
      const fresh = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
      fresh.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      await fresh.route('**/status/history', (r) =>
        r.fulfill({ json: { now: Date.now(), intervalMs: 5000, windowMs: 600_000, samples: [] } }),
      );
      await fresh.goto(`${node.rpcUrl}/explorer`);
      await fresh.locator('#health').waitFor({ timeout: 10_000 });
      const one = await chartedHeights(fresh);
      expect(one.points).toHaveLength(1);
      expect(await fresh.locator('#health circle.dot').count()).toBe(3);
      await expect
        .poll(async () => (await chartedHeights(fresh)).points.length, { timeout: 10_000, interval: 250 })
        .toBeGreaterThanOrEqual(2);
      await fresh.close();
      expect(problems).toEqual([]);
    });
  },
);
