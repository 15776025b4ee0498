import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeWithOtp } from '../src-main/decode/decode'
import { LocalEngine } from '../src-main/engine/local-engine'
import { makeKeyset, SCHEMES, tempDir } from './helpers/keysets'
import { startApi } from './helpers/server'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

describe.each(SCHEMES)('%s keyset limits', (scheme) => {
  it('runs every flow on a threshold-1 keyset, where the single key is the secret', async () => {
    const ks = await makeKeyset(tmp.dir, { scheme, shares: 1, threshold: 1 })
    expect(Buffer.from(ks.keys[0]!, 'hex')).toHaveLength(32)
    const api = await startApi(ks.path)
    try {
      const start = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
      const done = (await api.call('PUT', 'sys/generate-root/update', { key: ks.keys_base64[0], nonce: start.nonce })).json
      expect(done).toMatchObject({ complete: true, progress: 1, required: 1 })
      expect(decodeWithOtp(done.encoded_token, Buffer.from(start.otp)).value.toString()).toMatch(/^hvs\./)

      const share = (await api.call('PUT', 'sys/generate-share/attempt', {})).json
      expect(share).toMatchObject({ otp: '', otp_length: 0 })
      const made = (await api.call('PUT', 'sys/generate-share/update', { key: ks.keys[0], nonce: share.nonce })).json
      expect(made).toMatchObject({ complete: true, key: ks.keys[0], key_base64: ks.keys_base64[0] })
    } finally {
      await api.close()
    }
  })

  it('combines any threshold of a 255-share keyset', async () => {
    const ks = await makeKeyset(tmp.dir, { scheme, shares: 255, threshold: 128 })
    expect(new Set(ks.keys).size).toBe(255)
    const api = await startApi(ks.path)
    try {
      const start = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
      expect(start.required).toBe(128)
      let last: any
      for (const key of ks.keys.slice(127)) {
        last = (await api.call('PUT', 'sys/generate-root/update', { key, nonce: start.nonce })).json
      }
      expect(last).toMatchObject({ complete: true, progress: 128 })
      expect(decodeWithOtp(last.encoded_token, Buffer.from(start.otp)).value.toString()).toMatch(/^hvs\./)
      // All 255 numbers are handed out: no new share can be made.
      const share = await api.call('PUT', 'sys/generate-share/attempt', {})
      expect(share.status).toBe(400)
      expect(share.json.errors[0]).toMatch(/all 255 share numbers/)
    } finally {
      await api.close()
    }
    // 255 check values derived at init and 128 shares checked as entered, each a deliberately slow scrypt.
  }, 300_000)

  it('completes exactly once when 20 updates arrive together', async () => {
    const ks = await makeKeyset(tmp.dir, { scheme, shares: 20, threshold: 3 })
    const api = await startApi(ks.path)
    try {
      const { nonce } = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
      const results = await Promise.all(ks.keys.map((key) => api.call('PUT', 'sys/generate-root/update', { key, nonce })))
      const completed = results.filter((r) => r.json?.complete === true)
      expect(completed).toHaveLength(1)
      expect(results.filter((r) => r.status === 200)).toHaveLength(3)
      const refused = results.filter((r) => r.status === 400).map((r) => r.json.errors[0])
      expect(refused).toHaveLength(17)
      expect(new Set(refused)).toEqual(new Set(['no root generation in progress']))
      expect((await api.call('GET', 'sys/generate-root/attempt')).json.started).toBe(false)
    } finally {
      await api.close()
    }
  })

  it('answers a status asked during the last update only once that update is done', async () => {
    const ks = await makeKeyset(tmp.dir, { scheme, shares: 5, threshold: 3 })
    const engine = await LocalEngine.open(ks.path)
    try {
      const idle = await engine.status('root')
      expect(idle).toMatchObject({ started: false, progress: 0 })
      const { status: { nonce } } = await engine.start('root', {})
      for (const key of ks.keys.slice(0, 2)) await engine.update('root', { key: Buffer.from(key), nonce })
      // The last share combines and writes the keyset; a status asked meanwhile
      // must not show the holders' progress emptied with the result not made.
      const last = engine.update('root', { key: Buffer.from(ks.keys[2]!), nonce })
      const during = engine.status('root')
      expect((await last).status.complete).toBe(true)
      expect(await during).toMatchObject({ started: false, progress: 0, nonce: '' })
      await expect(engine.status('recovery')).rejects.toMatchObject({ status: 404 })
    } finally {
      await engine.close()
    }
  })

  it('issues distinct new shares that all combine with the originals', async () => {
    const ks = await makeKeyset(tmp.dir, { scheme, shares: 3, threshold: 2 })
    const api = await startApi(ks.path)
    try {
      const fresh: string[] = []
      for (let i = 0; i < 3; i++) {
        const s = (await api.call('PUT', 'sys/generate-share/attempt', {})).json
        await api.call('PUT', 'sys/generate-share/update', { key: ks.keys[i % 3], nonce: s.nonce })
        const done = (await api.call('PUT', 'sys/generate-share/update', { key: ks.keys[(i + 1) % 3], nonce: s.nonce })).json
        expect(done.complete).toBe(true)
        fresh.push(done.key)
      }
      expect(new Set([...fresh, ...ks.keys]).size).toBe(6)
      // Two new shares alone reconstruct the key.
      const r = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
      await api.call('PUT', 'sys/generate-root/update', { key: fresh[0], nonce: r.nonce })
      const done = (await api.call('PUT', 'sys/generate-root/update', { key: fresh[2], nonce: r.nonce })).json
      expect(done.complete).toBe(true)
    } finally {
      await api.close()
    }
  })
})

describe.each(SCHEMES)('recovery mode over a %s keyset', (scheme) => {
  it('makes a recovery token that lives in memory only', async () => {
    const ks = await makeKeyset(tmp.dir, { scheme })
    let api = await startApi(ks.path, { recovery: true })
    let recoveryToken: string
    try {
      const seal = (await api.call('GET', 'sys/seal-status')).json
      expect(seal.sealed).toBe(true)
      expect((await api.call('GET', 'sys/health')).status).toBe(503)
      expect((await api.call('GET', 'sys/health?sealedcode=200')).status).toBe(200)
      // Recovery mode offers only the recovery flow.
      expect((await api.call('GET', 'sys/generate-root/attempt')).status).toBe(404)
      const start = (await api.call('PUT', 'sys/generate-recovery-token/attempt', {})).json
      expect(start.otp_length).toBe(28)
      let done: any
      for (const key of ks.keys.slice(2)) {
        done = (await api.call('PUT', 'sys/generate-recovery-token/update', { key, nonce: start.nonce })).json
      }
      expect(done.complete).toBe(true)
      expect(done.encoded_root_token).toBe('')
      recoveryToken = decodeWithOtp(done.encoded_token, Buffer.from(start.otp)).value.toString()
      expect(recoveryToken).toMatch(/^hvr\.[0-9A-Za-z]{24}$/)
      expect((await api.call('GET', 'sys/seal-status')).json.sealed).toBe(false)
      const again = await api.call('PUT', 'sys/generate-recovery-token/attempt', {})
      expect(again.status).toBe(400)
      expect(again.json.errors[0]).toBe('attempt to generate recovery operation token when already unsealed')
      expect((await api.call('GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': recoveryToken })).status).toBe(200)
    } finally {
      await api.close()
    }

    // A restart forgets the recovery token; the root token from the keyset stays valid.
    api = await startApi(ks.path, { recovery: true })
    try {
      expect((await api.call('GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': recoveryToken })).status).toBe(403)
      expect((await api.call('GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': ks.rootToken })).status).toBe(200)
      expect((await api.call('GET', 'sys/seal-status')).json.sealed).toBe(true)
    } finally {
      await api.close()
    }
  })

  it('offers no recovery flow outside recovery mode', async () => {
    const ks = await makeKeyset(tmp.dir, { scheme })
    const api = await startApi(ks.path)
    try {
      const r = await api.call('PUT', 'sys/generate-recovery-token/attempt', {})
      expect(r.status).toBe(404)
      expect(r.json.errors[0]).toMatch(/only in recovery mode/)
    } finally {
      await api.close()
    }
  })
})
