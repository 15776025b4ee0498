import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import vault from 'node-vault'
import * as openpgp from 'openpgp'
import { decodeWithOtp, decodeWithPgp } from '../src-main/decode/decode'
import { readPrivateKey, type PrivateKeyInfo } from '../src-main/crypto/pgp'
import { VERSION } from '../src-main/version'
import { runCli, startServe } from './helpers/cli'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { startApi } from './helpers/server'

/**
 * node-vault 0.12, unchanged, drives every ceremony against Tessera's HTTP API:
 * in process over both share schemes, and against a spawned `tessera serve`.
 * Only node-vault talks to the server here; Tessera's own code only decodes.
 */

type Client = ReturnType<typeof vault>
interface VaultFailure {
  message: string
  response?: { statusCode: number; body: { errors?: string[] } }
}

/** A client that sends exactly the token given (none by default), whatever VAULT_TOKEN says. */
function client(endpoint: string, token?: string): Client {
  const c = vault({ apiVersion: 'v1', endpoint, ...(token ? { token } : {}) })
  c.token = token ?? ''
  return c
}

/** The rejection of a node-vault call, which must fail. */
async function failure(p: Promise<unknown>): Promise<VaultFailure> {
  return p.then(
    (value) => {
      throw new Error(`expected a Vault error, got ${JSON.stringify(value)}`)
    },
    (err: VaultFailure) => err,
  )
}

/** node-vault's error for an HTTP error: status, Vault's first error as message, the body kept. */
function expectVaultError(err: VaultFailure, status: number, text: string | RegExp): void {
  expect(err.response?.statusCode, err.message).toBe(status)
  if (typeof text === 'string') expect(err.message).toContain(text)
  else expect(err.message).toMatch(text)
  expect(err.response?.body.errors?.[0]).toBe(err.message)
}

let tmp: Awaited<ReturnType<typeof tempDir>>
let pgp: { publicB64: string; armoredPublic: string; fingerprint: string; priv: PrivateKeyInfo }
beforeAll(async () => {
  tmp = await tempDir('tessera-node-vault-')
  const { publicKey, privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Root Holder', email: 'root@example.org' }],
    format: 'armored',
  })
  const key = await openpgp.readKey({ armoredKey: publicKey })
  pgp = {
    publicB64: Buffer.from(key.write()).toString('base64'),
    armoredPublic: publicKey,
    fingerprint: key.getFingerprint(),
    priv: await readPrivateKey(privateKey),
  }
})
afterAll(() => tmp.cleanup())

interface Server {
  url: string
  stop: () => Promise<void>
}

const setups = [
  { name: 'the in-process API (vault shares)', scheme: 'vault', spawned: false },
  { name: 'the in-process API (secrets.js shares)', scheme: 'secretsjs', spawned: false },
  { name: 'a spawned tessera serve process', scheme: 'vault', spawned: true },
] as const

describe.each(setups)('node-vault against $name', ({ scheme, spawned }) => {
  let ks: TestKeyset
  let normal: Server
  let url: string

  const start = async (opts: { recovery?: boolean } = {}): Promise<Server> => {
    if (spawned) {
      const s = await startServe(['--keyset', ks.path, ...(opts.recovery ? ['--recovery'] : [])])
      return { url: s.url, stop: () => s.stop() }
    }
    const api = await startApi(ks.path, opts)
    return { url: api.url, stop: () => api.close() }
  }

  beforeAll(async () => {
    ks = await makeKeyset(tmp.dir, { scheme, shares: 5, threshold: 3 })
    normal = await start()
    url = normal.url
  })
  afterAll(() => normal.stop())

  /** Gives shares with generateRootUpdate and returns the last answer. */
  async function feedRoot(c: Client, nonce: string, keys: string[]) {
    let last: any
    for (const [i, key] of keys.entries()) {
      last = await c.generateRootUpdate({ key, nonce })
      expect(last.progress, `after share ${i + 1}`).toBe(i + 1)
    }
    return last
  }

  it('reads health and seal status', async () => {
    const c = client(url)
    expect(await c.health()).toMatchObject({ initialized: true, sealed: false, standby: false, version: VERSION })
    const status = await c.status()
    expect(status).toMatchObject({ type: 'shamir', initialized: true, sealed: false, t: 3, n: 5, progress: 0, nonce: '' })
    expect(await c.read('sys/seal-status')).toEqual(status)
  })

  it('drives a root generation with a server OTP to completion, and the token works', async () => {
    const c = client(url)
    // Cancelling when nothing runs is a harmless 204, as in Vault.
    expect(await c.generateRootCancel()).toBeFalsy()
    expect(await c.read('sys/generate-root/attempt')).toMatchObject({ started: false, progress: 0, required: 3, otp_length: 28 })

    const init = await c.generateRootInit({})
    expect(init).toMatchObject({ started: true, progress: 0, required: 3, complete: false, pgp_fingerprint: '', otp_length: 28 })
    expect(init.otp).toMatch(/^[0-9A-Za-z]{28}$/)
    expect(init.nonce).toMatch(/^[0-9a-f-]{36}$/)
    const status = await c.read('sys/generate-root/attempt')
    expect(status).toMatchObject({ started: true, nonce: init.nonce, progress: 0, otp: '' })

    const first = await c.generateRootUpdate({ key: ks.keys[1], nonce: init.nonce })
    expect(first).toMatchObject({ started: true, nonce: init.nonce, progress: 1, required: 3, complete: false, encoded_token: '' })
    expect((await c.read('sys/generate-root/attempt')).progress).toBe(1)
    await c.generateRootUpdate({ key: ks.keys_base64[3], nonce: init.nonce })
    const done = await c.generateRootUpdate({ key: ks.keys[4], nonce: init.nonce })
    expect(done).toMatchObject({ complete: true, progress: 3, required: 3 })
    expect(done.encoded_root_token).toBe(done.encoded_token)

    const token = decodeWithOtp(done.encoded_token, Buffer.from(init.otp)).value.toString()
    expect(token).toMatch(/^hvs\.[0-9A-Za-z]{24}$/)
    const self = await client(url, token).tokenLookupSelf()
    expect(self.data).toMatchObject({ id: token, policies: ['root'], display_name: 'root', path: 'auth/token/root', ttl: 0, orphan: true })
    expect(self.data.accessor).toMatch(/^[0-9A-Za-z]{24}$/)
    // The attempt is over once the result is out.
    expect((await c.read('sys/generate-root/attempt')).started).toBe(false)
    // The initial root token from init is valid too, and distinct.
    const initial = await client(url, ks.rootToken).tokenLookupSelf()
    expect(initial.data.policies).toEqual(['root'])
    expect(initial.data.accessor).not.toBe(self.data.accessor)
  })

  it('uses an OTP made by `tessera generate-otp` (client-supplied otp)', async () => {
    const c = client(url)
    const otp = (await runCli(['generate-otp'])).stdout.trim()
    const init = await c.generateRootInit({ otp })
    // The server never echoes an OTP it did not make.
    expect(init).toMatchObject({ started: true, otp: '', otp_length: 28 })
    const done = await feedRoot(c, init.nonce, ks.keys.slice(0, 3))
    const token = decodeWithOtp(done.encoded_token, Buffer.from(otp)).value.toString()
    expect((await client(url, token).tokenLookupSelf()).data.id).toBe(token)
  })

  it('drives a root generation encrypted to a PGP key, given as base64 or armored', async () => {
    const c = client(url)
    for (const pgp_key of [pgp.publicB64, pgp.armoredPublic]) {
      const init = await c.generateRootInit({ pgp_key })
      expect(init).toMatchObject({ started: true, otp: '', pgp_fingerprint: pgp.fingerprint })
      const done = await feedRoot(c, init.nonce, [ks.keys[0]!, ks.keys_base64[2]!, ks.keys[4]!])
      expect(done.pgp_fingerprint).toBe(pgp.fingerprint)
      const token = (await decodeWithPgp(done.encoded_token, pgp.priv)).value.toString()
      expect(token).toMatch(/^hvs\./)
      expect((await client(url, token).tokenLookupSelf()).data.policies).toEqual(['root'])
    }
  })

  it('surfaces Vault-style errors as rejected promises with the status and Vault\'s wording', async () => {
    const c = client(url)
    await c.generateRootCancel()
    expectVaultError(await failure(c.generateRootUpdate({ key: ks.keys[0], nonce: 'x' })), 400, 'no root generation in progress')

    const init = await c.generateRootInit({})
    const wrongNonce = await failure(c.generateRootUpdate({ key: ks.keys[0], nonce: 'wrong' }))
    expectVaultError(wrongNonce, 400, `incorrect nonce supplied; nonce for this root generation operation is "${init.nonce}"`)
    expect(wrongNonce).toBeInstanceOf(Error)
    expectVaultError(await failure(c.generateRootInit({})), 400, 'root generation already in progress')

    await c.generateRootUpdate({ key: ks.keys[0], nonce: init.nonce })
    // The same share in its other spelling is the same share.
    expectVaultError(
      await failure(c.generateRootUpdate({ key: ks.keys_base64[0], nonce: init.nonce })),
      400,
      'given key has already been provided during this generation operation',
    )
    expectVaultError(
      await failure(c.generateRootUpdate({ key: 'not a share!', nonce: init.nonce })),
      400,
      scheme === 'vault' ? "'key' must be a valid hex or base64 string" : /'key' must be a valid/,
    )
    if (scheme === 'vault') {
      expectVaultError(await failure(c.generateRootUpdate({ key: 'abcd', nonce: init.nonce })), 400, 'key is shorter than minimum 16 bytes')
    }
    expect((await c.read('sys/generate-root/attempt')).progress).toBe(1)

    // A sibling flow's update path refuses a root attempt, as Vault's strategies do.
    const wrongFlow = await failure(c.write('sys/generate-share/update', { key: ks.keys[1], nonce: init.nonce }))
    expectVaultError(wrongFlow, 400, 'incorrect strategy supplied')

    await c.generateRootCancel()
    expect((await c.read('sys/generate-root/attempt')).started).toBe(false)

    expectVaultError(await failure(c.generateRootInit({ otp: 'tooShort' })), 400, 'OTP string is wrong length')
    expectVaultError(await failure(c.generateRootInit({ otp: 'x'.repeat(28), pgp_key: pgp.publicB64 })), 400, 'give either otp or pgp_key')
    expectVaultError(await failure(c.generateRootInit({ pgp_key: 'bm90IGEga2V5' })), 400, 'error parsing PGP key')
    expect((await c.read('sys/generate-root/attempt')).started).toBe(false)

    expectVaultError(await failure(client(url, 'hvs.' + 'N'.repeat(24)).tokenLookupSelf()), 403, 'permission denied')
    expectVaultError(await failure(client(url).tokenLookupSelf()), 403, 'permission denied')
    // A path Tessera does not serve is Vault's bare 404.
    const unknown = await failure(c.read('sys/mounts'))
    expect(unknown.response?.statusCode).toBe(404)
    expect(unknown.message).toBe('Status 404')
  })

  it('refuses a share from another keyset as it is entered, keeps the progress, then completes', async () => {
    const foreign = await makeKeyset(tmp.dir, { scheme, shares: 3, threshold: 3 })
    const c = client(url)
    await c.generateRootCancel()
    const init = await c.generateRootInit({})
    await c.generateRootUpdate({ key: ks.keys[0], nonce: init.nonce })
    await c.generateRootUpdate({ key: ks.keys[1], nonce: init.nonce })
    const err = await failure(c.generateRootUpdate({ key: foreign.keys[2], nonce: init.nonce }))
    expectVaultError(err, 400, /^(this share is not from this keyset|this does not match share \d — probably a typing mistake)/)
    expect(await c.read('sys/generate-root/attempt')).toMatchObject({ started: true, nonce: init.nonce, progress: 2 })
    const done = await c.generateRootUpdate({ key: ks.keys[2], nonce: init.nonce })
    expect(done).toMatchObject({ complete: true, progress: 3 })
    expect(decodeWithOtp(done.encoded_token, Buffer.from(init.otp)).value.toString()).toMatch(/^hvs\./)
  })

  it('revokes a generated token with tokenRevokeSelf', async () => {
    const c = client(url)
    const init = await c.generateRootInit({})
    const done = await feedRoot(c, init.nonce, ks.keys.slice(0, 3))
    const token = decodeWithOtp(done.encoded_token, Buffer.from(init.otp)).value.toString()
    const authed = client(url, token)
    expect((await authed.tokenLookupSelf()).data.id).toBe(token)
    await authed.tokenRevokeSelf()
    expectVaultError(await failure(authed.tokenLookupSelf()), 403, 'permission denied')
  })

  it('generates a new share through the generic write/read/delete calls, and the share works', async () => {
    const c = client(url)
    const init = await c.write('sys/generate-share/attempt', {})
    expect(init).toMatchObject({ started: true, progress: 0, required: 3, key: '', key_base64: '', otp: '', otp_length: 0 })
    expect(await c.read('sys/generate-share/attempt')).toMatchObject({ started: true, nonce: init.nonce, otp: '' })
    let done: any
    // The document's update carries only the key.
    for (const key of [ks.keys[0], ks.keys[2], ks.keys[3]]) done = await c.write('sys/generate-share/update', { key })
    expect(done.complete).toBe(true)
    const fresh = done.key as string
    expect(ks.keys).not.toContain(fresh)

    // Cancelling an attempt with delete, as the Vault CLI does.
    await c.write('sys/generate-share/attempt', {})
    await c.delete('sys/generate-share/attempt')
    expect((await c.read('sys/generate-share/attempt')).started).toBe(false)

    // The new share stands in for an original one.
    const root = await c.generateRootInit({})
    const result = await feedRoot(c, root.nonce, [fresh, ks.keys[1]!, ks.keys[4]!])
    expect(decodeWithOtp(result.encoded_token, Buffer.from(root.otp)).value.toString()).toMatch(/^hvs\./)
  })

  it('generates a recovery token in recovery mode; the server unseals and the token looks itself up', async () => {
    const recovery = await start({ recovery: true })
    try {
      const c = client(recovery.url)
      // node-vault resolves sys/health whatever its status (503 when sealed).
      expect(await c.health()).toMatchObject({ initialized: true, sealed: true })
      // n counts the shares out: the five made with the keyset and the one the share flow issued above.
      expect(await c.status()).toMatchObject({ sealed: true, t: 3, n: 6 })
      expectVaultError(await failure(c.generateRootInit({})), 404, 'not available while the engine runs in recovery mode')

      const init = await c.write('sys/generate-recovery-token/attempt', {})
      expect(init.otp).toMatch(/^[0-9A-Za-z]{28}$/)
      const wrong = await failure(c.write('sys/generate-recovery-token/update', { key: ks.keys[0], nonce: 'nope' }))
      expectVaultError(wrong, 400, 'incorrect nonce supplied')
      let done: any
      for (const key of [ks.keys[4], ks.keys_base64[3], ks.keys[0]]) {
        done = await c.write('sys/generate-recovery-token/update', { key, nonce: init.nonce })
      }
      expect(done.complete).toBe(true)
      const token = decodeWithOtp(done.encoded_token, Buffer.from(init.otp)).value.toString()
      expect(token).toMatch(/^hvr\.[0-9A-Za-z]{24}$/)
      expect((await c.status()).sealed).toBe(false)
      const self = await client(recovery.url, token).tokenLookupSelf()
      expect(self.data).toMatchObject({ id: token, type: 'recovery', policies: ['root'] })

      const again = await failure(c.write('sys/generate-recovery-token/attempt', {}))
      expectVaultError(again, 400, 'attempt to generate recovery operation token when already unsealed')
    } finally {
      await recovery.stop()
    }
  })
})
