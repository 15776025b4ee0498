import { defineConfig } from 'vitest/config'

// Timings an operator would feel, printed rather than asserted: npx vitest run --config bench/vitest.config.ts
export default defineConfig({
  test: { include: ['bench/**/*.measure.ts'], testTimeout: 600_000, hookTimeout: 600_000 },
})
