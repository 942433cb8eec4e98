#!/usr/bin/env node
// Entry point of the `verity` binary. Runs on Node ≥ 22.18 (TypeScript type stripping); through
// npm scripts and npx the project's own Node 24 (devDependency "node") is first on PATH.
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
