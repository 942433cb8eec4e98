#!/usr/bin/env node
// Entry point of the `verity` binary. Runs on Node ≥ 22.18 (TypeScript type stripping); through
// npm scripts and npx the project's own Node 24 (devDependency "node") is first on PATH.
import module from 'node:module';

// Node's on-disk compile cache (in the OS temp directory; NODE_DISABLE_COMPILE_CACHE=1 turns it
// off) keeps the type-stripped, compiled modules between runs: a CLI call starts faster.
module.enableCompileCache?.();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
