import { access, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import vault from 'node-vault'
import * as openpgp from 'openpgp'
import { decryptWith, readPrivateKey, type PrivateKeyInfo } from '../src-main/crypto/pgp'
import { Keyset } from '../src-main/engine/keyset'
import { MAX_BODY_BYTES } from '../src-main/server/http-api'
import { runCli, startServe } from './helpers/cli'
import { hvac, hvacOk } from './helpers/hvac'
import { makeKeyset, tempDir } from './helpers/keysets'
import { callApi } from './helpers/server'
import { startUninitializedApi } from './helpers/server'

/**
 * `tessera serve --uninitialized`: a Vault before init, PUT sys/init through
 * the one init function, sealed after, over real loopback HTTP.
 */

let tmp: Awaited<ReturnType<typeof tempDir>>
let n = 0
const freshPath = () => join(tmp.dir, `keyset-${++n}.json`)

interface Holder {
  publicB64: string
  priv: PrivateKeyInfo
}
let holders: Holder[]
let signOnlyB64: string

async function holderKey(name: string): Promise<Holder> {
  const { publicKey, privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name }], format: 'armored' })
  const key = await openpgp.readKey({ armoredKey: publicKey })
  return { publicB64: Buffer.from(key.write()).toString('base64'), priv: await readPrivateKey(privateKey) }
}

beforeAll(async () => {
  tmp = await tempDir('tessera-serve-init-')
  holders = await Promise.all(['Alice', 'Bob', 'Carol'].map(holderKey))
  const signOnly = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'Signer' }], subkeys: [], format: 'object' })
  signOnlyB64 = Buffer.from(signOnly.publicKey.write()).toString('base64')
})
afterAll(() => tmp.cleanup())

async function withUninitialized(run: (api: Awaited<ReturnType<typeof startUninitializedApi>>, path: string) => Promise<void>): Promise<void> {
  const path = freshPath()
  const api = await startUninitializedApi(path)
  try {
    await run(api, path)
  } finally {
    await api.close()
  }
}

const exists = (path: string) => access(path).then(() => true, () => false)

describe('before init', () => {
  it('answers as a Vault before init: sys/init, seal status, health, unseal, and 503 elsewhere', async () => {
    await withUninitialized(async (api, path) => {
      expect(await api.call('GET', 'sys/init')).toMatchObject({ status: 200, json: { initialized: false } })
      expect((await api.call('GET', 'sys/seal-status')).json).toMatchObject({
        type: 'shamir', initialized: false, sealed: true, t: 0, n: 0, progress: 0, nonce: '',
      })
      const health = await api.call('GET', 'sys/health')
      expect([health.status, health.json.initialized, health.json.sealed]).toEqual([501, false, true])
      expect((await api.call('GET', 'sys/health?uninitcode=200')).status).toBe(200)
      for (const [body, status, text] of [
        [{ key: 'c'.repeat(66) }, 400, 'Vault is not initialized'],
        [{ key: 'not hex!' }, 400, "'key' must be a valid hex or base64 string"],
        [{}, 400, "'key' must be specified in request body as JSON, or 'reset' set to true"],
      ] as const) {
        expect(await api.call('PUT', 'sys/unseal', body)).toMatchObject({ status, json: { errors: [text] } })
      }
      expect(await api.call('PUT', 'sys/unseal', { reset: true })).toMatchObject({ status: 200, json: { initialized: false, sealed: true } })
      expect((await api.call('PUT', 'sys/seal')).status).toBe(204)
      for (const path of ['sys/generate-root/attempt', 'auth/token/lookup-self']) {
        expect(await api.call('GET', path)).toMatchObject({ status: 503, json: { errors: ['Vault is sealed'] } })
      }
      // Vault's rekey status says there is nothing to rekey yet; a rekey call finds the server sealed.
      for (const path of ['sys/rekey/init', 'sys/rekey/verify']) {
        expect(await api.call('GET', path)).toMatchObject({ status: 400, json: { errors: ['server is not yet initialized'] } })
      }
      expect(await api.call('PUT', 'sys/rekey/init', { secret_shares: 3, secret_threshold: 2 })).toMatchObject({ status: 503, json: { errors: ['Vault is sealed'] } })
      expect(await exists(path)).toBe(false)
    })
  })

  it('refuses bad parameters in Vault order and words, and creates nothing', async () => {
    await withUninitialized(async (api, path) => {
      const cases: Array<[unknown, string]> = [
        [{ secret_shares: '3', secret_threshold: 2 }, "failed to parse JSON input: 'secret_shares' must be an integer"],
        [{ secret_shares: 2.5, secret_threshold: 2 }, "failed to parse JSON input: 'secret_shares' must be an integer"],
        [{ secret_shares: 3, secret_threshold: 2, pgp_keys: 'k' }, "failed to parse JSON input: 'pgp_keys' must be a list of strings"],
        [{ secret_shares: 3, secret_threshold: 2, recovery_shares: 1, recovery_pgp_keys: ['x'] }, 'parameters recovery_shares,recovery_pgp_keys not applicable to seal type shamir'],
        [{ secret_shares: 0, secret_threshold: 1, recovery_threshold: 2 }, 'parameters recovery_threshold not applicable to seal type shamir'],
        [{}, 'invalid seal configuration: shares must be at least one'],
        [{ secret_shares: 3 }, 'invalid seal configuration: threshold must be at least one'],
        [{ secret_shares: 3, secret_threshold: 1 }, 'invalid seal configuration: threshold must be greater than one for multiple shares'],
        [{ secret_shares: 256, secret_threshold: 2 }, 'invalid seal configuration: shares must be less than 256'],
        [{ secret_shares: 3, secret_threshold: 4 }, 'invalid seal configuration: threshold cannot be larger than shares'],
        [{ secret_shares: 3, secret_threshold: 2, pgp_keys: [holders[0]!.publicB64] }, 'invalid seal configuration: count mismatch between number of provided PGP keys and number of shares'],
      ]
      for (const [body, text] of cases) {
        const r = await api.call('PUT', 'sys/init', body)
        expect([JSON.stringify(body), r.status, r.json]).toEqual([JSON.stringify(body), 400, { errors: [text] }])
      }
      const garbage = await api.call('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1, pgp_keys: ['bm90IGEga2V5'] })
      expect(garbage.status).toBe(400)
      expect(garbage.json.errors[0]).toMatch(/^invalid seal configuration: error parsing given PGP key: /)
      const signOnly = await api.call('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1, pgp_keys: [signOnlyB64] })
      expect(signOnly.status).toBe(400)
      expect(signOnly.json.errors[0]).toMatch(/^invalid seal configuration: error parsing given PGP key: key [0-9a-f]{40} cannot encrypt/)
      const rootKey = await api.call('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1, root_token_pgp_key: signOnlyB64 })
      expect(rootKey.status).toBe(400)
      expect(rootKey.json.errors[0]).toMatch(/^error parsing given PGP key: key [0-9a-f]{40} cannot encrypt/)
      const holdersWrong = await api.call('PUT', 'sys/init', { secret_shares: 3, secret_threshold: 2, tessera_holders: ['Alice', 'Bob'] })
      expect(holdersWrong.status).toBe(400)
      expect(holdersWrong.json.errors[0]).toMatch(/holder/)
      expect(await exists(path)).toBe(false)
      expect((await api.call('GET', 'sys/init')).json).toEqual({ initialized: false })
    })
  })

  it('takes a body of the largest size allowed, and refuses one byte more before reading it as an init', async () => {
    await withUninitialized(async (api, path) => {
      const sized = (bytes: number) => {
        const head = '{"secret_shares":1,"secret_threshold":1,"root_token_pgp_key":null,"pad":"'
        return `${head}${'x'.repeat(bytes - head.length - 2)}"}`
      }
      const over = await api.call('PUT', 'sys/init', sized(MAX_BODY_BYTES + 1))
      expect([over.status, over.json]).toEqual([413, { errors: ['http: request body too large'] }])
      expect(await exists(path)).toBe(false)
      const largest = sized(MAX_BODY_BYTES)
      expect(Buffer.byteLength(largest)).toBe(MAX_BODY_BYTES)
      const ok = await api.call('PUT', 'sys/init', largest)
      expect(ok.status).toBe(200)
      expect(ok.json.keys).toHaveLength(1)
    })
  })
})

describe('PUT sys/init', () => {
  it('creates the keyset before the reply, with its holders, sealed after, as Vault after init', async () => {
    await withUninitialized(async (api, path) => {
      const r = await api.call('PUT', 'sys/init', { secret_shares: 3, secret_threshold: 2, stored_shares: 3, tessera_holders: ['Alice', 'Bob', 'Carol'] })
      // The file is there the moment the reply is.
      const onDisk = await Keyset.open(path)
      expect(r.status).toBe(200)
      expect(Object.keys(r.json)).toEqual(['keys', 'keys_base64', 'root_token'])
      expect(r.json.keys).toHaveLength(3)
      expect(r.json.keys[0]).toMatch(/^[0-9a-f]{66}$/)
      expect(Buffer.from(r.json.keys_base64[1], 'base64').toString('hex')).toBe(r.json.keys[1])
      expect(r.json.root_token).toMatch(/^hvs\.[0-9A-Za-z]{24}$/)
      expect(onDisk.listShares()).toEqual([
        { number: 1, holder: 'Alice' },
        { number: 2, holder: 'Bob' },
        { number: 3, holder: 'Carol' },
      ])
      expect(onDisk.findToken(r.json.root_token)).toBeDefined()

      expect((await api.call('GET', 'sys/init')).json).toEqual({ initialized: true })
      expect((await api.call('GET', 'sys/seal-status')).json).toMatchObject({ initialized: true, sealed: true, t: 2, n: 3, progress: 0 })
      expect((await api.call('GET', 'sys/generate-root/attempt')).status).toBe(503)
      // A second init: the body is checked first, then the refusal.
      expect(await api.call('PUT', 'sys/init', { secret_shares: 0 })).toMatchObject({ status: 400, json: { errors: ['invalid seal configuration: shares must be at least one'] } })
      expect(await api.call('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 })).toMatchObject({ status: 400, json: { errors: ['Vault is already initialized'] } })

      // Each share checked as entered names its holder's share; a wrong holder's key order does not matter.
      const first = await api.call('PUT', 'sys/unseal', { key: r.json.keys[2] })
      expect(first.json).toMatchObject({ sealed: true, progress: 1 })
      expect((await api.call('PUT', 'sys/unseal', { key: r.json.keys_base64[0] })).json).toMatchObject({ sealed: false })
      const token = { 'X-Vault-Token': r.json.root_token }
      expect((await api.call('GET', 'auth/token/lookup-self', undefined, token)).status).toBe(200)
      expect((await api.call('PUT', 'sys/seal', undefined, token)).status).toBe(204)
    })
  })

  it('lets exactly one of several inits sent together create the keyset', async () => {
    await withUninitialized(async (api, path) => {
      const replies = await Promise.all(Array.from({ length: 6 }, () => api.call('PUT', 'sys/init', { secret_shares: 3, secret_threshold: 2 })))
      const won = replies.filter((r) => r.status === 200)
      expect(won).toHaveLength(1)
      for (const r of replies.filter((x) => x.status !== 200)) expect([r.status, r.json]).toEqual([400, { errors: ['Vault is already initialized'] }])
      const keyset = await Keyset.open(path)
      expect(keyset.findToken(won[0]!.json.root_token)).toBeDefined()
    })
  })

  it('answers "already initialized" when another program created the keyset meanwhile, and leaves it alone', async () => {
    await withUninitialized(async (api, path) => {
      await makeKeyset(tmp.dir, { name: path.split('/').pop() })
      const before = await readFile(path)
      expect(await api.call('PUT', 'sys/init', { secret_shares: 3, secret_threshold: 2 })).toMatchObject({ status: 400, json: { errors: ['Vault is already initialized'] } })
      expect(await readFile(path)).toEqual(before)
    })
  })

  it('encrypts each share to its PGP key and the root token to root_token_pgp_key, as Vault does', async () => {
    await withUninitialized(async (api) => {
      const r = await api.call('PUT', 'sys/init', {
        secret_shares: 3,
        secret_threshold: 2,
        pgp_keys: holders.map((h) => h.publicB64),
        root_token_pgp_key: holders[0]!.publicB64,
      })
      expect(r.status).toBe(200)
      const shares = await Promise.all(r.json.keys_base64.map(async (k: string, i: number) => Buffer.from(await decryptWith(holders[i]!.priv, Buffer.from(k, 'base64'))).toString()))
      for (const [i, share] of shares.entries()) {
        expect(share).toMatch(/^[0-9a-f]{66}$/)
        expect(Buffer.from(r.json.keys[i], 'hex')).toEqual(Buffer.from(r.json.keys_base64[i], 'base64'))
      }
      const token = Buffer.from(await decryptWith(holders[0]!.priv, Buffer.from(r.json.root_token, 'base64'))).toString()
      expect(token).toMatch(/^hvs\.[0-9A-Za-z]{24}$/)
      await api.call('PUT', 'sys/unseal', { key: shares[1] })
      expect((await api.call('PUT', 'sys/unseal', { key: shares[0] })).json.sealed).toBe(false)
      expect((await api.call('GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': token })).status).toBe(200)
    })
  })
})

describe('unchanged clients', () => {
  it('hvac: is_initialized, initialize (root_token_pgp_key null), submit_unseal_keys, read_seal_status, seal', async () => {
    await withUninitialized(async (api) => {
      expect(await hvacOk(api.url, 'def run(c, a):\n    return c.sys.is_initialized()')).toBe(false)
      const bad = await hvac(api.url, 'def run(c, a):\n    return c.sys.initialize(3, 4)')
      expect(bad).toEqual({ exception: 'InvalidRequest', errors: ['invalid seal configuration: threshold cannot be larger than shares'] })
      const init = await hvacOk(api.url, 'def run(c, a):\n    return c.sys.initialize(secret_shares=5, secret_threshold=3)')
      expect(init.keys).toHaveLength(5)
      expect(await hvacOk(api.url, 'def run(c, a):\n    return c.sys.is_initialized()')).toBe(true)
      const again = await hvac(api.url, 'def run(c, a):\n    return c.sys.initialize(secret_shares=5, secret_threshold=3)')
      expect(again).toEqual({ exception: 'InvalidRequest', errors: ['Vault is already initialized'] })
      expect(await hvacOk(api.url, 'def run(c, a):\n    return c.sys.read_seal_status()')).toMatchObject({ initialized: true, sealed: true, t: 3, n: 5 })
      const unsealed = await hvacOk(api.url, 'def run(c, a):\n    return c.sys.submit_unseal_keys(a["keys"])', { keys: init.keys })
      expect(unsealed).toMatchObject({ sealed: false, progress: 0 })
      expect(await hvacOk(api.url, 'def run(c, a):\n    return c.sys.seal().status_code', {}, init.root_token)).toBe(204)
      expect(await hvacOk(api.url, 'def run(c, a):\n    return c.sys.is_sealed()')).toBe(true)
    })
  })

  it('node-vault: initialized, init, unseal, status, seal', async () => {
    await withUninitialized(async (api) => {
      const c = vault({ apiVersion: 'v1', endpoint: api.url })
      c.token = ''
      expect(await c.initialized()).toEqual({ initialized: false })
      expect(await c.status()).toMatchObject({ initialized: false, sealed: true })
      const init = await c.init({ secret_shares: 3, secret_threshold: 2 })
      expect(init.keys).toHaveLength(3)
      expect(await c.initialized()).toEqual({ initialized: true })
      expect(await c.unseal({ key: init.keys[0] })).toMatchObject({ sealed: true, progress: 1 })
      expect(await c.unseal({ key: init.keys[1] })).toMatchObject({ sealed: false })
      c.token = init.root_token
      expect(await c.seal()).toBeFalsy()
      expect(await c.status()).toMatchObject({ initialized: true, sealed: true })
    })
  })
})

describe('tessera serve --uninitialized and --sealed', () => {
  it('refuses a keyset file that exists, and the flags together', async () => {
    const ks = await makeKeyset(tmp.dir)
    const r = await runCli(['serve', '--keyset', ks.path, '--uninitialized', '--port', '0'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${ks.path} already exists: --uninitialized serves a keyset not created yet`)
    const both = await runCli(['serve', '--keyset', ks.path, '--uninitialized', '--sealed'])
    expect(both.code).toBe(2)
    expect(both.stderr).toContain('--recovery, --sealed and --uninitialized exclude one another')
  })

  it('records init, each unseal share accepted or refused with number and holder, reset, unsealed and sealed', async () => {
    const path = freshPath()
    const record = join(tmp.dir, `init-${n}.jsonl`)
    const s = await startServe(['--keyset', path, '--uninitialized', '--record', record])
    const other = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    try {
      const init = await callApi(s.url, 'PUT', 'sys/init', { secret_shares: 3, secret_threshold: 2, root_token_pgp_key: null, tessera_holders: ['Alice', 'Bob', 'Carol'] })
      expect(init.status).toBe(200)
      const keys: string[] = init.json.keys
      const put = (body: unknown, headers?: Record<string, string>) => callApi(s.url, 'PUT', 'sys/unseal', body, headers)
      expect((await put({ key: keys[1] })).status).toBe(200)
      expect((await put({ key: keys[1] })).status).toBe(200)
      expect((await put({ key: other.keys[0] })).status).toBe(400)
      expect((await put({ reset: true })).json.progress).toBe(0)
      await put({ key: keys[2] })
      expect((await put({ key: keys[0] })).json.sealed).toBe(false)
      expect((await callApi(s.url, 'PUT', 'sys/seal', undefined, { 'X-Vault-Token': init.json.root_token })).status).toBe(204)
    } finally {
      await s.stop()
    }
    const text = await readFile(record, 'utf8')
    for (const key of [other.keys[0]!]) expect(text).not.toContain(key)
    const events = text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> })
    expect(events.map((e) => e.type)).toEqual([
      'backend_opened', 'keyset_created', 'share_handed_out', 'share_handed_out', 'share_handed_out', 'root_token_revealed', 'init_finished', 'sealed',
      'unseal_started', 'share_accepted', 'share_refused', 'share_refused', 'progress_reset',
      'unseal_started', 'share_accepted', 'share_accepted', 'unsealed', 'sealed', 'closed',
    ])
    const data = events.map((e) => e.data)
    expect(data[2]).toEqual({ share_number: 1, holder: 'Alice', how: 'sent_in_reply' })
    expect(data[5]).toEqual({ how: 'sent_in_reply' })
    expect(data[7]).toEqual({ by: 'init' })
    expect(data[8]).toMatchObject({ required: 2 })
    expect(data[9]).toEqual({ holder: 'Bob', share_number: 2, progress: 1, required: 2 })
    expect(data[10]).toEqual({ holder: 'Bob', share_number: 2, reason: 'duplicate_key', progress: 1 })
    expect(data[11]).toMatchObject({ progress: 1 })
    expect(data[11]!.reason).toMatch(/^share_/)
    expect(data[12]).toEqual({ reason: 'reset_requested', from: 1 })
    expect(data[15]).toEqual({ holder: 'Alice', share_number: 1, progress: 2, required: 2 })
    expect(data[17]).toEqual({ by: 'sys_seal' })
    const verified = await runCli(['record', 'verify', record])
    expect([verified.code, verified.stdout]).toEqual([0, expect.stringMatching(/^19 events, final hash [0-9a-f]{64}\n$/)])
    const html = join(tmp.dir, `init-${n}.html`)
    expect((await runCli(['record', 'print', record, '--out', html])).code).toBe(0)
    const page = await readFile(html, 'utf8')
    for (const words of ['Share 1 (Alice) sent in the reply to sys/init', 'Sealed: the keyset was just created', 'Unseal: nonce', 'Unsealed: the shares given open the keyset', 'Sealed: sealed with a root token (sys/seal)']) {
      expect(page).toContain(words)
    }
  })

  it('starts sealed with --sealed and records it', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const record = join(tmp.dir, `sealed-${++n}.jsonl`)
    const s = await startServe(['--keyset', ks.path, '--sealed', '--record', record])
    try {
      expect((await callApi(s.url, 'GET', 'sys/seal-status')).json).toMatchObject({ initialized: true, sealed: true, t: 2, n: 3 })
      expect((await callApi(s.url, 'PUT', 'sys/generate-root/attempt', {})).status).toBe(503)
    } finally {
      await s.stop()
    }
    const types = (await readFile(record, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).type)
    expect(types).toEqual(['backend_opened', 'sealed', 'closed'])
  })
})
