#!/usr/bin/env node
// Builds tessera_VERSION-REV_ARCH.deb for machines without Electron (an air-gapped
// laptop with Debian's nodejs): the CLI, the web app and the runtime
// dependencies as installed here (keytar built for Node), plus a man page made
// from the command's own --help. Offline: nothing is downloaded. Run after
// `npm ci && npm run build`; writes dist/ and a SHA256SUMS beside the package.
// Needs dpkg-dev (dpkg-parsechangelog, dpkg-shlibdeps) and binutils (strip).
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { gzipSync } from 'node:zlib'
import { dep5Copyright } from './deb-copyright.mjs'
import { copyRuntimeFiles, runtimeClosure } from './deb-runtime-tree.mjs'

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

// Each runtime dependency with only the files that run, and native modules
// stripped of their symbols and not executable, as Debian ships shared objects.
const bundled = []
const nativeModules = []
for (const dir of runtimeClosure(ROOT, pkg.dependencies).keys()) {
  const files = relative(ROOT, dir)
  for (const rel of copyRuntimeFiles(dir, join(LIB, files))) {
    if (!rel.endsWith('.node')) continue
    nativeModules.push(join(LIB, files, rel))
    execFileSync('strip', ['--remove-section=.comment', '--remove-section=.note', '--strip-unneeded', nativeModules.at(-1)])
  }
  bundled.push({ dir, files: `usr/lib/tessera/${files.split(sep).join('/')}/*` })
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

// The licences: Tessera's own text, and the machine-readable copyright file
// naming every bundled package with its licence. The changelog is Debian's,
// kept in resources/debian/changelog; its latest entry gives the version.
const doc = join(STAGE, 'usr/share/doc/tessera')
mkdirSync(doc, { recursive: true })
cpSync(join(ROOT, 'LICENSE'), join(doc, 'LICENSE'))
const [authorName, author] = typeof pkg.author === 'string' ? [pkg.author, pkg.author] : [pkg.author.name, `${pkg.author.name} <${pkg.author.email}>`]
writeFileSync(
  join(doc, 'copyright'),
  dep5Copyright({ name: pkg.name, license: pkg.license, copyright: authorName, upstream: { url: pkg.homepage, contact: author } }, bundled),
)
const CHANGELOG = join(ROOT, 'resources/debian/changelog')
const version = execFileSync('dpkg-parsechangelog', ['-l', CHANGELOG, '-S', 'Version'], { encoding: 'utf8' }).trim()
if (!version.startsWith(`${pkg.version}-`)) {
  console.error(`package-deb: resources/debian/changelog's latest entry is ${version}: add one for ${pkg.version}-1`)
  process.exit(1)
}
writeFileSync(join(doc, 'changelog.Debian.gz'), gzipSync(readFileSync(CHANGELOG), { level: 9 }))
mkdirSync(join(STAGE, 'usr/share/lintian/overrides'), { recursive: true })
cpSync(join(ROOT, 'resources/debian/lintian-overrides'), join(STAGE, 'usr/share/lintian/overrides/tessera'))

/** The libraries the native modules link, as dpkg-shlibdeps names their packages. */
function sharedLibraryDepends(modules) {
  if (!modules.length) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'tessera-shlibdeps-'))
  try {
    // dpkg-shlibdeps insists on a debian/control, though it needs nothing from it here.
    mkdirSync(join(dir, 'debian'))
    writeFileSync(join(dir, 'debian/control'), 'Source: tessera\n\nPackage: tessera\nArchitecture: any\n')
    // Its warnings are about the napi_* symbols, which node itself provides.
    const out = execFileSync('dpkg-shlibdeps', ['-O', ...modules], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    return /^shlibs:Depends=(.+)$/m.exec(out)?.[1]
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const installedKb = Math.ceil(Number(execFileSync('du', ['-sk', join(STAGE, 'usr')], { encoding: 'utf8' }).split('\t')[0]))
mkdirSync(join(STAGE, 'DEBIAN'))
writeFileSync(
  join(STAGE, 'DEBIAN/control'),
  [
    'Package: tessera',
    `Version: ${version}`,
    `Architecture: ${ARCH}`,
    `Maintainer: ${author}`,
    `Installed-Size: ${installedKb}`,
    // keytar links libsecret; the keychain is optional at run time, the library is not.
    `Depends: ${['nodejs (>= 20.19)', sharedLibraryDepends(nativeModules)].filter(Boolean).join(', ')}`,
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

// Debian's modes: directories 755, files 644 (shared objects too), the launcher executable.
execFileSync('find', [join(STAGE, 'usr'), '-type', 'd', '-exec', 'chmod', '755', '{}', '+'])
execFileSync('find', [join(STAGE, 'usr'), '-type', 'f', '-exec', 'chmod', '644', '{}', '+'])
chmodSync(join(LIB, 'bin/tessera.js'), 0o755)

// What `dpkg --verify` checks the installed files against.
const md5sums = execFileSync('find', ['usr', '-type', 'f', '-exec', 'md5sum', '{}', '+'], { cwd: STAGE, encoding: 'utf8' })
writeFileSync(join(STAGE, 'DEBIAN/md5sums'), md5sums.split('\n').filter(Boolean).sort().join('\n') + '\n')

const name = `tessera_${version}_${ARCH}.deb`
execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', STAGE, join(DIST, name)], { stdio: 'inherit' })
rmSync(STAGE, { recursive: true, force: true })
const sum = createHash('sha256').update(readFileSync(join(DIST, name))).digest('hex')
writeFileSync(join(DIST, 'SHA256SUMS'), `${sum}  ${name}\n`)
console.log(`dist/${name}\n${sum}  ${name}`)
