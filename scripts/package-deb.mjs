#!/usr/bin/env node
// Builds tessera_VERSION_ARCH.deb for machines without Electron (an air-gapped
// laptop with Debian's nodejs): the CLI, the web app and the runtime
// dependencies as installed here (keytar built for Node), plus a man page made
// from the command's own --help. Offline: nothing is downloaded. Run after
// `npm ci && npm run build`; writes dist/ and a SHA256SUMS beside the package.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { gzipSync } from 'node:zlib'

const ROOT = join(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const ARCH = { x64: 'amd64', arm64: 'arm64' }[process.arch]
if (!ARCH) throw new Error(`no Debian architecture for ${process.arch}`)
if (!existsSync(join(ROOT, 'out/main/cli.js'))) {
  console.error('package-deb: not built yet; run "npm run build" first')
  process.exit(1)
}

const DIST = join(ROOT, 'dist')
const STAGE = join(DIST, 'deb-stage')
const LIB = join(STAGE, 'usr/lib/tessera')
rmSync(STAGE, { recursive: true, force: true })
mkdirSync(LIB, { recursive: true })

// What runs: the launcher, the CLI and the web app (the Electron preload is not needed).
for (const part of ['bin', 'out/main', 'out/renderer']) {
  cpSync(join(ROOT, part), join(LIB, part), { recursive: true, filter: (f) => !f.endsWith('.map') && !f.endsWith('out/main/index.js') })
}
writeFileSync(
  join(LIB, 'package.json'),
  `${JSON.stringify({ name: pkg.name, version: pkg.version, type: pkg.type, private: true, dependencies: pkg.dependencies }, null, 2)}\n`,
)

/**
 * The runtime dependency closure, found as Node resolves it: each package's
 * `dependencies` and installed `optionalDependencies`, never peer or dev ones.
 */
function runtimeClosure() {
  const found = new Map()
  const visit = (fromDir, name, optional) => {
    let manifest
    try {
      manifest = createRequire(join(fromDir, 'noop.js')).resolve(`${name}/package.json`)
    } catch {
      // Packages whose exports hide package.json: walk node_modules by hand.
      for (let dir = fromDir; ; dir = dirname(dir)) {
        const candidate = join(dir, 'node_modules', name, 'package.json')
        if (existsSync(candidate)) {
          manifest = candidate
          break
        }
        if (dirname(dir) === dir) break
      }
    }
    if (!manifest) {
      if (optional) return
      throw new Error(`runtime dependency ${name} is not installed: run npm ci`)
    }
    const dir = dirname(manifest)
    if (found.has(dir)) return
    found.set(dir, name)
    const meta = JSON.parse(readFileSync(manifest, 'utf8'))
    for (const dep of Object.keys(meta.dependencies ?? {})) visit(dir, dep, false)
    for (const dep of Object.keys(meta.optionalDependencies ?? {})) visit(dir, dep, true)
  }
  for (const dep of Object.keys(pkg.dependencies)) visit(ROOT, dep, false)
  return [...found.keys()]
}

for (const dir of runtimeClosure()) {
  // Build intermediates of native modules are not needed at run time.
  cpSync(dir, join(LIB, relative(ROOT, dir)), {
    recursive: true,
    filter: (f) => !/[/\\]build[/\\](Release[/\\])?(obj\.target|\.deps)([/\\]|$)/.test(f),
  })
}

mkdirSync(join(STAGE, 'usr/bin'), { recursive: true })
symlinkSync('../lib/tessera/bin/tessera.js', join(STAGE, 'usr/bin/tessera'))

// The man page is the command's own --help, so the two cannot drift apart.
const tessera = (args) => execFileSync(process.execPath, [join(LIB, 'bin/tessera.js'), ...args], { encoding: 'utf8' })
const overview = tessera(['--help'])
const commands = [...overview.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1])
const roff = (text) => text.replace(/\\/g, '\\e').replace(/^([.'])/gm, '\\&$1').replace(/-/g, '\\-')
const man = [
  `.TH TESSERA 1 "" "tessera ${pkg.version}" "User Commands"`,
  '.SH NAME',
  'tessera \\- key ceremonies for HashiCorp Vault and OpenBao',
  '.SH SYNOPSIS',
  '.B tessera',
  '.I command',
  '[\\fIflags\\fR]',
  '.SH DESCRIPTION',
  '.nf',
  roff(overview.trimEnd()),
  '.fi',
  ...commands.flatMap((c) => [`.SH ${c.toUpperCase()}`, '.nf', roff(tessera([c, '--help']).trimEnd()), '.fi']),
  '',
].join('\n')
mkdirSync(join(STAGE, 'usr/share/man/man1'), { recursive: true })
writeFileSync(join(STAGE, 'usr/share/man/man1/tessera.1.gz'), gzipSync(man, { level: 9 }))

const doc = join(STAGE, 'usr/share/doc/tessera')
mkdirSync(doc, { recursive: true })
writeFileSync(
  join(doc, 'copyright'),
  `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: tessera\nLicense: ${pkg.license}\n`,
)

const installedKb = Math.ceil(Number(execFileSync('du', ['-sk', join(STAGE, 'usr')], { encoding: 'utf8' }).split('\t')[0]))
mkdirSync(join(STAGE, 'DEBIAN'))
const author = typeof pkg.author === 'string' ? pkg.author : `${pkg.author.name} <${pkg.author.email}>`
writeFileSync(
  join(STAGE, 'DEBIAN/control'),
  [
    'Package: tessera',
    `Version: ${pkg.version}`,
    `Architecture: ${ARCH}`,
    `Maintainer: ${author}`,
    `Installed-Size: ${installedKb}`,
    // keytar links libsecret; the keychain is optional at run time, the library is not.
    'Depends: nodejs (>= 20.19), libsecret-1-0',
    'Section: admin',
    'Priority: optional',
    `Homepage: ${pkg.homepage}`,
    'Description: key ceremonies for HashiCorp Vault and OpenBao',
    ' Tessera runs generate-root, generate-share and generate-recovery-token',
    ' ceremonies against a local keyset or a remote server, serves Vault\'s HTTP',
    ' API on loopback, decodes results offline, and serves its UI to a local',
    ' browser (tessera web) on machines without Electron.',
    '',
  ].join('\n'),
)

// Debian's modes: directories 755, files 644, the launcher and native modules executable.
execFileSync('find', [join(STAGE, 'usr'), '-type', 'd', '-exec', 'chmod', '755', '{}', '+'])
execFileSync('find', [join(STAGE, 'usr'), '-type', 'f', '-exec', 'chmod', '644', '{}', '+'])
chmodSync(join(LIB, 'bin/tessera.js'), 0o755)
execFileSync('find', [LIB, '-name', '*.node', '-exec', 'chmod', '755', '{}', '+'])

const name = `tessera_${pkg.version}_${ARCH}.deb`
execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', STAGE, join(DIST, name)], { stdio: 'inherit' })
rmSync(STAGE, { recursive: true, force: true })
const sum = createHash('sha256').update(readFileSync(join(DIST, name))).digest('hex')
writeFileSync(join(DIST, 'SHA256SUMS'), `${sum}  ${name}\n`)
console.log(`dist/${name}\n${sum}  ${name}`)
