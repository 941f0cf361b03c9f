import { createRequire } from 'node:module'
import { defineConfig } from 'vitest/config'

const require = createRequire(new URL('./packages/service-kit/package.json', import.meta.url))

export default defineConfig({
  resolve: {
    // One graphql for everyone: Vite would pick its ESM build while Apollo (loaded by Node) gets the CJS
    // one, and two copies break instanceof checks between them.
    alias: { graphql: require.resolve('graphql') },
  },
  test: {
    include: ['{apps,packages,subgraphs}/*/test/**/*.test.ts', 'gateway/test/**/*.test.ts'],
    globalSetup: ['packages/testing/src/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
})
