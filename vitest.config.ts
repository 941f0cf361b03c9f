import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['{packages,subgraphs}/*/test/**/*.test.ts', 'gateway/test/**/*.test.ts'],
    globalSetup: ['packages/testing/src/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
})
