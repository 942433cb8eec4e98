/**
 * The config reference (docs/CONFIG.md), rendered from the schema that validates config.toml
 * (config.ts: CONFIG_SCHEMA, SECTION_DOCS, RULES). `npm run docs:config` writes it, and a unit
 * test fails when the file on disk is not what this renders, so the two cannot drift.
 */
import { stringify as stringifyToml } from 'smol-toml';
import {
  type AnyKeySpec,
  CONFIG_SCHEMA,
  type ConfigSection,
  RULES,
  SECTION_DOCS,
  sectionSpecs,
} from './config.ts';

/** Where the reference lives in the repository, and the command that writes it. */
export const CONFIG_REFERENCE_PATH = 'docs/CONFIG.md';
export const CONFIG_REFERENCE_SCRIPT = 'npm run docs:config';

function typeOf(spec: AnyKeySpec): string {
  if (spec.values !== undefined) return spec.values.map((v) => `\`"${v}"\``).join(' \\| ');
  if (spec.kind === 'strings') return 'array of strings';
  if (spec.kind === 'integer') return spec.unit === undefined ? 'integer ≥ 0' : `integer ≥ 0 (${spec.unit})`;
  return spec.kind;
}

function humanBytes(n: number): string | undefined {
  for (const [unit, size] of [
    ['MiB', 1024 * 1024],
    ['KiB', 1024],
  ] as const)
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  return undefined;
}

function humanMs(n: number): string | undefined {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000} s` : undefined;
}

/** The default as it is written in TOML, with a readable size or duration where it helps. */
export function defaultText(spec: AnyKeySpec): string {
  const toml = stringifyToml({ v: spec.default }).replace(/^v = /, '').trim();
  const n = typeof spec.default === 'number' ? spec.default : undefined;
  const human =
    n === undefined
      ? undefined
      : spec.unit === 'bytes'
        ? humanBytes(n)
        : spec.unit === 'ms'
          ? humanMs(n)
          : undefined;
  return `\`${toml}\`${human === undefined ? '' : ` (${human})`}`;
}

/** Table cells hold one line; a `|` would end the cell. */
function cell(text: string): string {
  return text.replace(/\n/g, ' ').replace(/(?<!\\)\|/g, '\\|');
}

/** A rule as a sentence, with the keys and placeholders it names as code. */
function sentence(rule: string): string {
  const coded = rule
    .replace(/<[^<>\s]+>(@<[^<>\s]+>)?/g, (m) => `\`${m}\``)
    .replace(/\b(?:node|p2p|rpc|mempool|consensus|storage)\.[a-z_]+\b/g, (m) => `\`${m}\``);
  return `${coded.charAt(0).toUpperCase()}${coded.slice(1)}.`;
}

export function configReference(): string {
  const lines = [
    '# Node configuration reference',
    '',
    `<!-- Generated from src/node/config.ts by \`${CONFIG_REFERENCE_SCRIPT}\`: edit the schema there, not this file. -->`,
    '',
    'Each node reads `HOME/config.toml` (TOML). Every key is optional: a key left out takes its default,',
    'and `verity init` and `verity testnet` write every key with the value in effect. An unknown section or',
    'key, or a value of the wrong type, is an error that names the key. `verity start --home DIR --set',
    'section.key=value` overrides any key for one run (repeatable); `verity config check --home DIR` checks a',
    "home's config, genesis and key files without starting the node.",
    '',
    '```toml',
    '[rpc]',
    'listen = "0.0.0.0:26657"',
    '',
    '[p2p]',
    'listen = "/ip4/0.0.0.0/tcp/26656"',
    'peers = ["12D3KooW…@/ip4/10.0.0.2/tcp/26656"]',
    '```',
    '',
    'Sections: ' +
      (Object.keys(CONFIG_SCHEMA) as ConfigSection[]).map((s) => `[\`[${s}]\`](#${s})`).join(', ') +
      '.',
  ];
  for (const section of Object.keys(CONFIG_SCHEMA) as ConfigSection[]) {
    lines.push('', `## ${section}`, '', SECTION_DOCS[section], '');
    lines.push('| Key | Type | Default | Meaning |', '| --- | --- | --- | --- |');
    for (const [, spec] of sectionSpecs(section)) {
      const dotted = `${section}.${spec.key}`;
      const rules = RULES.filter((r) => r.key === dotted && spec.values === undefined).map((r) =>
        sentence(r.rule),
      );
      const meaning = [spec.doc, ...rules].join(' ');
      lines.push(`| \`${spec.key}\` | ${typeOf(spec)} | ${cell(defaultText(spec))} | ${cell(meaning)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
