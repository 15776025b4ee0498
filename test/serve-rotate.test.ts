import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { makeKeyset, tempDir } from './helpers/keysets'
import { startApi } from './helpers/server'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

describe("OpenBao's authenticated sys/rotate/root over loopback HTTP", () => {
  it('needs a token, answers in the data envelope, and rotates with verification; legacy rekey state is separate', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const api = await startApi(ks.path)
    const auth = { 'X-Vault-Token': ks.rootToken }
    const call = (method: string, path: string, body?: unknown) => api.call(method, path, body, auth)
    try {
      const bare = await api.call('GET', 'sys/rotate/root/init')
      expect([bare.status, bare.json.errors]).toEqual([403, ['permission denied']])
      const idle = await call('GET', 'sys/rotate/root/init')
      expect(idle.json).toMatchObject({ lease_id: '', renewable: false, data: { started: false, t: 0, n: 0, required: 2 } })
      expect(Object.keys(idle.json.data)).toEqual(['started', 't', 'n', 'required'])

      const bad = await call('PUT', 'sys/rotate/root/init', { secret_shares: 2, secret_threshold: 3 })
      expect([bad.status, bad.json.errors]).toEqual([400, ['invalid rotate seal configuration: threshold cannot be larger than shares']])
      const started = await call('PUT', 'sys/rotate/root/init', { secret_shares: '4', secret_threshold: 2, require_verification: true })
      expect(started.json.data).toMatchObject({ started: true, t: 2, n: 4, progress: 0, required: 2, verification_required: true, verification_nonce: '' })
      const nonce = started.json.data.nonce
      // In progress is checked before the parameters.
      expect((await call('PUT', 'sys/rotate/root/init', { secret_shares: 0 })).json.errors).toEqual(['rotation already in progress'])
      expect((await call('GET', 'sys/rekey/init')).json.started).toBe(false)

      expect((await call('PUT', 'sys/rotate/root/update', { nonce })).json.errors).toEqual(["missing required field 'key'"])
      expect((await call('PUT', 'sys/rotate/root/update', { key: ks.keys[0] })).json.errors).toEqual(["missing required field 'nonce'"])
      expect((await call('PUT', 'sys/rotate/root/update', { key: ks.keys[0], nonce: 'other' })).json.errors).toEqual([`incorrect nonce supplied; nonce for rotation is "${nonce}"`])
      expect((await call('PUT', 'sys/rotate/root/update', { key: ks.keys[0], nonce })).json.data.progress).toBe(1)
      expect((await call('PUT', 'sys/rotate/root/update', { key: ks.keys_base64[0], nonce })).json.errors).toEqual(['given key has already been provided during this rotation'])
      const made = await call('PUT', 'sys/rotate/root/update', { key: ks.keys[1], nonce })
      expect(made.json.data).toMatchObject({ complete: true, nonce, verification_required: true, backup: false, pgp_fingerprints: null })
      const { keys, verification_nonce: vnonce } = made.json.data
      expect(keys).toHaveLength(4)
      expect((await call('PUT', 'sys/rotate/root/update', { key: ks.keys[2], nonce })).json.errors).toEqual([
        `rotation already finished; verification must be performed; nonce for the verification operation is "${vnonce}"`,
      ])
      expect((await call('GET', 'sys/rotate/root/verify')).json.data).toMatchObject({ nonce: vnonce, started: true, t: 2, n: 4, progress: 0 })
      expect((await call('PUT', 'sys/rotate/root/verify', { key: keys[0], nonce: vnonce })).json.data.progress).toBe(1)
      const done = await call('PUT', 'sys/rotate/root/verify', { key: keys[3], nonce: vnonce })
      expect(done.json.data).toEqual({ nonce: vnonce, complete: true })
      expect(JSON.parse(await readFile(ks.path, 'utf8'))).toMatchObject({ generation: 2, secret_shares: 4 })
      expect((await call('GET', 'sys/rotate/root/verify')).json.errors).toEqual(['no rotation configuration found'])
      expect((await call('GET', 'sys/rotate/root/backup')).json.errors).toEqual(['no backed-up keys found'])
      expect((await call('DELETE', 'sys/rotate/root/init')).status).toBe(204)

      expect((await call('PUT', 'sys/rotate/recovery/init', { secret_shares: 3, secret_threshold: 2 })).json.errors).toEqual(['recovery keys not supported'])
      expect((await call('GET', 'sys/rotate/recovery/verify')).json.errors).toEqual(['no rotation configuration found'])
    } finally {
      await api.close()
    }
  })

  it('answers 503 while sealed, before asking for a token', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const api = await startApi(ks.path, { recovery: true })
    try {
      const r = await api.call('GET', 'sys/rotate/root/init')
      expect([r.status, r.json.errors]).toEqual([503, ['Vault is sealed']])
    } finally {
      await api.close()
    }
  })
})
