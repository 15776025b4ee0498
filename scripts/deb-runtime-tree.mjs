// The dependencies a package needs at run time, and of each only the files
// that run: the tree the Debian package bundles.
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'

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

/** Conditions Node matches in a package's `exports`; `browser`, `types` and the rest never load in Node. */
const NODE_CONDITIONS = new Set(['node', 'import', 'require', 'module-sync', 'default'])

/** The files a package's `exports` (or, without one, its `main`) lets Node load. */
function entryFiles(dir, meta) {
  const targets = []
  const walk = (value) => {
    if (typeof value === 'string') targets.push(value)
    else if (Array.isArray(value)) value.forEach(walk)
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) if (key.startsWith('.') || NODE_CONDITIONS.has(key)) walk(inner)
    }
  }
  if (meta.exports !== undefined) walk(meta.exports)
  else targets.push(meta.main ?? 'index.js')
  const resolveFrom = createRequire(resolve(dir, 'package.json'))
  return targets.filter((t) => !t.includes('*')).map((t) => resolveFrom.resolve(resolve(dir, t)))
}

/** Relative specifiers a module names in require(), import() or import … from. */
const RELATIVE = /(?:\brequire\s*\(\s*|\bimport\s*\(\s*|\bfrom\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g

/**
 * The files of the package in `dir` that Node can load: its entries and what
 * they reach through relative specifiers, plus its package.json (Node reads
 * `exports` and `type` there). A browser build, a second copy for another
 * module system and anything no entry reaches are left out.
 */
function reachable(dir, meta) {
  const found = new Set([join(dir, 'package.json')])
  const queue = entryFiles(dir, meta)
  while (queue.length > 0) {
    const file = queue.pop()
    if (found.has(file)) continue
    found.add(file)
    if (file.endsWith('.node') || file.endsWith('.json')) continue
    const resolveFrom = createRequire(file)
    for (const [, , spec] of readFileSync(file, 'utf8').matchAll(RELATIVE)) queue.push(resolveFrom.resolve(spec))
  }
  return found
}

/**
 * Copies the files of the package in `from` that Node loads to `to`.
 * @returns {string[]} the copied files, relative to `to`
 */
export function copyRuntimeFiles(from, to) {
  const meta = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8'))
  const copied = []
  for (const src of reachable(from, meta)) {
    const rel = relative(from, src)
    if (rel.startsWith('..') || !lstatSync(src).isFile()) throw new Error(`${meta.name} loads ${rel}, which is not a file of its own: not bundled`)
    mkdirSync(dirname(join(to, rel)), { recursive: true })
    copyFileSync(src, join(to, rel))
    copied.push(rel)
  }
  for (const dep of INSTALL_ONLY[meta.name] ?? []) {
    const user = copied.find((rel) => /\.[cm]?js$/.test(rel) && readFileSync(join(to, rel), 'utf8').includes(dep))
    if (user) throw new Error(`${meta.name}/${user} names ${dep}, which is left out as needed only at install`)
  }
  return copied
}
