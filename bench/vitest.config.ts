import { defineConfig } from 'vitest/config'

// `npm run bench`: one sequential run of every measurement (bench/*.bench.ts),
// printed as a table and saved as JSON. Not part of `npm test`.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    maxWorkers: 1,
    reporters: ['default'],
  },
})
