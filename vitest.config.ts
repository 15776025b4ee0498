import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites start real servers and real gpg agents; two cores are all CI has.
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
})
