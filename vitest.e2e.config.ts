import { defineConfig } from 'vitest/config';

// End-to-end tests: real node processes over libp2p on loopback. One file at a time — each
// runs a whole testnet on this machine's two cores.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 180_000,
    maxWorkers: 1,
    fileParallelism: false,
    // Lists the verity-* temp entries a run leaves behind (fails it with VERITY_STRICT_TMP=1).
    globalSetup: ['test/helpers/tmp-guard-setup.ts'],
  },
});
