import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { lstat, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { exerciseInstalled } from './helpers/installed'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..')
const BIG = { maxBuffer: 16 * 1024 * 1024 }
const LIB = 'usr/lib/tessera'

// Installs a system package, so it runs only where asked to (CI, as root):
// TESSERA_SYSTEM_TESTS=1. Elsewhere it is skipped, and says why.
const why =
  process.env.TESSERA_SYSTEM_TESTS !== '1'
    ? 'set TESSERA_SYSTEM_TESTS=1 to build, install and remove the Debian package (needs root and dpkg)'
    : process.getuid?.() !== 0
      ? 'installing a Debian package needs root'
      : undefined
if (why) console.log(`deb package test skipped: ${why}`)

// Debian's own DEP-5 parser (python3-debian), strict, its warnings made errors;
// prints what the tests check as JSON.
const PARSE_DEP5 = `
import json, sys, warnings
from debian.copyright import Copyright
warnings.simplefilter('error')
with open(sys.argv[1], encoding='utf-8') as f:
    c = Copyright(f, strict=True)
print(json.dumps({
    'format': c.header.format,
    'files': [{'files': list(p.files), 'copyright': p.copyright, 'license': p.license.synopsis, 'text': p.license.text} for p in c.all_files_paragraphs()],
    'licenses': [p.license.synopsis for p in c.all_license_paragraphs()],
}))
`
type Dep5 = { format: string; files: Array<{ files: string[]; copyright: string; license: string; text: string }>; licenses: string[] }

/** Every package reachable from `names` through package-lock.json's dependency edges, as Node would resolve them from `from`. */
function lockClosure(lock: { packages: Record<string, { dependencies?: Record<string, string> }> }, from: string, names: string[]): Set<string> {
  const seen = new Set<string>()
  const visit = (parent: string, name: string) => {
    for (let dir = parent; ; dir = dir.replace(/\/?node_modules\/(@[^/]+\/)?[^/]+$/, '')) {
      const path = `${dir ? `${dir}/` : ''}node_modules/${name}`
      if (lock.packages[path]) {
        if (!seen.has(path)) {
          seen.add(path)
          for (const dep of Object.keys(lock.packages[path]!.dependencies ?? {})) visit(path, dep)
        }
        return
      }
      if (!dir) throw new Error(`${name} is not in package-lock.json`)
    }
  }
  for (const name of names) visit(from, name)
  return new Set([...seen].map((path) => path.replace(/^.*node_modules\//, '')))
}

describe.skipIf(why !== undefined)('the Debian package', () => {
  let deb = ''
  let debVersion = ''
  let version = ''
  let tree = ''
  let files: string[] = []
  const read = (file: string) => readFile(join(tree, file))

  beforeAll(async () => {
    const installed = await run('dpkg-query', ['-W', 'tessera']).then(() => true, () => false)
    expect(installed, 'a tessera package is already installed on this machine').toBe(false)
    await rm(join(ROOT, 'dist'), { recursive: true, force: true })
    await run(process.execPath, [join(ROOT, 'scripts/package-deb.mjs')], { cwd: ROOT, ...BIG })
    version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
    debVersion = (await run('dpkg-parsechangelog', ['-l', join(ROOT, 'resources/debian/changelog'), '-S', 'Version'])).stdout.trim()
    deb = join(ROOT, 'dist', `tessera_${debVersion}_amd64.deb`)
    tree = await mkdtemp(join(tmpdir(), 'tessera-deb-'))
    await run('dpkg-deb', ['-x', deb, tree])
    const all = await readdir(tree, { recursive: true })
    files = []
    for (const f of all) if ((await lstat(join(tree, f))).isFile()) files.push(f)
  }, 120_000)
  afterAll(() => rm(tree, { recursive: true, force: true }))

  it('is versioned from its changelog and summed', async () => {
    expect(debVersion.startsWith(`${version}-`)).toBe(true)
    const sums = await readFile(join(ROOT, 'dist/SHA256SUMS'), 'utf8')
    expect(sums).toBe(`${createHash('sha256').update(await readFile(deb)).digest('hex')}  tessera_${debVersion}_amd64.deb\n`)
    // gzip -9n: maximum compression, and no name or time stored.
    const changelog = await read('usr/share/doc/tessera/changelog.Debian.gz')
    expect([changelog[3]! & 0x08, changelog.readUInt32LE(4), changelog[8]]).toEqual([0, 0, 2])
    expect(gunzipSync(changelog).toString('utf8')).toMatch(new RegExp(`^tessera \\(${debVersion.replace(/\./g, '\\.')}\\) `))
    expect(await read('usr/share/doc/tessera/LICENSE')).toEqual(await readFile(join(ROOT, 'LICENSE')))
  })

  it('carries only what runs: no build of keytar, no install-time tools, tests, dotfiles or maps', async () => {
    expect(files).toContain('usr/share/man/man1/tessera.1.gz')
    expect(files).toContain(`${LIB}/node_modules/keytar/build/Release/keytar.node`)
    expect(files.filter((f) => /\.(c|cc|cpp|h|hpp|o|mk|gyp|gypi|map|ts)$|(^|\/)(Makefile|binding\.gyp|config\.gypi)$/.test(f))).toEqual([])
    expect(files.filter((f) => f.split('/').some((p) => p.startsWith('.') || /^(tests?|__tests__|spec)$/.test(p)))).toEqual([])
    expect(files.filter((f) => f.startsWith(`${LIB}/node_modules/keytar/`) && !/\/(lib\/keytar\.js|package\.json|build\/Release\/keytar\.node)$/.test(f))).toEqual([])
    const withBuildPaths = []
    for (const f of files) if ((await read(f)).includes(ROOT)) withBuildPaths.push(f)
    expect(withBuildPaths).toEqual([])

    const bundled = files.flatMap((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\/package\.json$/.exec(f)?.[1] ?? [])
    expect(bundled).toContain('openpgp')
    // Of openpgp, only its Node builds: never the browser ones or the lightweight variant.
    expect(files.filter((f) => f.includes('/node_modules/openpgp/') && !/\/openpgp\/(package\.json|dist\/node\/[^/]+)$/.test(f))).toEqual([])
    expect(bundled.filter((name) => /^(electron|typescript|vitest)$/.test(name))).toEqual([])
    // keytar's own dependencies only fetch or compile its binary when it installs.
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8'))
    const installOnly = lockClosure(lock, '', Object.keys(lock.packages['node_modules/keytar'].dependencies))
    expect(installOnly.has('prebuild-install') && installOnly.has('tar-fs')).toBe(true)
    expect(bundled.filter((name) => installOnly.has(name))).toEqual([])
  })

  it('names Tessera and every bundled package with its licence in a DEP-5 copyright file', async () => {
    const { stdout } = await run('/usr/bin/python3', ['-c', PARSE_DEP5, join(tree, 'usr/share/doc/tessera/copyright')])
    const copyright = JSON.parse(stdout) as Dep5
    expect(copyright.format).toBe('https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/')
    const byFiles = new Map(copyright.files.map((p) => [p.files.join(' '), p]))
    const licenceOf = (p: Dep5['files'][number]) => {
      expect(p.text !== '' || copyright.licenses.includes(p.license), `${p.license} has neither its text nor a License paragraph`).toBe(true)
      expect(p.copyright).toBeTruthy()
      return p.license
    }
    expect(licenceOf(byFiles.get('*')!)).toBe('MPL-2.0')
    const manifests = files.filter((f) => /node_modules\/(@[^/]+\/)?[^/]+\/package\.json$/.test(f))
    expect(manifests.length).toBeGreaterThan(5)
    for (const manifest of manifests) {
      const { license } = JSON.parse((await read(manifest)).toString('utf8')) as { license: string }
      const entry = byFiles.get(`${manifest.replace(/\/package\.json$/, '')}/*`)
      expect(entry, `${manifest} is not in the copyright file`).toBeDefined()
      expect(licenceOf(entry!)).toBe(license)
    }
    expect(byFiles.size).toBe(manifests.length + 1)
  })

  it('draws no error from lintian, and no complaint about its copyright file', { timeout: 120_000 }, async () => {
    const { stdout } = await run('lintian', ['--fail-on', 'none', deb], BIG)
    expect(stdout.split('\n').filter((l) => l.startsWith('E:') || /dep5|copyright/.test(l))).toEqual([])
  })

  it('installs, runs a ceremony, loads keytar, and removes cleanly', { timeout: 240_000 }, async () => {
    const depends = (await run('dpkg-deb', ['-f', deb, 'Depends'])).stdout
    expect(depends).toContain('nodejs (>= 20.19)')
    expect(depends).toMatch(/\blibsecret-1-0 \(>= /)
    await run('dpkg', ['-i', deb])
    try {
      expect((await run('dpkg', ['--verify', 'tessera'])).stdout).toBe('')
      expect((await run('tessera', ['--version'])).stdout.trim()).toBe(version)
      const keytar = await run('node', ['-e', `process.stdout.write(typeof require('/${LIB}/node_modules/keytar').getPassword)`])
      expect(keytar.stdout).toBe('function')
      await exerciseInstalled('/usr/bin/tessera')
    } finally {
      await run('dpkg', ['-r', 'tessera'])
    }
    expect(files.filter((f) => existsSync(`/${f}`))).toEqual([])
    expect(existsSync(`/${LIB}`)).toBe(false)
  })
})
