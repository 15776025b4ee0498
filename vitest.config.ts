import { svelte } from '@sveltejs/vite-plugin-svelte'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // Compiles the renderer's rune classes (*.svelte.ts) so their state machines can be unit-tested.
  plugins: [svelte({ configFile: fileURLToPath(new URL('./svelte.config.js', import.meta.url)) })],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites start real servers and real gpg agents; two cores are all CI has.
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
})
