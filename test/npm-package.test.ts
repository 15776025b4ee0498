import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { exerciseInstalled } from './helpers/installed'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..')

// The npm package as a user gets it: packed, installed into a fresh prefix,
// and run through init, serve, decode and web. `npm test` builds first, so the
// pack skips its prepack build.
describe('the npm package', () => {
  it('ships what runs and nothing else, and the installed command works', { timeout: 240_000 }, async () => {
    expect(existsSync(join(ROOT, 'out/main/cli.js')), 'run npm run build first').toBe(true)
    const dir = await mkdtemp(join(tmpdir(), 'tessera-pack-'))
    try {
      const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT })
      const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
      const files = packed!.files.map((f) => f.path)
      expect(files).toContain('bin/tessera.js')
      expect(files).toContain('out/main/cli.js')
      expect(files.some((f) => f.startsWith('out/renderer/assets/'))).toBe(true)
      expect(files).toContain('LICENSE')
      const stray = files.filter((f) => !/^(bin\/|out\/(main|preload|renderer)\/|package\.json$|README\.md$|LICENSE$)/.test(f) || f.endsWith('.map'))
      expect(stray).toEqual([])

      const prefix = join(dir, 'prefix')
      // As the README says to install it: keytar's build script allowed, so npm has nothing to warn about.
      const install = await run('npm', ['install', '-g', '--allow-scripts=keytar', '--prefix', prefix, '--no-audit', '--no-fund', join(dir, packed!.filename)], {
        cwd: dir,
        maxBuffer: 16 * 1024 * 1024,
      })
      expect(install.stderr).not.toMatch(/npm warn install-scripts/)
      const licence = await readFile(join(prefix, 'lib/node_modules/tessera/LICENSE'), 'utf8')
      expect(licence.startsWith('Mozilla Public License Version 2.0\n')).toBe(true)
      await exerciseInstalled(join(prefix, 'bin', 'tessera'))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
