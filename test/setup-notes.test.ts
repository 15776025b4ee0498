import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import semver from 'semver'

const ROOT = join(import.meta.dirname, '..')
const run = promisify(execFile)

type LockEntry = { version?: string; optional?: boolean; hasInstallScript?: boolean; engines?: Record<string, string> }

/** The set-up notes (docs/packaging.md, linked from the README's "Set up and run"): what a newcomer reads about `npm ci`. */
async function setUpNotes(): Promise<string> {
  const guide = await readFile(join(ROOT, 'docs', 'packaging.md'), 'utf8')
  return /^## Setting up a checkout\n([\s\S]*?)^## /m.exec(guide)![1]!
}

const lockEntries = async () =>
  Object.entries((JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }).packages)
    .filter(([path]) => path !== '')
    .map(([path, entry]) => ({ name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), ...entry }))

// What `npm ci` prints on a fresh machine, as npm decides it from the lockfile,
// kept in step with the set-up notes.
describe('the set-up notes', () => {
  it("name every package npm warns runs on an unsupported engine here (EBADENGINE), as npm's own check finds them", async () => {
    const versions = { node: process.version, npm: (await run('npm', ['--version'])).stdout.trim() }
    // npm-install-checks' checkEngine, for each package npm does not treat as optional.
    const warned = (await lockEntries())
      .filter(({ optional, engines }) => !optional && engines && !Array.isArray(engines))
      .filter(({ engines }) =>
        (['node', 'npm'] as const).some((e) => engines![e] && !semver.satisfies(versions[e], engines![e]!, { includePrerelease: true })),
      )
      .map(({ name, version }) => `${name}@${version}`)
    const notes = await setUpNotes()
    expect(warned.filter((id) => !notes.includes(`\`${id}\``))).toEqual([])
  })

  it('leave npm nothing to warn about install scripts: each is approved or denied in allowScripts, and the set-up notes say which and why', async () => {
    const { allowScripts = {} } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> }
    const withScripts = [...new Set((await lockEntries()).filter((e) => e.hasInstallScript).map((e) => e.name))]
    expect(withScripts).toContain('keytar')
    expect(withScripts.filter((name) => typeof allowScripts[name] !== 'boolean')).toEqual([])
    expect(allowScripts.keytar).toBe(true)
    const notes = await setUpNotes()
    expect(Object.keys(allowScripts).filter((name) => !notes.includes(`\`${name}\``))).toEqual([])
  })
})
