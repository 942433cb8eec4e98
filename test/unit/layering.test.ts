/**
 * The dependency rule, enforced rather than documented: crypto → ledger → consensus → src → cli
 * (an import may only point down that list, or within its own layer), nothing outside test/
 * imports test/, and the cores (crypto, ledger, consensus) stay sans-I/O — no filesystem, network,
 * processes, wall clock, timers or ambient randomness: the runtime injects them (ARCHITECTURE.md).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const LAYERS = ['crypto', 'ledger', 'consensus', 'src', 'cli'] as const;
type Layer = (typeof LAYERS)[number];
const CORES: readonly Layer[] = ['crypto', 'ledger', 'consensus'];

/** Node built-ins a core may use: hashing and signatures on OpenSSL, and loading the native BLS module. */
const CORE_BUILTINS = new Set(['node:crypto', 'node:module']);
/** Packages that do I/O. */
const IO_PACKAGES = /^(level|libp2p|@libp2p\/|@chainsafe\/libp2p|pino)/;
/** Calls that reach for time, timers or randomness. */
const AMBIENT = /\b(Date\.now|performance\.now|Math\.random|setTimeout|setInterval|setImmediate)\s*\(/;

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

function importsOf(text: string): string[] {
  return [...text.matchAll(/^\s*(?:import|export)\b[^'";]*?from\s+'([^']+)'/gm)].map((m) => m[1] as string);
}

function layerOf(path: string): Layer | 'test' | 'other' {
  const top = relative(ROOT, path).split('/')[0] as string;
  if (top === 'test') return 'test';
  return (LAYERS as readonly string[]).includes(top) ? (top as Layer) : 'other';
}

/** What is wrong with `text` as the file at `path` of `layer`. */
function check(path: string, layer: Layer, text: string): string[] {
  const out: string[] = [];
  const rel = relative(ROOT, path);
  const core = CORES.includes(layer);
  for (const spec of importsOf(text)) {
    if (spec.startsWith('.')) {
      const target = layerOf(resolve(path, '..', spec));
      if (target === 'test') out.push(`${rel}: imports ${spec} (test code)`);
      else if (target !== 'other' && LAYERS.indexOf(target) > LAYERS.indexOf(layer))
        out.push(`${rel}: imports ${spec} (${target} is above ${layer})`);
    } else if (core && ((spec.startsWith('node:') && !CORE_BUILTINS.has(spec)) || IO_PACKAGES.test(spec))) {
      out.push(`${rel}: imports ${spec} (the ${layer} core gets I/O by injection)`);
    }
  }
  if (core)
    for (const [i, line] of text.split('\n').entries()) {
      if (/^\s*(\*|\/\/)/.test(line)) continue; // comments may name what the code must not do
      if (AMBIENT.test(line)) out.push(`${rel}:${i + 1}: ${line.trim()} (time and randomness are injected)`);
    }
  return out;
}

describe('layering', () => {
  it('imports point down crypto → ledger → consensus → src → cli, never into test/, and the cores do no I/O', () => {
    const found = LAYERS.flatMap((layer) =>
      files(join(ROOT, layer)).flatMap((file) => check(file, layer, readFileSync(file, 'utf8'))),
    );
    expect(found).toEqual([]);
  });

  it('negative control: an upward import, a core reaching for the filesystem or libp2p, and Date.now are caught', () => {
    const probe = join(ROOT, 'ledger', 'probe.ts');
    const text = [
      "import { runSimulation } from '../src/sim/simulation.ts';",
      "import { readFileSync } from 'node:fs';",
      "import { createLibp2p } from 'libp2p';",
      "import { sha256 } from '../crypto/hash.ts';",
      'export const t = Date.now();',
    ].join('\n');
    expect(check(probe, 'ledger', text)).toEqual([
      'ledger/probe.ts: imports ../src/sim/simulation.ts (src is above ledger)',
      'ledger/probe.ts: imports node:fs (the ledger core gets I/O by injection)',
      'ledger/probe.ts: imports libp2p (the ledger core gets I/O by injection)',
      'ledger/probe.ts:5: export const t = Date.now(); (time and randomness are injected)',
    ]);
    expect(check(join(ROOT, 'src', 'probe.ts'), 'src', text)).toEqual([]);
  });
});
