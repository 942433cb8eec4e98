import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/long/**', 'test/e2e/**', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: two workers keep the machine busy without thrashing.
    maxWorkers: 2,
    // Lists the verity-* temp entries a run leaves behind (fails it with VERITY_STRICT_TMP=1).
    globalSetup: ['test/helpers/tmp-guard-setup.ts'],
  },
});
