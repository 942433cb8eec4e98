// The README's bootstrap: npm on the system Node (20 here) installs everything, and the code runs on
// the bundled Node 24. npm checks every package's `engines.node` against the Node running npm, so
// one package that asks for Node ≥ 22 prints EBADENGINE warnings on a supported set-up (issue 17).
// This reads the lockfile and checks every range against the oldest Node the README supports.
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const BOOTSTRAP_NODE = '20.19.0'; // package.json engines.node; @noble/* need 20.19

type Version = [number, number, number];
function parseVersion(text: string): Version {
  const parts = text.replace(/^v/, '').split('.');
  const num = (s: string | undefined) =>
    s === undefined || s === 'x' || s === '*' ? 0 : Number.parseInt(s, 10);
  return [num(parts[0]), num(parts[1]), num(parts[2])];
}
function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}

/** The subset of npm's range grammar that engines fields use: `||` of space-joined comparators. */
function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  return range.split('||').some((alternative) => {
    const tokens = alternative
      .trim()
      .replace(/([<>=^~]+)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    return tokens.every((token) => {
      if (token === '*' || token === 'x') return true;
      const match = /^(>=|<=|>|<|\^|~|=)?(.+)$/.exec(token);
      if (!match) throw new Error(`unparsed engines range ${range}`);
      const op = match[1] ?? '=';
      const bound = parseVersion(match[2] as string);
      const c = compare(v, bound);
      switch (op) {
        case '>=':
          return c >= 0;
        case '>':
          return c > 0;
        case '<=':
          return c <= 0;
        case '<':
          return c < 0;
        case '^':
          return c >= 0 && v[0] === bound[0] && (bound[0] !== 0 || v[1] === bound[1]);
        case '~':
          return c >= 0 && v[0] === bound[0] && v[1] === bound[1];
        default: {
          // "20" or "20.x" means any 20.*.*; "1.2.3" means exactly that.
          const given = (match[2] as string).split('.').filter((p) => p !== 'x' && p !== '*').length;
          return v.slice(0, given).every((part, i) => part === bound[i]);
        }
      }
    });
  });
}

describe('npm ci on the README bootstrap Node prints no EBADENGINE warning', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));

  it('the range checker reads npm ranges (negative controls included)', () => {
    expect(satisfies('20.19.0', '>=20')).toBe(true);
    expect(satisfies('20.19.0', '>=22')).toBe(false); // p-retry 8
    expect(satisfies('20.19.0', '^22.12.0 || ^24.0.0 || >=26.0.0')).toBe(false); // vitest 5
    expect(satisfies('24.21.0', '^22.12.0 || ^24.0.0 || >=26.0.0')).toBe(true);
    expect(satisfies('20.19.0', '^20.19.0 || >=22.12.0')).toBe(true);
    expect(satisfies('20.18.9', '>= 20.19.0')).toBe(false);
    expect(satisfies('20.19.0', '20 || >=22')).toBe(true);
    expect(satisfies('21.0.0', '20 || >=22')).toBe(false);
    expect(satisfies('20.19.0', '>= 10.x')).toBe(true);
  });

  it('our own engines field is the bootstrap Node, and the code runs on the bundled Node 24', () => {
    expect(pkg.engines.node).toBe('>=20.19');
    expect(pkg.devDependencies.node).toBe('^24');
    // The package's binary is the launcher that runs the CLI on the bundled Node, not a .ts file an
    // old system Node cannot parse.
    expect(pkg.bin.verity).toBe('bin/verity');
    expect(statSync(pkg.bin.verity).mode & 0o111).not.toBe(0);
  });

  it('every locked package accepts the bootstrap Node', () => {
    const refusing: string[] = [];
    for (const [path, entry] of Object.entries<{ engines?: { node?: string } }>(lock.packages)) {
      const range = entry.engines?.node;
      if (range !== undefined && !satisfies(BOOTSTRAP_NODE, range))
        refusing.push(`${path || 'verity'} (${range})`);
    }
    expect(refusing).toEqual([]);
  });
});
