#!/usr/bin/env node
// Runs the built CLI (npm run build writes out/main/cli.js).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const cli = new URL('../out/main/cli.js', import.meta.url)
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('tessera: not built yet; run "npm run build" first\n')
  process.exit(1)
}
const { main } = await import(cli.href)
await main()
