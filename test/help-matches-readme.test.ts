import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli } from './helpers/cli'

// The man page of the Debian package is the command's --help; the README must
// describe the same commands and flags, so that neither drifts from the other.
describe('--help and the README', () => {
  it('name the same commands and flags', async () => {
    const readme = await readFile(join(import.meta.dirname, '..', 'README.md'), 'utf8')
    const overview = await runCli(['--help'])
    expect(overview.code).toBe(0)
    const commands = [...overview.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]!)
    expect(commands.length).toBeGreaterThan(3)
    const missing: string[] = []
    for (const command of commands) {
      if (!readme.includes(`tessera ${command}`)) missing.push(`tessera ${command}`)
      const usage = await runCli([command, '--help'])
      expect(usage.code, command).toBe(0)
      for (const flag of new Set(usage.stdout.match(/--[a-z][a-z-]*/g) ?? [])) {
        if (flag !== '--help' && !readme.includes(flag)) missing.push(`${command} ${flag}`)
      }
    }
    expect(missing).toEqual([])
  })
})
