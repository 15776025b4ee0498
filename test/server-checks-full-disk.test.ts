import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { newServerChecks, readServerChecks, withPending, writeServerChecks } from '../src-main/profiles/server-checks'
import { ServerShareChecks } from '../src-main/session/server-share-checks'
import { disk } from './helpers/full-disk'
import { tempDir } from './helpers/keysets'

/** A full disk, for real: see helpers/full-disk. */
vi.mock('node:fs/promises', async (original) => (await import('./helpers/full-disk')).fullDiskFs(original as () => Promise<typeof import('node:fs/promises')>))

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir('tessera-checks-full-')
})
afterAll(() => tmp.cleanup())
afterEach(() => {
  disk.full = false
})

const SERVER = 'http://127.0.0.1:8200'
const shares = (count: number) => Array.from({ length: count }, (_, i) => ({ share: Buffer.concat([randomBytes(32), Buffer.of(i + 1)]), holder: null }))

describe('the server check file on a full disk', () => {
  it('is left as it was, and the write refused with a sentence that names the file and the reason', async () => {
    const dir = join(tmp.dir, 'write')
    const path = join(dir, 'profile.json')
    const first = await newServerChecks(SERVER, 2, shares(3))
    await writeServerChecks(path, first)
    const before = await readFile(path, 'utf8')
    disk.full = true
    await expect(writeServerChecks(path, await withPending(first, 1, 3, shares(5)))).rejects.toMatchObject({
      code: 'server_checks',
      message: `the server check file ${path} could not be written: no space left on device`,
    })
    disk.full = false
    expect(await readFile(path, 'utf8')).toBe(before)
    expect(await readdir(dir)).toEqual(['profile.json'])
  })

  it('a settlement that cannot be written leaves both generations recognized, and settles once there is room', async () => {
    const path = join(tmp.dir, 'settle.json')
    await writeServerChecks(path, await withPending(await newServerChecks(SERVER, 2, shares(3)), 1, 3, shares(5)))
    const before = await readFile(path, 'utf8')
    // The server's counts are the pending generation's: it took effect.
    const seal = { initialized: true, t: 3, n: 5 }
    disk.full = true
    const book = await ServerShareChecks.load(() => path, SERVER, seal, async () => true)
    await book.settleByCounts(seal)
    disk.full = false
    expect(await readFile(path, 'utf8')).toBe(before)
    expect(book.view.note).toMatch(/generation 1, and generation 2 made by the rekey of \S+, which was not seen to finish/)

    const again = await ServerShareChecks.load(() => path, SERVER, seal, async () => true)
    await again.settleByCounts(seal)
    expect(await readServerChecks(path)).toMatchObject({ generation: 2, earlier_generations: [{ generation: 1 }] })
    expect(again.view.note).toMatch(/took effect \(the server's share count and threshold are generation 2's\): generation 1 is kept as replaced\.$/)
  })
})
