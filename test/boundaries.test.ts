import { describe, expect, it } from 'vitest'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'

// Which process a file may run in, enforced on the sources: the renderer reaches
// main only through the contract's types; nothing but the Electron shell and the
// preload may import Electron; crypto and the keychain stay out of the renderer.
const ROOT = join(import.meta.dirname, '..')

async function files(dir: string, ext: RegExp): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && ext.test(entry.name)) out.push(relative(ROOT, join(entry.parentPath, entry.name)))
  }
  return out
}

function imports(source: string): Array<{ spec: string; typeOnly: boolean }> {
  const found: Array<{ spec: string; typeOnly: boolean }> = []
  for (const m of source.matchAll(/^\s*import\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
    found.push({ typeOnly: Boolean(m[1]), spec: m[2]! })
  }
  for (const m of source.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push({ typeOnly: false, spec: m[1]! })
  return found
}

describe('process boundaries', () => {
  it('the renderer imports only types from main, and only the IPC contract', async () => {
    const offenders: string[] = []
    for (const file of await files('src-renderer/src', /\.(ts|svelte)$/)) {
      for (const imp of imports(await readFile(join(ROOT, file), 'utf8'))) {
        if (!imp.spec.includes('src-main')) continue
        if (!imp.typeOnly || !imp.spec.endsWith('src-main/ipc/contract')) offenders.push(`${file}: ${imp.spec}`)
      }
    }
    expect(offenders).toEqual([])
  })

  it('the renderer carries no crypto, keychain or Node module', async () => {
    const banned = /^(openpgp|shamir-secret-sharing|secrets\.js-grempe|keytar|valibot|electron|node:.*)$/
    const offenders: string[] = []
    for (const file of await files('src-renderer/src', /\.(ts|svelte)$/)) {
      for (const imp of imports(await readFile(join(ROOT, file), 'utf8'))) {
        if (banned.test(imp.spec)) offenders.push(`${file}: ${imp.spec}`)
      }
    }
    expect(offenders).toEqual([])
  })

  it('only the Electron shell and the preload import Electron', async () => {
    const offenders: string[] = []
    for (const file of await files('src-main', /\.ts$/)) {
      if (file.startsWith('src-main/app/') || file.startsWith('src-main/preload/')) continue
      for (const imp of imports(await readFile(join(ROOT, file), 'utf8'))) {
        if (imp.spec === 'electron' && !imp.typeOnly) offenders.push(file)
      }
    }
    expect(offenders).toEqual([])
  })

  it('the preload pulls in nothing but the contract', async () => {
    const specs = imports(await readFile(join(ROOT, 'src-main/preload/index.ts'), 'utf8')).map((i) => i.spec)
    expect(specs.sort()).toEqual(['../ipc/contract', 'electron'])
    const contract = imports(await readFile(join(ROOT, 'src-main/ipc/contract.ts'), 'utf8')).filter((i) => !i.typeOnly).map((i) => i.spec)
    expect(contract.sort()).toEqual(['../backend', '../engine/holders', '../engine/schemes', '../profiles/profile-schema', 'valibot'])
  })

  it('the support room depends on no domain room', async () => {
    const offenders: string[] = []
    for (const file of await files('src-main/support', /\.ts$/)) {
      for (const imp of imports(await readFile(join(ROOT, file), 'utf8'))) {
        if (imp.spec.startsWith('.') && !imp.spec.startsWith('./')) offenders.push(`${file}: ${imp.spec}`)
      }
    }
    expect(offenders).toEqual([])
  })
})
