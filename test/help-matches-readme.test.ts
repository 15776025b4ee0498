import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli } from './helpers/cli'

// The man page of the Debian package is the command's --help; the CLI reference (docs/cli.md) must
// describe the same commands and flags, so that neither drifts from the other.
describe('--help and the CLI reference', () => {
  it('name the same commands and flags', async () => {
    const reference = await readFile(join(import.meta.dirname, '..', 'docs', 'cli.md'), 'utf8')
    const overview = await runCli(['--help'])
    expect(overview.code).toBe(0)
    const commands = [...overview.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]!)
    expect(commands.length).toBeGreaterThan(3)
    const missing: string[] = []
    for (const command of commands) {
      if (!reference.includes(`tessera ${command}`)) missing.push(`tessera ${command}`)
      const usage = await runCli([command, '--help'])
      expect(usage.code, command).toBe(0)
      for (const flag of new Set(usage.stdout.match(/--[a-z][a-z-]*/g) ?? [])) {
        if (flag !== '--help' && !reference.includes(flag)) missing.push(`${command} ${flag}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('give the same exit statuses for record verify', async () => {
    const formats = await readFile(join(import.meta.dirname, '..', 'docs', 'formats.md'), 'utf8')
    const help = (await runCli(['record', '--help'])).stdout
    // "0 the chain is intact" in the help, "**0** when the chain is intact" in the file formats' record section.
    const stated = (text: string) => [...text.matchAll(/(?<![\w.])\**(\d)\**\s+(?:when\s+|for\s+)?(?:the chain|a line|a usage)/g)].map((m) => Number(m[1])).sort()
    const verifyParagraph = formats.slice(formats.indexOf('`verify` prints `N events, final hash H`'))
    expect(stated(help.slice(help.indexOf('Exit status of verify')))).toEqual([0, 1, 2, 3])
    expect(stated(verifyParagraph.slice(0, 900))).toEqual([0, 1, 2, 3])
  })
})
