import { describe, expect, it } from 'vitest'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'

const ROOT = join(import.meta.dirname, '..')

/** Every file under `dir` (relative to the repository), its path included in what is searched. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => relative(ROOT, join(e.parentPath, e.name)))
}

async function mentioning(pattern: RegExp, dirs: string[]): Promise<string[]> {
  const found: string[] = []
  for (const path of (await Promise.all(dirs.map(files))).flat()) {
    if (pattern.test(path) || pattern.test(await readFile(join(ROOT, path), 'utf8'))) found.push(path)
  }
  return found.sort()
}

// One name per concept (docs/architecture.md, "Names"): the ceremony's file is the record.
describe('one name per concept', () => {
  it('says "record", never "transcript", but where the CLI keeps its old name as an alias', async () => {
    const found = await mentioning(/transcript/i, ['src-main', 'src-renderer/src', 'docs'])
    expect(found).toEqual(['docs/cli.md', 'src-main/cli/args.ts', 'src-main/cli/main.ts', 'src-main/cli/record.ts'])
  })

  it('calls the init hand-out a hand-out, and keeps "Ceremony" for the renderer\'s one caller of main', async () => {
    expect(await mentioning(/InitCeremony|Handout/, ['src-main', 'src-renderer/src', 'docs'])).toEqual([])
  })
})
