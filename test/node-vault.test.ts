import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import vault from 'node-vault'
import { decodeWithOtp } from '../src-main/decode/decode'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { startApi } from './helpers/server'
import { startServe } from './helpers/cli'

// A real Vault client, unchanged, against Tessera's API: in-process and as the
// `tessera serve` process an operator would run.
let tmp: Awaited<ReturnType<typeof tempDir>>
let ks: TestKeyset
beforeAll(async () => {
  tmp = await tempDir()
  ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
})
afterAll(() => tmp.cleanup())

const servers = {
  'the in-process API': async () => {
    const api = await startApi(ks.path)
    return { url: api.url, stop: () => api.close() }
  },
  'a tessera serve process': async () => {
    const s = await startServe(['--keyset', ks.path])
    return { url: s.url, stop: () => s.stop() }
  },
}

describe.each(Object.entries(servers))('node-vault against %s', (_name, start) => {
  let server: { url: string; stop: () => Promise<void> }
  beforeAll(async () => {
    server = await start()
  })
  afterAll(() => server.stop())

  it('drives a root generation to completion', async () => {
    const client = vault({ apiVersion: 'v1', endpoint: server.url })
    const health = await client.health()
    expect(health).toMatchObject({ initialized: true, sealed: false })
    expect(await client.status()).toMatchObject({ t: 2, n: 3, sealed: false })

    await client.generateRootCancel()
    const init = await client.generateRootInit({})
    expect(init).toMatchObject({ started: true, progress: 0, required: 2 })
    expect(init.otp).toHaveLength(init.otp_length)
    const status = await client.read('sys/generate-root/attempt')
    expect(status).toMatchObject({ started: true, nonce: init.nonce, otp: '' })

    const first = await client.generateRootUpdate({ key: ks.keys[0], nonce: init.nonce })
    expect(first).toMatchObject({ progress: 1, complete: false })
    const done = await client.generateRootUpdate({ key: ks.keys_base64[2], nonce: init.nonce })
    expect(done.complete).toBe(true)

    const token = decodeWithOtp(done.encoded_token, init.otp).value.toString()
    const authed = vault({ apiVersion: 'v1', endpoint: server.url, token })
    const self = await authed.tokenLookupSelf()
    expect(self.data.policies).toEqual(['root'])
    expect(self.data.id).toBe(token)
  })

  it('surfaces Vault-style errors', async () => {
    const client = vault({ apiVersion: 'v1', endpoint: server.url })
    await client.generateRootCancel()
    const init = await client.generateRootInit({})
    const err = await client.generateRootUpdate({ key: ks.keys[0], nonce: 'wrong' }).then(
      () => undefined,
      (e: { response?: { statusCode: number }; message: string }) => e,
    )
    expect(err?.response?.statusCode).toBe(400)
    expect(err?.message).toContain(`incorrect nonce supplied; nonce for this root generation operation is "${init.nonce}"`)
    const again = await client.generateRootInit({}).then(() => undefined, (e: { message: string }) => e)
    expect(again?.message).toContain('root generation already in progress')
    await client.generateRootCancel()
    expect((await client.read('sys/generate-root/attempt')).started).toBe(false)
  })
})
