/**
 * docs/CONFIG.md is generated from the schema that validates config.toml: this fails while the
 * file on disk differs from what the schema renders (fix: `npm run docs:config`), so the reference
 * cannot drift from the code. It also holds the schema to itself: every rule names a real key,
 * and every key written to config.toml is documented.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_SCHEMA,
  type ConfigSection,
  configToToml,
  defaultConfig,
  keySpec,
  RULES,
  sectionSpecs,
} from '../../src/node/config.ts';
import {
  CONFIG_REFERENCE_PATH,
  CONFIG_REFERENCE_SCRIPT,
  configReference,
} from '../../src/node/config-reference.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('config reference (docs/CONFIG.md)', () => {
  it(`is what the schema renders (run \`${CONFIG_REFERENCE_SCRIPT}\` after changing src/node/config.ts)`, () => {
    let onDisk: string;
    try {
      onDisk = readFileSync(join(ROOT, CONFIG_REFERENCE_PATH), 'utf8');
    } catch {
      throw new Error(`${CONFIG_REFERENCE_PATH} is missing: run \`${CONFIG_REFERENCE_SCRIPT}\``);
    }
    expect(onDisk, `${CONFIG_REFERENCE_PATH} is out of date: run \`${CONFIG_REFERENCE_SCRIPT}\``).toBe(
      configReference(),
    );
  });

  it('documents every key config.toml holds, with its default, and every rule names a key', () => {
    const doc = configReference();
    const written = parseToml(configToToml(defaultConfig())) as Record<string, Record<string, unknown>>;
    for (const [section, table] of Object.entries(written)) {
      expect(doc).toContain(`## ${section}\n`);
      for (const key of Object.keys(table)) {
        const spec = keySpec(`${section}.${key}`);
        expect(spec, `${section}.${key}`).toBeDefined();
        expect(spec?.doc.length, `${section}.${key} has no meaning`).toBeGreaterThan(10);
        expect(doc).toContain(`| \`${key}\` |`);
      }
    }
    const keys = (Object.keys(CONFIG_SCHEMA) as ConfigSection[]).flatMap((s) =>
      sectionSpecs(s).map(([, spec]) => `${s}.${spec.key}`),
    );
    expect(keys.length).toBe(Object.values(written).flatMap((t) => Object.keys(t)).length);
    for (const r of RULES) expect(keys, r.key).toContain(r.key);
    // Defaults come from the same table: a changed default changes the reference.
    expect(doc).toContain('| `max_tx_bytes` | integer ≥ 0 (bytes) | `65536` (64 KiB) |');
  });
});
