import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { readFile } from 'node:fs/promises'
import { disk } from './helpers/full-disk'
import { makeKeyset, tempDir } from './helpers/keysets'
import { startApi } from './helpers/server'

/** A full disk, for real: see helpers/full-disk. */
vi.mock('node:fs/promises', async (original) => (await import('./helpers/full-disk')).fullDiskFs(original as () => Promise<typeof import('node:fs/promises')>))

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

describe('a full disk during a keyset write', () => {
  it('answers with a sentence that names it, hands out no token it could not store, and lets the ceremony finish later', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const before = await readFile(ks.path, 'utf8')
    const api = await startApi(ks.path)
    try {
      const { nonce } = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
      await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce })
      disk.full = true
      const r = await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[1], nonce })
      disk.full = false
      expect(r.status).toBe(500)
      expect(r.json).toEqual({ errors: [`could not write the keyset ${ks.path}: no space left on device`] })
      expect(r.text).not.toMatch(/hvs\./)
      expect(await readFile(ks.path, 'utf8')).toBe(before)
      // The attempt and its nonce remain: the holders enter their shares again once there is room.
      expect((await api.call('GET', 'sys/generate-root/attempt')).json).toMatchObject({ started: true, nonce, progress: 0 })
      await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce })
      expect((await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[2], nonce })).json.complete).toBe(true)
    } finally {
      disk.full = false
      await api.close()
    }
  })
})
