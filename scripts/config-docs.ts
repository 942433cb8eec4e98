/**
 * `npm run docs:config`: writes docs/CONFIG.md, the config reference, from the schema that
 * validates config.toml (src/node/config.ts). test/unit/config-reference.test.ts fails while the
 * file is out of date.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CONFIG_REFERENCE_PATH, configReference } from '../src/node/config-reference.ts';

const path = join(import.meta.dirname, '..', CONFIG_REFERENCE_PATH);
mkdirSync(dirname(path), { recursive: true });
writeFileSync(path, configReference());
process.stdout.write(`wrote ${CONFIG_REFERENCE_PATH}\n`);
