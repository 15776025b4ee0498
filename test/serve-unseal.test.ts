import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import vault from 'node-vault'
import { downgradeToV1, makeKeyset, mistypeAt, SCHEMES, tempDir, type TestKeyset } from './helpers/keysets'
import { startApi, type Api } from './helpers/server'
import { hvac, hvacOk } from './helpers/hvac'

/**
 * `tessera serve --sealed`: sys/unseal, sys/seal and what a sealed server
 * answers, over real loopback HTTP with Vault's field names and error texts.
 */

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir('tessera-unseal-')
})
afterAll(() => tmp.cleanup())

const SEALED = { errors: ['Vault is sealed'] }
/**
 * 15 bytes as base64, whose 20 characters also read as hex (10 bytes): Vault
 * tries hex, finds the length out of bounds, then reads base64 and refuses the length.
 */
const B64_15 = Buffer.alloc(15).toString('base64')

async function withApi(ks: TestKeyset, opts: Parameters<typeof startApi>[1], run: (api: Api) => Promise<void>): Promise<void> {
  const api = await startApi(ks.path, opts)
  try {
    await run(api)
  } finally {
    await api.close()
  }
}

const unseal = (api: Api, body: unknown) => api.call('PUT', 'sys/unseal', body)
const status = async (api: Api) => (await api.call('GET', 'sys/seal-status')).json

describe.each(SCHEMES)('a sealed server over a %s keyset', (scheme) => {
  let ks: TestKeyset
  let other: TestKeyset
  beforeAll(async () => {
    ks = await makeKeyset(tmp.dir, { scheme, shares: 5, threshold: 3, holders: ['Alice', 'Bob', 'Carol', 'Dave', 'Erin'] })
    other = await makeKeyset(tmp.dir, { scheme, shares: 5, threshold: 3 })
  })

  it('answers 503 "Vault is sealed" on every other path, before any token check', async () => {
    await withApi(ks, { sealed: true, requireToken: true }, async (api) => {
      for (const [method, path] of [
        ['GET', 'sys/generate-root/attempt'],
        ['PUT', 'sys/generate-root/attempt'],
        ['PUT', 'sys/generate-share/update'],
        ['PUT', 'sys/generate-root-token/attempt'],
        ['PUT', 'sys/decode-token'],
        ['DELETE', 'sys/generate-root/attempt'],
        ['GET', 'sys/no-such-path'],
      ] as const) {
        const r = await api.call(method, path, undefined, { 'X-Vault-Token': 'hvs.not-a-token' })
        expect([path, r.status, r.json]).toEqual([path, 503, SEALED])
      }
      // The root token itself is not looked at either.
      const lookup = await api.call('GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': ks.rootToken })
      expect([lookup.status, lookup.json]).toEqual([503, SEALED])
      expect(await api.call('GET', 'sys/init')).toMatchObject({ status: 200, json: { initialized: true } })
      // Only Vault's API is sealed: a path outside /v1/ stays a 404.
      expect((await fetch(`${api.url}/ui/`)).status).toBe(404)
      expect((await api.call('GET', 'sys/health')).status).toBe(503)
      expect((await api.call('GET', 'sys/health?sealedcode=299')).status).toBe(299)
      expect(await status(api)).toMatchObject({ type: 'shamir', initialized: true, sealed: true, t: 3, n: 5, progress: 0, nonce: '' })
    })
  })

  it('unseals at the threshold, answering seal status with progress and nonce', async () => {
    await withApi(ks, { sealed: true }, async (api) => {
      const first = await unseal(api, { key: ks.keys[0] })
      expect(first.status).toBe(200)
      expect(first.json).toMatchObject({ sealed: true, t: 3, n: 5, progress: 1 })
      expect(first.json.nonce).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      const second = (await unseal(api, { key: ks.keys_base64[3] })).json
      expect(second).toMatchObject({ sealed: true, progress: 2, nonce: first.json.nonce })
      expect(await status(api)).toMatchObject({ sealed: true, progress: 2, nonce: first.json.nonce })
      const done = (await unseal(api, { Key: ks.keys[4] })).json
      expect(done).toMatchObject({ sealed: false, t: 3, n: 5, progress: 0, nonce: '' })
      expect(api.engine.sealed).toBe(false)
      expect((await api.call('GET', 'sys/health')).status).toBe(200)
      const attempt = await api.call('PUT', 'sys/generate-root/attempt', {})
      expect(attempt.status).toBe(200)
      // Unsealed: any key is a no-op, its length not even checked.
      expect(await unseal(api, { key: ks.keys[1] })).toMatchObject({ status: 200, json: { sealed: false, progress: 0 } })
      if (scheme === 'vault') expect(await unseal(api, { key: B64_15 })).toMatchObject({ status: 200, json: { sealed: false } })
      expect(await unseal(api, { reset: true })).toMatchObject({ status: 400, json: { errors: ['vault is unsealed'] } })
    })
  })

  it('checks every share as entered: a refused share never counts, a share given twice is ignored', async () => {
    await withApi(ks, { sealed: true }, async (api) => {
      const first = (await unseal(api, { key: ks.keys[0] })).json
      // The same share in its other spelling: Vault ignores it silently.
      const twice = await unseal(api, { key: ks.keys_base64[0] })
      expect([twice.status, twice.json.progress, twice.json.nonce]).toEqual([200, 1, first.nonce])
      const foreign = await unseal(api, { key: other.keys[1] })
      expect(foreign.status).toBe(400)
      expect(foreign.json.errors[0]).toMatch(/share/)
      const mistyped = await unseal(api, { key: mistypeAt(ks.keys[2]!, 6) })
      expect(mistyped.status).toBe(400)
      expect(mistyped.json.errors[0]).not.toContain(ks.keys[2]!.slice(4, 20))
      expect(await status(api)).toMatchObject({ sealed: true, progress: 1, nonce: first.nonce })
      await unseal(api, { key: ks.keys[1] })
      const done = (await unseal(api, { key: ks.keys[2] })).json
      expect(done.sealed).toBe(false)
    })
  })

  it('takes shares sent all at once one at a time: the threshold is crossed once', async () => {
    await withApi(ks, { sealed: true }, async (api) => {
      const replies = await Promise.all([0, 1, 2, 3, 4, 0, 1].map((i) => unseal(api, { key: ks.keys[i] })))
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 200])
      // Whatever the arrival order: never past the threshold, and every share after the unseal a no-op.
      expect(Math.max(...replies.map((r) => r.json.progress))).toBeLessThanOrEqual(2)
      expect(replies.filter((r) => !r.json.sealed).length).toBeGreaterThanOrEqual(3)
      expect(await status(api)).toMatchObject({ sealed: false, progress: 0, nonce: '' })
    })
  })

  it('refuses bad input in Vault order and words, progress kept', async () => {
    await withApi(ks, { sealed: true }, async (api) => {
      await unseal(api, { key: ks.keys[0] })
      const cases: Array<[unknown, number, string]> = [
        [{}, 400, "'key' must be specified in request body as JSON, or 'reset' set to true"],
        [{ key: '' }, 400, "'key' must be specified in request body as JSON, or 'reset' set to true"],
        [{ key: 12 }, 400, "failed to parse JSON input: 'key' must be a string"],
        [{ key: ks.keys[1], migrate: true }, 500, "can't perform a seal migration, no migration seal found"],
        [{ reset: 'yes' }, 400, "failed to parse JSON input: 'reset' must be true or false"],
        [{ key: 'not a key!' }, 400, scheme === 'vault' ? "'key' must be a valid hex or base64 string" : "'key' must be a valid secrets.js share or its base64"],
      ]
      if (scheme === 'vault') {
        cases.push(
          [{ key: '00'.repeat(15) }, 400, "'key' must be a valid hex or base64 string"],
          [{ key: B64_15 }, 400, 'invalid key: key is shorter than minimum 16 bytes'],
          [{ key: Buffer.alloc(34, 1).toString('base64') }, 400, 'invalid key: key is longer than maximum 33 bytes'],
        )
      }
      for (const [body, code, text] of cases) {
        const r = await unseal(api, body)
        expect([JSON.stringify(body), r.status, r.json]).toEqual([JSON.stringify(body), code, { errors: [text] }])
      }
      // A key of a length Vault accepts but not this keyset's: refused as entered.
      const short = await unseal(api, { key: ks.keys[1]!.slice(0, -4) })
      expect(short.status).toBe(400)
      expect((await status(api)).progress).toBe(1)
      // Reset wins over a key, drops the shares and the nonce.
      const reset = await unseal(api, { key: ks.keys[1], reset: true })
      expect(reset).toMatchObject({ status: 200, json: { sealed: true, progress: 0, nonce: '' } })
      expect(api.logs.join('\n')).not.toContain(ks.keys[1]!)
    })
  })

  it('seals again only with a root token; an attempt under way survives, as in Vault', async () => {
    await withApi(ks, {}, async (api) => {
      expect(api.engine.sealed).toBe(false)
      const started = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
      await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce: started.nonce })
      for (const headers of [{}, { 'X-Vault-Token': 'hvs.wrong0000000000000000000' }] as Array<Record<string, string>>) {
        const r = await api.call('PUT', 'sys/seal', undefined, headers)
        expect([r.status, r.json]).toEqual([403, { errors: ['permission denied'] }])
      }
      expect(api.engine.sealed).toBe(false)
      const sealed = await api.call('PUT', 'sys/seal', undefined, { 'X-Vault-Token': ks.rootToken })
      expect([sealed.status, sealed.text]).toEqual([204, ''])
      expect(await status(api)).toMatchObject({ sealed: true, progress: 0 })
      expect((await api.call('GET', 'sys/generate-root/attempt')).status).toBe(503)
      // Sealing a sealed server is a no-op that needs no token.
      expect((await api.call('POST', 'sys/seal')).status).toBe(204)
      for (const i of [1, 2, 3]) await unseal(api, { key: ks.keys[i] })
      expect((await status(api)).sealed).toBe(false)
      expect((await api.call('GET', 'sys/generate-root/attempt')).json).toMatchObject({ started: true, nonce: started.nonce, progress: 1 })
    })
  })

  it('starts unsealed by default, as it always has', async () => {
    await withApi(ks, {}, async (api) => {
      expect(await status(api)).toMatchObject({ sealed: false, progress: 0, nonce: '' })
      expect((await api.call('GET', 'sys/generate-root/attempt')).status).toBe(200)
    })
  })
})

describe('a format-1 keyset, which cannot check shares as entered', () => {
  it('finds shares that do not open it at the threshold, and starts over', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const other = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    await downgradeToV1(ks.path)
    // Vault's share numbers (x coordinates) are random: a foreign share of another number.
    const number = (hex: string) => hex.slice(-2)
    const foreign = other.keys.find((k) => number(k) !== number(ks.keys[0]!))!
    await withApi(ks, { sealed: true }, async (api) => {
      expect((await unseal(api, { key: ks.keys[0] })).json.progress).toBe(1)
      const wrong = await unseal(api, { key: foreign })
      expect(wrong.status).toBe(400)
      expect(wrong.json.errors[0]).toMatch(/^unseal failed, invalid key: the shares given do not reconstruct this keyset's root key/)
      expect(await status(api)).toMatchObject({ sealed: true, progress: 0, nonce: '' })
      await unseal(api, { key: ks.keys[2] })
      expect((await unseal(api, { key: ks.keys[0] })).json.sealed).toBe(false)
    })
  })

  it('names a foreign share of the same number as a duplicate part, and starts over', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    await downgradeToV1(ks.path)
    // Another share of the same number: the y bytes changed, the x byte kept.
    const twin = `${ks.keys[0]!.slice(0, 2) === 'ff' ? '00' : 'ff'}${ks.keys[0]!.slice(2)}`
    await withApi(ks, { sealed: true }, async (api) => {
      expect((await unseal(api, { key: ks.keys[0] })).json.progress).toBe(1)
      const wrong = await unseal(api, { key: twin })
      expect([wrong.status, wrong.json.errors]).toEqual([
        400,
        ['invalid key: failed to compute root key: duplicate part detected (two of the shares given have the same share number: one of them is foreign or mistyped)'],
      ])
      expect(await status(api)).toMatchObject({ sealed: true, progress: 0, nonce: '' })
    })
  })
})

describe('a threshold-1 keyset', () => {
  it('unseals with its one key, and refuses any other', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 1, threshold: 1 })
    const other = await makeKeyset(tmp.dir, { shares: 1, threshold: 1 })
    await withApi(ks, { sealed: true }, async (api) => {
      expect((await unseal(api, { key: other.keys[0] })).status).toBe(400)
      expect(await status(api)).toMatchObject({ sealed: true, progress: 0, nonce: '' })
      expect((await unseal(api, { key: ks.keys_base64[0] })).json).toMatchObject({ sealed: false, t: 1, n: 1, progress: 0 })
    })
  })
})

describe('recovery mode keeps its own rules', () => {
  it('serves the recovery flow while sealed and has no sys/unseal', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    await withApi(ks, { recovery: true }, async (api) => {
      expect((await api.call('GET', 'sys/generate-recovery-token/attempt')).status).toBe(200)
      expect((await unseal(api, { key: ks.keys[0] })).status).toBe(404)
    })
  })
})

describe('unchanged clients', () => {
  let ks: TestKeyset
  beforeAll(async () => {
    ks = await makeKeyset(tmp.dir, { shares: 5, threshold: 3 })
  })

  it('hvac: submit_unseal_key(s), read_seal_status, is_sealed, seal', async () => {
    await withApi(ks, { sealed: true }, async (api) => {
      const one = await hvacOk(api.url, 'def run(c, a):\n    return c.sys.submit_unseal_key(a["key"])', { key: ks.keys[0] })
      expect(one).toMatchObject({ sealed: true, progress: 1, t: 3, n: 5 })
      const reset = await hvacOk(api.url, 'def run(c, a):\n    return c.sys.submit_unseal_key(reset=True)')
      expect(reset).toMatchObject({ sealed: true, progress: 0, nonce: '' })
      const refused = await hvac(api.url, 'def run(c, a):\n    return c.sys.submit_unseal_key(a["key"])', { key: B64_15 })
      expect(refused).toEqual({ exception: 'InvalidRequest', errors: ['invalid key: key is shorter than minimum 16 bytes'] })
      const sealedCall = await hvac(api.url, 'def run(c, a):\n    return c.sys.read_root_generation_progress()')
      expect(sealedCall).toEqual({ exception: 'VaultDown', errors: ['Vault is sealed'] })
      const done = await hvacOk(api.url, 'def run(c, a):\n    return c.sys.submit_unseal_keys(a["keys"])', { keys: ks.keys_base64.slice(1) })
      // hvac stops once the server says it is unsealed: after the third share.
      expect(done).toMatchObject({ sealed: false, progress: 0 })
      expect(await hvacOk(api.url, 'def run(c, a):\n    return c.sys.is_sealed()')).toBe(false)
      expect(await hvacOk(api.url, 'def run(c, a):\n    return c.sys.read_seal_status()')).toMatchObject({ type: 'shamir', initialized: true, sealed: false })
      const denied = await hvac(api.url, 'def run(c, a):\n    return c.sys.seal().status_code', {}, 'hvs.wrong0000000000000000000')
      expect(denied).toEqual({ exception: 'Forbidden', errors: ['permission denied'] })
      expect(await hvacOk(api.url, 'def run(c, a):\n    return c.sys.seal().status_code', {}, ks.rootToken)).toBe(204)
      expect(await hvacOk(api.url, 'def run(c, a):\n    return c.sys.is_sealed()')).toBe(true)
    })
  })

  it('node-vault: unseal, status, seal', async () => {
    await withApi(ks, { sealed: true }, async (api) => {
      const c = vault({ apiVersion: 'v1', endpoint: api.url })
      c.token = ''
      expect(await c.status()).toMatchObject({ sealed: true, t: 3, n: 5, progress: 0 })
      expect(await c.unseal({ key: ks.keys[0] })).toMatchObject({ sealed: true, progress: 1 })
      const refused = await c.unseal({ key: 'zz' }).then(() => null, (err: { message: string; response: { statusCode: number } }) => err)
      expect([refused?.response.statusCode, refused?.message]).toEqual([400, "'key' must be a valid hex or base64 string"])
      await c.unseal({ key: ks.keys[1] })
      expect(await c.unseal({ key: ks.keys[2] })).toMatchObject({ sealed: false })
      const denied = await c.seal().then(() => null, (err: { message: string; response: { statusCode: number } }) => err)
      expect([denied?.response.statusCode, denied?.message]).toEqual([403, 'permission denied'])
      c.token = ks.rootToken
      expect(await c.seal()).toBeFalsy()
      expect(await c.status()).toMatchObject({ sealed: true })
    })
  })
})
