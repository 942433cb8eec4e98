/**
 * Builds the web explorer (explorer/src/app.ts, bundled with the ledger's own verification code)
 * into explorer/dist/: `npm run build:explorer`. Node-only modules are swapped for browser
 * variants in explorer/shims/, leaving the production code untouched:
 *  - `node:crypto` → shims/node-crypto.ts (SHA-2 and Ed25519 on @noble; the ed25519 module's
 *    own strict precheck still runs, see that shim);
 *  - crypto/bls/blst.ts → shims/blst.ts (never loads, so crypto/bls uses its noble backend);
 *  - `node:module` → shims/node-module.ts (its require throws: libsodium never loads);
 *  - the global `Buffer` → shims/buffer.ts; `process.env.VERITY_BLS_BACKEND` → "noble" and
 *    `process.env.VERITY_ED25519_BACKEND` → "openssl" (the node:crypto shim above).
 * Nothing is fetched at run time but the node's own RPC.
 */
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
export const EXPLORER_DIST = join(HERE, 'dist');

/** Module swaps of the browser build, by the production file they replace. */
const SWAPS: Record<string, string> = {
  [join(ROOT, 'crypto/bls/blst.ts')]: join(HERE, 'shims/blst.ts'),
};

const browserShims: Plugin = {
  name: 'verity-browser-shims',
  setup(b) {
    b.onResolve({ filter: /^node:crypto$/ }, () => ({ path: join(HERE, 'shims/node-crypto.ts') }));
    b.onResolve({ filter: /^node:module$/ }, () => ({ path: join(HERE, 'shims/node-module.ts') }));
    b.onResolve({ filter: /^node:/ }, (args) => ({
      errors: [{ text: `${args.path} (imported by ${args.importer}) has no browser shim` }],
    }));
    b.onResolve({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith('.')) return undefined;
      const swap = SWAPS[resolve(args.resolveDir, args.path)];
      return swap === undefined ? undefined : { path: swap };
    });
  },
};

/** The esbuild options shared by the explorer build and the tests that bundle one module. */
export function browserBuildOptions(entry: string) {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'browser' as const,
    format: 'esm' as const,
    target: 'es2022',
    plugins: [browserShims],
    inject: [join(HERE, 'shims/buffer.ts')],
    define: {
      'process.env.VERITY_BLS_BACKEND': '"noble"',
      'process.env.VERITY_ED25519_BACKEND': '"openssl"',
    },
    legalComments: 'none' as const,
    logLevel: 'silent' as const,
  };
}

const FILES = ['app.js', 'index.html', 'style.css'];

/**
 * Builds into `outdir` (default explorer/dist); returns the bundle's size in bytes. Builds in a
 * temporary directory, then renames each file into place (atomic per file), so a server or a
 * concurrent build never reads half a file.
 */
export async function buildExplorer(outdir = EXPLORER_DIST): Promise<{ bytes: number }> {
  const tmp = `${outdir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    const result = await build({
      ...browserBuildOptions(join(HERE, 'src/app.ts')),
      outfile: join(tmp, 'app.js'),
      minify: true,
      metafile: true,
    });
    await copyFile(join(HERE, 'src/index.html'), join(tmp, 'index.html'));
    await copyFile(join(HERE, 'src/style.css'), join(tmp, 'style.css'));
    await mkdir(outdir, { recursive: true });
    for (const f of FILES) await rename(join(tmp, f), join(outdir, f));
    const out = Object.values(result.metafile.outputs)[0];
    return { bytes: out?.bytes ?? 0 };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) newest = Math.max(newest, (await stat(join(e.parentPath, e.name))).mtimeMs);
  }
  return newest;
}

/**
 * Builds unless a build newer than the explorer's own sources is in place (tests that need the
 * bundle call this; `npm test` and `npm start` always build first).
 */
export async function ensureExplorerBuilt(): Promise<void> {
  let built = 0;
  try {
    built = Math.min(
      ...(await Promise.all(FILES.map(async (f) => (await stat(join(EXPLORER_DIST, f))).mtimeMs))),
    );
  } catch {
    // not built
  }
  const sources = Math.max(
    await newestSource(join(HERE, 'src')),
    await newestSource(join(HERE, 'shims')),
    (await stat(fileURLToPath(import.meta.url))).mtimeMs,
  );
  if (built < sources) await buildExplorer();
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { bytes } = await buildExplorer();
  console.log(`explorer built: ${EXPLORER_DIST} (app.js ${(bytes / 1024).toFixed(1)} KiB)`);
}
