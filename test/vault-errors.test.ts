import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { makeKeyset, SCHEMES, tempDir, type TestKeyset } from './helpers/keysets'
import { FLOW_PATH, startApi, type Api } from './helpers/server'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

const errorOf = (r: { json: any }) => r.json?.errors?.[0] as string

describe.each(SCHEMES)('Vault semantics over a %s keyset', (scheme) => {
  let ks: TestKeyset
  let foreign: TestKeyset
  let api: Api
  let nonce: string

  beforeAll(async () => {
    ks = await makeKeyset(tmp.dir, { scheme })
    foreign = await makeKeyset(tmp.dir, { scheme })
    api = await startApi(ks.path)
  })
  afterAll(() => api.close())
  beforeEach(async () => {
    await api.call('DELETE', 'sys/generate-root/attempt')
    nonce = (await api.call('PUT', 'sys/generate-root/attempt', {})).json.nonce
  })

  it('a status polled over and over follows every change the engine makes', async () => {
    const flows = ['root', 'share'] as const
    // Each poll, of each flow, must say what the engine says at that moment.
    const pollsAgree = async () => {
      for (const flow of flows) {
        for (let i = 0; i < 2; i++) {
          const polled = await api.call('GET', `${FLOW_PATH[flow]}/attempt`)
          expect(polled.json, flow).toEqual({ ...(await api.engine.status(flow)), otp: '' })
        }
      }
    }
    await pollsAgree()
    expect((await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce })).status).toBe(200)
    await pollsAgree()
    expect((await api.call('GET', 'sys/generate-root/attempt')).json).toMatchObject({ started: true, nonce, progress: 1 })
    await api.call('DELETE', 'sys/generate-root/attempt')
    await pollsAgree()
    expect((await api.call('GET', 'sys/generate-root/attempt')).json).toMatchObject({ started: false, nonce: '', progress: 0 })
    const shareNonce = (await api.call('PUT', 'sys/generate-share/attempt', {})).json.nonce as string
    await pollsAgree()
    expect((await api.call('GET', 'sys/generate-share/attempt')).json).toMatchObject({ started: true, nonce: shareNonce })
    await api.call('DELETE', 'sys/generate-share/attempt')
    await pollsAgree()
  })

  it('allows one attempt at a time', async () => {
    const again = await api.call('POST', 'sys/generate-root/attempt', {})
    expect(again.status).toBe(400)
    expect(errorOf(again)).toBe('root generation already in progress')
    const share = await api.call('PUT', 'sys/generate-share/attempt', {})
    expect(share.status).toBe(400)
    expect(errorOf(share)).toBe('root generation already in progress')
  })

  it('requires the attempt nonce on every update', async () => {
    const r = await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce: 'not-the-nonce' })
    expect(r.status).toBe(400)
    expect(errorOf(r)).toBe(`incorrect nonce supplied; nonce for this root generation operation is "${nonce}"`)
    expect((await api.call('GET', 'sys/generate-root/attempt')).json.progress).toBe(0)
  })

  it('refuses an update for another flow than the one running', async () => {
    const r = await api.call('PUT', 'sys/generate-share/update', { key: ks.keys[0], nonce })
    expect(r.status).toBe(400)
    expect(errorOf(r)).toBe('incorrect strategy supplied; a generate root operation of another type is already in progress')
  })

  it('requires a key', async () => {
    for (const body of [{ nonce }, { key: '', nonce }, {}]) {
      const r = await api.call('PUT', 'sys/generate-root/update', body)
      expect(r.status).toBe(400)
      expect(errorOf(r)).toBe("'key' must be specified in request body as JSON")
    }
  })

  it('rejects a share that is not hex or base64 (or a secrets.js share)', async () => {
    const r = await api.call('PUT', 'sys/generate-root/update', { key: 'not a share!', nonce })
    expect(r.status).toBe(400)
    expect(errorOf(r)).toBe(
      scheme === 'vault' ? "'key' must be a valid hex or base64 string" : "'key' must be a valid secrets.js share or its base64",
    )
  })

  it('rejects a repeated share, however it is spelled, and keeps the progress', async () => {
    expect((await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[1], nonce })).status).toBe(200)
    for (const again of [ks.keys[1]!, ks.keys_base64[1]!, ks.keys[1]!.toUpperCase()]) {
      const r = await api.call('PUT', 'sys/generate-root/update', { key: again, nonce })
      expect(r.status, again).toBe(400)
      expect(errorOf(r)).toBe('given key has already been provided during this generation operation')
    }
    const status = await api.call('GET', 'sys/generate-root/attempt')
    expect(status.json).toMatchObject({ started: true, nonce, progress: 1 })
  })

  it('refuses a share of another keyset the moment it is entered, keeping progress and nonce', async () => {
    expect((await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce })).status).toBe(200)
    for (const key of foreign.keys) {
      const r = await api.call('PUT', 'sys/generate-root/update', { key, nonce })
      expect(r.status).toBe(400)
      expect(errorOf(r)).toMatch(/^(this share is not from this keyset|this does not match share \d — probably a typing mistake)/)
      expect((await api.call('GET', 'sys/generate-root/attempt')).json).toMatchObject({ started: true, nonce, progress: 1 })
    }
    await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[1], nonce })
    const done = await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[2], nonce })
    expect(done.json.complete).toBe(true)
  })

  it('answers a status with nothing in progress and a cancel of nothing', async () => {
    expect((await api.call('DELETE', 'sys/generate-root/attempt')).status).toBe(204)
    expect((await api.call('DELETE', 'sys/generate-root/attempt')).status).toBe(204)
    const r = await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce })
    expect(r.status).toBe(400)
    expect(errorOf(r)).toBe('no root generation in progress')
  })
})

describe('Vault semantics independent of the scheme', () => {
  let ks: TestKeyset
  let api: Api
  beforeAll(async () => {
    ks = await makeKeyset(tmp.dir, { scheme: 'vault' })
    api = await startApi(ks.path)
  })
  afterAll(() => api.close())
  beforeEach(() => api.call('DELETE', 'sys/generate-root/attempt'))

  it('enforces the key length bounds, falling back from hex to base64 as Vault does', async () => {
    const { nonce } = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
    const short = await api.call('PUT', 'sys/generate-root/update', { key: Buffer.alloc(15, 1).toString('base64'), nonce })
    expect(errorOf(short)).toBe('key is shorter than minimum 16 bytes')
    const long = await api.call('PUT', 'sys/generate-root/update', { key: Buffer.alloc(34, 1).toString('base64'), nonce })
    expect(errorOf(long)).toBe('key is longer than maximum 33 bytes')
    // 8 hex characters decode to 4 bytes (out of bounds), so Vault reads them as base64: 6 bytes.
    const hexish = await api.call('PUT', 'sys/generate-root/update', { key: 'abcdef12', nonce })
    expect(errorOf(hexish)).toBe('key is shorter than minimum 16 bytes')
    expect((await api.call('GET', 'sys/generate-root/attempt')).json.progress).toBe(0)
  })

  it('checks the length of a client-supplied OTP', async () => {
    const wrong = await api.call('PUT', 'sys/generate-root/attempt', { otp: 'A'.repeat(24) })
    expect(wrong.status).toBe(400)
    expect(errorOf(wrong)).toBe('OTP string is wrong length')
    const right = await api.call('PUT', 'sys/generate-root/attempt', { otp: 'B'.repeat(28) })
    expect(right.status).toBe(200)
    // A client-supplied OTP is the client's: it is not echoed back.
    expect(right.json.otp).toBe('')
  })

  it('explains a bad PGP key with a 400', async () => {
    for (const pgp_key of ['bm90IGEga2V5', 'not base64 at all!', '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n-----END PGP PUBLIC KEY BLOCK-----']) {
      const r = await api.call('PUT', 'sys/generate-root/attempt', { pgp_key })
      expect(r.status).toBe(400)
      expect(errorOf(r)).toMatch(/^error parsing PGP key: /)
    }
    expect((await api.call('GET', 'sys/generate-root/attempt')).json.started).toBe(false)
  })

  it('refuses otp and pgp_key together rather than ignore one', async () => {
    const r = await api.call('PUT', 'sys/generate-root/attempt', { otp: 'B'.repeat(28), pgp_key: 'abc' })
    expect(r.status).toBe(400)
    expect(errorOf(r)).toMatch(/either otp or pgp_key/)
  })

  it('answers malformed requests as Vault does', async () => {
    const bad = await api.call('PUT', 'sys/generate-root/attempt', '{"otp": ')
    expect(bad.status).toBe(400)
    expect(errorOf(bad)).toMatch(/^failed to parse JSON input: /)
    const notObject = await api.call('PUT', 'sys/generate-root/update', '["key"]')
    expect(notObject.status).toBe(400)
    const wrongType = await api.call('PUT', 'sys/generate-root/update', { key: 42, nonce: 'x' })
    expect(wrongType.status).toBe(400)
    expect(errorOf(wrongType)).toMatch(/'key' must be a string/)
    expect((await api.call('GET', 'sys/no-such-path')).status).toBe(404)
    expect((await api.call('GET', 'sys/no-such-path')).json).toEqual({ errors: [] })
    expect((await api.call('PATCH', 'sys/generate-root/attempt', {})).status).toBe(405)
    expect((await api.call('GET', 'sys/generate-root/update')).status).toBe(405)
    const huge = await api.call('PUT', 'sys/generate-root/attempt', { pgp_key: 'A'.repeat(2 * 1024 * 1024) })
    expect(huge.status).toBe(413)
    // Nothing above leaked internals.
    for (const r of [bad, notObject, wrongType, huge]) expect(r.text).not.toMatch(/at .*\.ts:\d+|node:internal/)
  })

  it('serves seal status and health', async () => {
    const seal = await api.call('GET', 'sys/seal-status')
    expect(seal.json).toMatchObject({ type: 'shamir', initialized: true, sealed: false, t: 3, n: 5, progress: 0 })
    const health = await api.call('GET', 'sys/health')
    expect(health.status).toBe(200)
    expect(health.json).toMatchObject({ initialized: true, sealed: false, standby: false })
    // Vault's overrides, as load balancers use them.
    expect((await api.call('GET', 'sys/health?activecode=204')).status).toBe(204)
    expect((await api.call('GET', 'sys/health?activecode=abc')).status).toBe(200)
    expect((await api.call('GET', 'sys/init')).json).toEqual({ initialized: true })
  })

  it('decodes with sys/decode-token', async () => {
    const r = await api.call('PUT', 'sys/decode-token', {
      encoded_token: 'Bxg9JQQqOCNKBRICNwMIRzo2J3cWCBRi',
      otp: '3JhHkONiyiaNYj14nnD9xZQS',
    })
    expect(r.status).toBe(200)
    expect(r.json.data.token).toBe('4RUmoevJ3lsLni9sTXcNnRE1')
  })

  it('refuses token calls without a valid token', async () => {
    expect((await api.call('GET', 'auth/token/lookup-self')).status).toBe(403)
    const wrong = await api.call('GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': 'hvs.' + 'x'.repeat(24) })
    expect(wrong.status).toBe(403)
    expect(errorOf(wrong)).toBe('permission denied')
  })

  it('revokes a token with revoke-self', async () => {
    const other = await makeKeyset(tmp.dir, { scheme: 'vault' })
    const own = await startApi(other.path)
    try {
      const headers = { 'X-Vault-Token': other.rootToken }
      expect((await own.call('GET', 'auth/token/lookup-self', undefined, headers)).status).toBe(200)
      expect((await own.call('POST', 'auth/token/revoke-self', undefined, headers)).status).toBe(204)
      expect((await own.call('GET', 'auth/token/lookup-self', undefined, headers)).status).toBe(403)
    } finally {
      await own.close()
    }
  })
})
