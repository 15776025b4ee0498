// The dependencies a package needs at run time, and of each only the files
// that run: the tree the Debian package bundles.
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, sep } from 'node:path'

/**
 * Dependencies a package declares but needs only while it installs. keytar's
 * install script fetches a prebuilt binary (prebuild-install) or compiles one
 * against node-addon-api's C++ headers; at run time lib/keytar.js loads only
 * build/Release/keytar.node. `copyRuntimeFiles` checks that this stays true.
 */
const INSTALL_ONLY = { keytar: ['node-addon-api', 'prebuild-install'] }

/**
 * The runtime dependency closure of the package at `root`, found as Node
 * resolves it: each package's `dependencies` and installed
 * `optionalDependencies`, never peer, dev or install-only ones.
 * @returns {Map<string, string>} each package's directory and its name
 */
export function runtimeClosure(root, dependencies) {
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
    const installOnly = INSTALL_ONLY[meta.name] ?? []
    for (const dep of Object.keys(meta.dependencies ?? {})) if (!installOnly.includes(dep)) visit(dir, dep, false)
    for (const dep of Object.keys(meta.optionalDependencies ?? {})) visit(dir, dep, true)
  }
  for (const dep of Object.keys(dependencies)) visit(root, dep, false)
  return found
}

const DEV_DIRS = new Set(['test', 'tests', '__tests__', 'spec', 'example', 'examples', 'benchmark', 'benchmarks'])

/**
 * Whether a file of a bundled package (its path inside the package, split)
 * is one Node may load: code, JSON and the built native module. Dropped:
 * tests, examples, docs and licence files (the copyright file carries each
 * licence), typings, source maps, dotfiles, task-runner files, nested packages
 * (bundled on their own if they run), and a native module's sources and build tree.
 */
function runs(parts) {
  const base = parts.at(-1)
  if (parts.some((p) => p.startsWith('.') || p === 'node_modules' || DEV_DIRS.has(p))) return false
  if (parts[0] === 'build') return parts.length === 3 && parts[1] === 'Release' && base.endsWith('.node')
  if (/^(gruntfile|gulpfile)\.[cm]?js$/i.test(base)) return false
  return /\.([cm]?js|json|node)$/.test(base)
}

/**
 * Copies what runs of the package in `from` to `to`.
 * @returns {string[]} the copied files, relative to `to`
 */
export function copyRuntimeFiles(from, to) {
  const copied = []
  for (const rel of readdirSync(from, { recursive: true })) {
    const parts = rel.split(sep)
    const src = join(from, rel)
    const stat = lstatSync(src)
    if (stat.isDirectory() || !runs(parts)) continue
    if (!stat.isFile()) throw new Error(`${src} is neither a file nor a directory: not bundled`)
    mkdirSync(dirname(join(to, rel)), { recursive: true })
    copyFileSync(src, join(to, rel))
    copied.push(rel)
  }
  const meta = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8'))
  for (const dep of INSTALL_ONLY[meta.name] ?? []) {
    const user = copied.find((rel) => /\.[cm]?js$/.test(rel) && readFileSync(join(to, rel), 'utf8').includes(dep))
    if (user) throw new Error(`${meta.name}/${user} names ${dep}, which is left out as needed only at install`)
  }
  return copied
}
