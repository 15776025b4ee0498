import { defineConfig } from '@playwright/test'

// The same journeys run in two projects: Debian's Chromium against `tessera web`,
// and the Electron app itself wherever an Electron binary is installed.
export default defineConfig({
  testDir: 'e2e',
  testMatch: /.*\.spec\.ts/,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 2,
  outputDir: 'test-results/e2e',
  reporter: [['list'], ['./e2e/summary-reporter.ts']],
  projects: [
    { name: 'chromium', metadata: { transport: 'web' } },
    // The journeys where holders enter shares, again with main answering each call up to
    // 700 ms late: a click or keystroke that races a call on its way shows up here.
    { name: 'chromium-slow-main', metadata: { transport: 'web', slowRpc: 700 }, testMatch: /(ceremony|share-flow|rekey|unseal)\.spec\.ts/ },
    { name: 'electron', metadata: { transport: 'electron' } },
  ],
})
