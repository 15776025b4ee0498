import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lstat, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli } from './helpers/cli'
import { tempDir } from './helpers/keysets'

// Every file the CLI writes where the operator said (the keyset, the record, the
// printed record) is new, of mode 0600, and a link at that path is never written through.
// The app's record PDF is checked in electron-shell.test.ts.

let dir: string
let cleanup: () => Promise<void>
let victim: string
const umask = process.umask(0o022)

beforeAll(async () => {
  ;({ dir, cleanup } = await tempDir('tessera-outputs-'))
  victim = join(dir, 'victim.txt')
  await writeFile(victim, 'not yours', { mode: 0o644 })
})
afterAll(async () => {
  process.umask(umask)
  await cleanup()
})

/** A link to the victim file at `name`, and a check that the file is untouched after `run`. */
async function throughLink(name: string, run: (path: string) => Promise<unknown>) {
  const path = join(dir, name)
  await symlink(victim, path)
  await run(path)
  expect(await readFile(victim, 'utf8')).toBe('not yours')
  return path
}

const mode = async (path: string) => (await lstat(path)).mode & 0o777

describe('every output is new, 0600, and never written through a link', () => {
  it('init: the keyset and its record', async () => {
    const keyset = join(dir, 'k.json')
    const record = join(dir, 'init.jsonl')
    const r = await runCli(['init', '--keyset', keyset, '--shares', '2', '--threshold', '2', '--record', record])
    expect(r.code, r.stderr).toBe(0)
    expect(await mode(keyset)).toBe(0o600)
    expect(await mode(record)).toBe(0o600)

    const linkedKeyset = await throughLink('linked-keyset.json', async (path) => {
      expect((await runCli(['init', '--keyset', path, '--shares', '2', '--threshold', '2'])).code).toBe(1)
    })
    expect((await lstat(linkedKeyset)).isSymbolicLink()).toBe(true)
    await throughLink('linked-init.jsonl', async (path) => {
      expect((await runCli(['init', '--keyset', join(dir, 'k2.json'), '--shares', '2', '--threshold', '2', '--record', path])).code).toBe(1)
    })
  })

  it('record print --out, with and without --force', async () => {
    const record = join(dir, 'init.jsonl')
    const out = join(dir, 'printed.html')
    expect((await runCli(['record', 'print', record, '--out', out])).code).toBe(0)
    expect(await mode(out)).toBe(0o600)
    await throughLink('linked-printed.html', async (path) => {
      expect((await runCli(['record', 'print', record, '--out', path])).code).toBe(1)
    })
    const replaced = await throughLink('forced-printed.html', async (path) => {
      expect((await runCli(['record', 'print', record, '--out', path, '--force'])).code).toBe(0)
    })
    // --force replaces the link itself with a new file.
    expect((await lstat(replaced)).isFile()).toBe(true)
    expect(await mode(replaced)).toBe(0o600)
  })
})
