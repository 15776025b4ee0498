import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { createApiServer } from '../src-main/server/http-api'
import { listen } from '../src-main/server/listen'
import { LocalEngine } from '../src-main/engine/local-engine'
import { downgradeToV1, makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { callApi, startApi, type Api, type Reply } from './helpers/server'
import { Gpg } from './helpers/gnupg'

let tmp: Awaited<ReturnType<typeof tempDir>>
const gpg = new Gpg()
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(async () => {
  await tmp.cleanup()
})

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const today = () => new Date().toISOString().slice(0, 10)

async function setup(opts: { shares?: number; threshold?: number; holders?: string[] } = {}): Promise<{ ks: TestKeyset; api: Api }> {
  const ks = await makeKeyset(tmp.dir, { shares: opts.shares ?? 5, threshold: opts.threshold ?? 3, holders: opts.holders })
  return { ks, api: await startApi(ks.path) }
}

/** Enters `keys` on sys/rekey/update until one answers complete or refuses; returns the last reply. */
async function enter(api: Api, path: string, keys: string[], nonce: string): Promise<Reply> {
  let last: Reply | undefined
  for (const key of keys) {
    last = await api.call('PUT', path, { key, nonce })
    if (last.status !== 200 || last.json.complete) return last
  }
  return last!
}

/** A generate-root run with `keys`: its final reply. */
async function generateRoot(api: Api, keys: string[]): Promise<Reply> {
  const start = await api.call('PUT', 'sys/generate-root/attempt', {})
  const done = await enter(api, 'sys/generate-root/update', keys, start.json.nonce)
  if (!done.json?.complete) await api.call('DELETE', 'sys/generate-root/attempt')
  return done
}

describe('sys/rekey over loopback HTTP, as Vault answers', () => {
  it('reports no rekey, rekeys with the current shares, and the new shares replace the old', async () => {
    const { ks, api } = await setup()
    try {
      const idle = await api.call('GET', 'sys/rekey/init')
      expect(idle.status).toBe(200)
      expect(idle.text).toBe('{"nonce":"","started":false,"t":0,"n":0,"progress":0,"required":3,"pgp_fingerprints":null,"backup":false,"verification_required":false}')

      const started = await api.call('PUT', 'sys/rekey/init', { secret_shares: 4, secret_threshold: 2 })
      expect(started.status).toBe(200)
      expect(started.json).toEqual({ nonce: expect.stringMatching(UUID), started: true, t: 2, n: 4, progress: 0, required: 3, pgp_fingerprints: null, backup: false, verification_required: false })
      const nonce = started.json.nonce

      const one = await api.call('PUT', 'sys/rekey/update', { key: ks.keys[0], nonce })
      expect(one.json).toMatchObject({ nonce, started: true, progress: 1, required: 3 })
      const two = await api.call('PUT', 'sys/rekey/update', { key: ks.keys_base64[1], nonce })
      expect(two.json.progress).toBe(2)
      const done = await api.call('PUT', 'sys/rekey/update', { key: ks.keys[2], nonce })
      expect(done.status).toBe(200)
      expect(Object.keys(done.json)).toEqual(['nonce', 'complete', 'keys', 'keys_base64', 'pgp_fingerprints', 'backup', 'verification_required'])
      expect(done.json).toMatchObject({ nonce, complete: true, pgp_fingerprints: null, backup: false, verification_required: false })
      const fresh: string[] = done.json.keys
      expect(fresh).toHaveLength(4)
      expect(fresh.every((k) => /^[0-9a-f]{66}$/.test(k))).toBe(true)
      expect(done.json.keys_base64[0]).toBe(Buffer.from(fresh[0]!, 'hex').toString('base64'))

      // Taken effect: the seal status, the file, generate-root with the new shares; the old root token still works.
      expect((await api.call('GET', 'sys/seal-status')).json).toMatchObject({ t: 2, n: 4 })
      const file = JSON.parse(await readFile(ks.path, 'utf8'))
      expect(file).toMatchObject({ tessera_keyset: 4, generation: 2, secret_shares: 4, secret_threshold: 2 })
      expect(file.earlier_generations).toEqual([expect.objectContaining({ generation: 1, replaced_at: expect.stringMatching(/^\d{4}-/) })])
      expect((await api.call('GET', 'sys/rekey/init')).json.started).toBe(false)
      expect((await generateRoot(api, [fresh[3]!, fresh[1]!])).json.complete).toBe(true)
      expect((await api.call('GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': ks.rootToken })).status).toBe(200)

      // An old share is told apart, never called foreign.
      const start = await api.call('PUT', 'sys/generate-root/attempt', {})
      const old = await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[4], nonce: start.json.nonce })
      expect(old.status).toBe(400)
      expect(old.json.errors[0]).toBe(`this share is from generation 1 of this keyset; it was replaced on ${today()}: a rekey made new shares, and only those open it now`)
      expect((await api.call('GET', 'sys/generate-root/attempt')).json.progress).toBe(0)
    } finally {
      await api.close()
    }
  })

  it('with require_verification, the new shares take effect only at the verify that completes it; the old keep working until then', async () => {
    const { ks, api } = await setup()
    try {
      const before = await readFile(ks.path, 'utf8')
      const { nonce } = (await api.call('PUT', 'sys/rekey/init', { secret_shares: 3, secret_threshold: 2, require_verification: true })).json
      const made = await enter(api, 'sys/rekey/update', ks.keys.slice(0, 3), nonce)
      expect(made.json).toMatchObject({ nonce, complete: true, verification_required: true, verification_nonce: expect.stringMatching(UUID) })
      const vnonce = made.json.verification_nonce
      expect(vnonce).not.toBe(nonce)
      expect(await readFile(ks.path, 'utf8')).toBe(before)
      expect((await api.call('GET', 'sys/rekey/init')).json).toMatchObject({ started: true, verification_required: true, verification_nonce: vnonce })

      const again = await api.call('PUT', 'sys/rekey/update', { key: ks.keys[3], nonce })
      expect(again.json.errors).toEqual([`rekey operation already finished; verification must be performed; nonce for the verification operation is "${vnonce}"`])
      expect((await api.call('GET', 'sys/rekey/verify')).json).toEqual({ nonce: vnonce, started: true, t: 2, n: 3, progress: 0, tessera_required: 2 })

      const wrongNonce = await api.call('PUT', 'sys/rekey/verify', { key: made.json.keys[0], nonce })
      expect(wrongNonce.json.errors).toEqual([`incorrect nonce supplied; nonce for this verify operation is "${vnonce}"`])
      expect((await api.call('PUT', 'sys/rekey/verify', { key: made.json.keys[0], nonce: vnonce })).json.progress).toBe(1)
      const dup = await api.call('PUT', 'sys/rekey/verify', { key: made.json.keys_base64[0], nonce: vnonce })
      expect(dup.status).toBe(400)
      expect(dup.json.errors).toEqual(['given key has already been provided during this verify operation'])
      // An old share is not a new one: refused, never counted.
      const oldOnVerify = await api.call('PUT', 'sys/rekey/verify', { key: ks.keys[1], nonce: vnonce })
      expect(oldOnVerify.status).toBe(400)
      expect((await api.call('GET', 'sys/rekey/verify')).json.progress).toBe(1)

      // DELETE verify restarts the verification under a new nonce; the rekey stays.
      const restarted = await api.call('DELETE', 'sys/rekey/verify')
      expect(restarted.status).toBe(200)
      expect(restarted.json).toMatchObject({ started: true, progress: 0 })
      expect(restarted.json.nonce).not.toBe(vnonce)
      // Old shares still open the keyset while the verification waits.
      expect((await generateRoot(api, ks.keys.slice(2, 5))).json.complete).toBe(true)

      const done = await enter(api, 'sys/rekey/verify', made.json.keys.slice(1, 3), restarted.json.nonce)
      expect(done.text).toBe(`{"nonce":"${restarted.json.nonce}","complete":true}`)
      expect(JSON.parse(await readFile(ks.path, 'utf8')).generation).toBe(2)
      expect((await generateRoot(api, made.json.keys.slice(0, 2))).json.complete).toBe(true)
      expect((await api.call('GET', 'sys/rekey/verify')).json.errors).toEqual(['no rekey configuration found'])
    } finally {
      await api.close()
    }
  })

  it('a cancel during verification changes nothing: the old shares keep working, the new ones never do', async () => {
    const { ks, api } = await setup()
    try {
      const before = await readFile(ks.path, 'utf8')
      const { nonce } = (await api.call('PUT', 'sys/rekey/init', { secret_shares: 3, secret_threshold: 2, require_verification: true })).json
      const made = await enter(api, 'sys/rekey/update', ks.keys.slice(0, 3), nonce)
      await api.call('PUT', 'sys/rekey/verify', { key: made.json.keys[0], nonce: made.json.verification_nonce })
      const cancel = await api.call('DELETE', 'sys/rekey/init')
      expect(cancel.status).toBe(204)
      expect(cancel.text).toBe('')
      expect(await readFile(ks.path, 'utf8')).toBe(before)
      expect((await api.call('PUT', 'sys/rekey/verify', { key: made.json.keys[1], nonce: made.json.verification_nonce })).json.errors).toEqual(['no rekey in progress'])
      expect((await generateRoot(api, ks.keys.slice(1, 4))).json.complete).toBe(true)
      const refused = await generateRoot(api, made.json.keys.slice(0, 2))
      expect(refused.status).toBe(400)
      // Cancelling with nothing running is no error.
      expect((await api.call('DELETE', 'sys/rekey/init')).status).toBe(204)
    } finally {
      await api.close()
    }
  })

  it('tessera_verify_all: every new share entered back once, each checked as entered and named by its holder', async () => {
    const { ks, api } = await setup({ shares: 3, threshold: 2 })
    try {
      const holders = ['Ada', 'Brook', 'Cyd', 'Dee']
      const init = await api.call('PUT', 'sys/rekey/init', { secret_shares: 4, secret_threshold: 2, tessera_verify_all: true, tessera_holders: holders })
      expect(init.json).toMatchObject({ verification_required: true, tessera_verify_all: true })
      const made = await enter(api, 'sys/rekey/update', ks.keys.slice(0, 2), init.json.nonce)
      const vnonce = made.json.verification_nonce
      const keys: string[] = made.json.keys
      // A mistyped new share is refused as entered, and does not count.
      const typo = keys[0]!.slice(0, 10) + (keys[0]![10] === 'a' ? 'b' : 'a') + keys[0]!.slice(11)
      const refused = await api.call('PUT', 'sys/rekey/verify', { key: typo, nonce: vnonce })
      expect(refused.json.errors[0]).toMatch(/^this does not match share 1 \(Ada\)/)
      // A threshold of them is not enough.
      const two = await enter(api, 'sys/rekey/verify', keys.slice(0, 2), vnonce)
      expect(two.json).toMatchObject({ progress: 2, tessera_required: 4 })
      expect(JSON.parse(await readFile(ks.path, 'utf8')).tessera_keyset).toBe(3)
      const done = await enter(api, 'sys/rekey/verify', keys.slice(2), vnonce)
      expect(done.json).toEqual({ nonce: vnonce, complete: true })
      const file = JSON.parse(await readFile(ks.path, 'utf8'))
      expect(file.issued_shares.map((s: { holder: string }) => s.holder)).toEqual(holders)
    } finally {
      await api.close()
    }
  })
})

describe('sys/rekey refuses bad input with nothing changed', () => {
  let ks: TestKeyset
  let api: Api
  let before: string
  beforeAll(async () => {
    ;({ ks, api } = await setup())
    before = await readFile(ks.path, 'utf8')
  })
  afterAll(() => api.close())

  it("refuses parameters outside Vault's limits with Vault's words and status (500, as Vault)", async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ secret_shares: 0, secret_threshold: 0 }, 500, 'invalid rekey seal configuration: shares must be at least one'],
      [{ secret_shares: 3 }, 500, 'invalid rekey seal configuration: threshold must be at least one'],
      [{ secret_shares: 3, secret_threshold: 1 }, 500, 'invalid rekey seal configuration: threshold must be greater than one for multiple shares'],
      [{ secret_shares: 256, secret_threshold: 3 }, 500, 'invalid rekey seal configuration: shares must be less than 256'],
      [{ secret_shares: 3, secret_threshold: 4 }, 500, 'invalid rekey seal configuration: threshold cannot be larger than shares'],
      [{ secret_shares: 3, secret_threshold: 2, backup: true }, 400, 'cannot request a backup of the new keys without providing PGP keys for encryption'],
      [{ secret_shares: 3, secret_threshold: 2, pgp_keys: ['a', 'b'] }, 400, 'incorrect number of PGP keys for rekey'],
      [{ secret_shares: 2, secret_threshold: 2, pgp_keys: ['bm90IGEga2V5', 'bm90IGEga2V5'] }, 500, 'invalid rekey seal configuration: error parsing given PGP key: pgp_keys[0]: '],
      [{ secret_shares: 2.5, secret_threshold: 2 }, 400, "failed to parse JSON input: 'secret_shares' must be an integer"],
      [{ secret_shares: 2, secret_threshold: 2, tessera_holders: ['Ada'] }, 400, 'tessera_holders: 1 holder names for 2 shares: give one name per share'],
    ]
    for (const [body, status, text] of cases) {
      const r = await api.call('PUT', 'sys/rekey/init', body)
      expect(r.status, JSON.stringify(body)).toBe(status)
      expect(r.json.errors[0].startsWith(text), r.text).toBe(true)
    }
    expect((await api.call('GET', 'sys/rekey/init')).json.started).toBe(false)
    expect(await readFile(ks.path, 'utf8')).toBe(before)
  })

  it('refuses a key that cannot encrypt, and the same key for two shares', async () => {
    gpg.run(['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'Signer <signer@example.org>', 'ed25519', 'sign', 'never'])
    gpg.generate('Holder <holder@example.org>')
    const signer = gpg.exportPublic('signer@example.org').toString('base64')
    const holder = gpg.exportPublic('holder@example.org').toString('base64')
    const cannot = await api.call('PUT', 'sys/rekey/init', { secret_shares: 2, secret_threshold: 2, pgp_keys: [holder, signer] })
    expect(cannot.status).toBe(400)
    expect(cannot.json.errors[0]).toMatch(/^pgp_keys\[1\]: key [0-9a-f]{40} cannot encrypt/)
    const twice = await api.call('PUT', 'sys/rekey/init', { secret_shares: 2, secret_threshold: 2, pgp_keys: [holder, holder] })
    expect(twice.status).toBe(400)
    expect(twice.json.errors[0]).toMatch(/^share 2 and share 1 have the same PGP key/)
    expect((await api.call('GET', 'sys/rekey/init')).json.started).toBe(false)
  })

  it('refuses an update or verify without a rekey, a nonce of another operation, a duplicate, a second init', async () => {
    expect((await api.call('PUT', 'sys/rekey/update', { key: ks.keys[0], nonce: 'x' })).json.errors).toEqual(['no barrier rekey in progress'])
    expect((await api.call('PUT', 'sys/rekey/verify', { key: ks.keys[0], nonce: 'x' })).json.errors).toEqual(['no rekey in progress'])
    expect((await api.call('PUT', 'sys/rekey/update', { nonce: 'x' })).json.errors).toEqual(["'key' must be specified in request body as JSON"])
    expect((await api.call('PUT', 'sys/rekey/update', { key: 'zz', nonce: 'x' })).json.errors).toEqual(["'key' must be a valid hex or base64 string"])
    const root = (await api.call('PUT', 'sys/generate-root/attempt', {})).json.nonce
    try {
      const { nonce } = (await api.call('PUT', 'sys/rekey/init', { secret_shares: 3, secret_threshold: 2 })).json
      expect((await api.call('PUT', 'sys/rekey/init', { secret_shares: 3, secret_threshold: 2 })).json.errors).toEqual(['rekey already in progress'])
      const other = await api.call('PUT', 'sys/rekey/update', { key: ks.keys[0], nonce: root })
      expect(other.json.errors).toEqual([`incorrect nonce supplied; nonce for this rekey operation is "${nonce}"`])
      expect((await api.call('PUT', 'sys/rekey/update', { key: ks.keys[0], nonce })).json.progress).toBe(1)
      const dup = await api.call('PUT', 'sys/rekey/update', { key: ks.keys_base64[0], nonce })
      expect(dup.json.errors).toEqual(['given key has already been provided during this generation operation'])
      const typo = ks.keys[1]!.slice(0, 4) + (ks.keys[1]![4] === 'a' ? 'b' : 'a') + ks.keys[1]!.slice(5)
      expect((await api.call('PUT', 'sys/rekey/update', { key: typo, nonce })).json.errors[0]).toMatch(/^this does not match share 2/)
      expect((await api.call('GET', 'sys/rekey/init')).json.progress).toBe(1)
      expect((await api.call('PUT', 'sys/rekey/verify', { key: ks.keys[1], nonce })).json.errors).toEqual(['no rekey verification in progress'])
    } finally {
      await api.call('DELETE', 'sys/rekey/init')
      await api.call('DELETE', 'sys/generate-root/attempt')
    }
    expect(await readFile(ks.path, 'utf8')).toBe(before)
  })
})

describe('sys/rekey beyond the happy path', () => {
  it('a wrong set of current shares at the threshold (a format-1 keyset checks none as entered): progress reset, rekey kept', async () => {
    const a = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const b = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    await downgradeToV1(a.path)
    const api = await startApi(a.path)
    try {
      const before = await readFile(a.path, 'utf8')
      const { nonce } = (await api.call('PUT', 'sys/rekey/init', { secret_shares: 2, secret_threshold: 2 })).json
      await api.call('PUT', 'sys/rekey/update', { key: a.keys[0], nonce })
      const wrong = await api.call('PUT', 'sys/rekey/update', { key: b.keys[1], nonce })
      expect(wrong.status).toBe(500)
      expect(wrong.json.errors).toEqual(['failed to read root key: invalid key: failed to decrypt keys from storage: cipher: message authentication failed'])
      expect((await api.call('GET', 'sys/rekey/init')).json).toMatchObject({ nonce, started: true, progress: 0 })
      expect(await readFile(a.path, 'utf8')).toBe(before)
      const done = await enter(api, 'sys/rekey/update', a.keys.slice(1, 3), nonce)
      expect(done.json.complete).toBe(true)
      expect(JSON.parse(await readFile(a.path, 'utf8'))).toMatchObject({ tessera_keyset: 4, generation: 2 })
    } finally {
      await api.close()
    }
  })

  it('a second rekey tells each earlier generation apart; an old share on update is refused and never counts', async () => {
    const { ks, api } = await setup({ shares: 3, threshold: 2 })
    try {
      const first = (await api.call('PUT', 'sys/rekey/init', { secret_shares: 3, secret_threshold: 2 })).json.nonce
      const gen2: string[] = (await enter(api, 'sys/rekey/update', ks.keys.slice(0, 2), first)).json.keys
      const second = (await api.call('PUT', 'sys/rekey/init', { secret_shares: 2, secret_threshold: 2 })).json.nonce
      const old = await api.call('PUT', 'sys/rekey/update', { key: ks.keys[0], nonce: second })
      expect(old.json.errors[0]).toMatch(/^this share is from generation 1 of this keyset; it was replaced on/)
      expect((await api.call('GET', 'sys/rekey/init')).json.progress).toBe(0)
      await enter(api, 'sys/rekey/update', gen2.slice(0, 2), second)
      const file = JSON.parse(await readFile(ks.path, 'utf8'))
      expect(file.generation).toBe(3)
      expect(file.earlier_generations.map((g: { generation: number }) => g.generation)).toEqual([1, 2])
      const start = (await api.call('PUT', 'sys/generate-root/attempt', {})).json.nonce
      expect((await api.call('PUT', 'sys/generate-root/update', { key: gen2[2], nonce: start })).json.errors[0]).toMatch(/^this share is from generation 2 /)
      expect((await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[2], nonce: start })).json.errors[0]).toMatch(/^this share is from generation 1 /)
    } finally {
      await api.close()
    }
  })

  it('PGP: the new shares encrypted to each holder in order, the backup behind a token', async () => {
    const { ks, api } = await setup({ shares: 3, threshold: 2 })
    try {
      const fprs = ['Pat <pat@example.org>', 'Quinn <quinn@example.org>'].map((uid) => gpg.generate(uid))
      const keys = ['pat@example.org', 'quinn@example.org'].map((uid) => gpg.exportPublic(uid).toString('base64'))
      const init = await api.call('PUT', 'sys/rekey/init', { secret_shares: 2, secret_threshold: 2, pgp_keys: keys, backup: true })
      expect(init.json).toMatchObject({ pgp_fingerprints: fprs, backup: true })
      expect((await api.call('GET', 'sys/rekey/backup', undefined, { 'X-Vault-Token': ks.rootToken })).json.errors).toEqual(['no backed-up keys found'])
      const done = await enter(api, 'sys/rekey/update', ks.keys.slice(0, 2), init.json.nonce)
      expect(done.json).toMatchObject({ complete: true, pgp_fingerprints: fprs, backup: true })
      const shares = done.json.keys_base64.map((b64: string) => gpg.decryptBase64(b64))
      expect(shares.every((s: string) => /^[0-9a-f]{66}$/.test(s))).toBe(true)
      expect((await generateRoot(api, shares)).json.complete).toBe(true)

      expect((await api.call('GET', 'sys/rekey/backup')).status).toBe(403)
      const backup = await api.call('GET', 'sys/rekey/backup', undefined, { 'X-Vault-Token': ks.rootToken })
      expect(backup.json.data).toEqual({ nonce: init.json.nonce, keys: { [fprs[0]!]: [done.json.keys[0]], [fprs[1]!]: [done.json.keys[1]] }, keys_base64: { [fprs[0]!]: [done.json.keys_base64[0]], [fprs[1]!]: [done.json.keys_base64[1]] } })
      expect((await api.call('DELETE', 'sys/rekey/backup', undefined, { 'X-Vault-Token': ks.rootToken })).status).toBe(204)
      expect((await api.call('GET', 'sys/rekey/backup', undefined, { 'X-Vault-Token': ks.rootToken })).status).toBe(400)
      expect((await api.call('GET', 'sys/rekey/recovery-key-backup', undefined, { 'X-Vault-Token': ks.rootToken })).json.errors).toEqual(['no backed-up keys found'])
      expect((await api.call('GET', 'sys/rekey-recovery-key/init')).json.errors).toEqual(['recovery rekeying not supported'])
    } finally {
      await api.close()
    }
  })

  it('sealed (recovery mode) answers 503 first; --require-token refuses the unauthenticated endpoints as OpenBao 2.5', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const sealed = await startApi(ks.path, { recovery: true })
    try {
      expect((await sealed.call('GET', 'sys/rekey/init')).status).toBe(503)
      const init = await sealed.call('PUT', 'sys/rekey/init', { secret_shares: 3, secret_threshold: 2 })
      expect([init.status, init.json.errors]).toEqual([503, ['Vault is sealed']])
      expect((await sealed.call('PUT', 'sys/rekey/update', { key: ks.keys[0], nonce: 'x' })).status).toBe(503)
      expect((await sealed.call('GET', 'sys/rekey/backup')).status).toBe(503)
    } finally {
      await sealed.close()
    }
    const engine = await LocalEngine.open(ks.path)
    const server = createApiServer(engine, { requireToken: true })
    const { port } = await listen(server, '127.0.0.1', 0)
    try {
      const url = `http://127.0.0.1:${port}`
      for (const token of [undefined, ks.rootToken]) {
        const r = await callApi(url, 'PUT', 'sys/rekey/init', { secret_shares: 3, secret_threshold: 2 }, token ? { 'X-Vault-Token': token } : {})
        expect([r.status, r.json.errors]).toEqual([405, ['unsupported operation']])
      }
      expect((await callApi(url, 'GET', 'sys/rekey-recovery-key/init')).status).toBe(404)
    } finally {
      server.close()
      server.closeAllConnections()
    }
  })
})
