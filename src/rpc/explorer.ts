/**
 * The web explorer's routes on the RPC server: `GET /explorer` (the page), its static assets
 * (`/explorer/app.js`, `/explorer/style.css`, built by `npm run build:explorer` into
 * explorer/dist/), `/explorer/genesis.json` (this node's genesis, for a user who chooses to trust
 * it), and `GET /` redirecting to `/explorer`. A missing build is a 503 that says how to build it.
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Genesis, genesisToJson } from '../../ledger/genesis.ts';

export const EXPLORER_DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../../explorer/dist');

const ASSETS: Record<string, { file: string; type: string }> = {
  '/explorer': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/explorer/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/explorer/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/explorer/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** The page talks to this node only: no CDN, no other origin. */
const CSP =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'";

export function isExplorerPath(path: string): boolean {
  return path === '/' || path === '/explorer/genesis.json' || Object.hasOwn(ASSETS, path);
}

/** Answers a GET for which isExplorerPath(path) holds. */
export async function serveExplorer(
  res: ServerResponse,
  path: string,
  genesis: Genesis,
  dist: string = EXPLORER_DIST,
): Promise<number> {
  if (path === '/') {
    res.writeHead(302, { location: '/explorer' });
    res.end();
    return 302;
  }
  if (path === '/explorer/genesis.json') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(genesisToJson(genesis), null, 2));
    return 200;
  }
  const asset = ASSETS[path] as { file: string; type: string };
  let body: Buffer;
  try {
    body = await readFile(join(dist, asset.file));
  } catch {
    const message = `explorer not built: run npm run build:explorer (no ${join(dist, asset.file)})`;
    res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ error: { code: 'EXPLORER_NOT_BUILT', message } }));
    return 503;
  }
  res.writeHead(200, {
    'content-type': asset.type,
    'cache-control': 'no-cache',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
  return 200;
}
