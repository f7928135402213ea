import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['test/store-env.ts'],
    env: { REVERIE_MODEL_PATH: process.env.REVERIE_MODEL_PATH ?? '../shared/models', REVERIE_OFFLINE: '1' },
  },
});
