import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { exerciseInstalled } from './helpers/installed'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..')

// Installs a system package, so it runs only where asked to (CI, as root):
// TESSERA_SYSTEM_TESTS=1. Elsewhere it is skipped, and says why.
const why =
  process.env.TESSERA_SYSTEM_TESTS !== '1'
    ? 'set TESSERA_SYSTEM_TESTS=1 to build, install and remove the Debian package (needs root and dpkg)'
    : process.getuid?.() !== 0
      ? 'installing a Debian package needs root'
      : undefined
if (why) console.log(`deb package test skipped: ${why}`)

describe('the Debian package', () => {
  it.skipIf(why !== undefined)('builds offline, installs, runs a ceremony, and removes cleanly', { timeout: 240_000 }, async () => {
    const installed = await run('dpkg-query', ['-W', 'tessera']).then(() => true, () => false)
    expect(installed, 'a tessera package is already installed on this machine').toBe(false)

    await run(process.execPath, [join(ROOT, 'scripts/package-deb.mjs')], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 })
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    const deb = join(ROOT, 'dist', `tessera_${version}_amd64.deb`)
    const sums = await readFile(join(ROOT, 'dist/SHA256SUMS'), 'utf8')
    expect(sums).toBe(`${createHash('sha256').update(await readFile(deb)).digest('hex')}  tessera_${version}_amd64.deb\n`)
    const depends = (await run('dpkg-deb', ['-f', deb, 'Depends'])).stdout
    expect(depends).toContain('nodejs (>= 20.19)')
    const contents = (await run('dpkg-deb', ['-c', deb], { maxBuffer: 16 * 1024 * 1024 })).stdout
    const files = contents.split('\n').filter((l) => l.startsWith('-') || l.startsWith('l')).map((l) => l.split(/\s+/)[5]!.replace(/^\./, ''))
    expect(files).toContain('/usr/bin/tessera')
    expect(files).toContain('/usr/share/man/man1/tessera.1.gz')
    expect(files.some((f) => f.includes('/node_modules/keytar/build/Release/keytar.node'))).toBe(true)
    expect(files.filter((f) => /\/node_modules\/(electron|typescript|vitest)\//.test(f))).toEqual([])

    await run('dpkg', ['-i', deb])
    try {
      expect((await run('tessera', ['--version'])).stdout.trim()).toBe(version)
      await exerciseInstalled('/usr/bin/tessera')
    } finally {
      await run('dpkg', ['-r', 'tessera'])
    }
    expect(files.filter((f) => existsSync(f))).toEqual([])
    expect(existsSync('/usr/lib/tessera')).toBe(false)
  })
})
