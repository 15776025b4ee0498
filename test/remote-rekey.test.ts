import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { RemoteVault } from '../src-main/remote/remote-vault'
import { RemoteRekeyer } from '../src-main/remote/remote-rekey'
import type { Rekeyer } from '../src-main/rekey-interface'
import { Connections } from '../src-main/profiles/connections'
import { ProfileStore } from '../src-main/profiles/profile-store'
import { SessionCredentials } from '../src-main/profiles/credentials'
import { openRemote } from '../src-main/session/open-backend'
import { listen } from '../src-main/server/listen'
import { TesseraError } from '../src-main/support/errors'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { spawnServe, type Spawned } from './helpers/processes'
import { Gpg } from './helpers/gnupg'

let tmp: Awaited<ReturnType<typeof tempDir>>
const gpg = new Gpg()
const closers: Array<() => unknown> = []
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(async () => {
  for (const close of closers.reverse()) await close()
  await tmp.cleanup()
})

/** `tessera serve` over a new keyset, stopped after the file. */
async function served(args: string[] = [], size = { shares: 3, threshold: 2 }): Promise<{ ks: TestKeyset; url: string; serve: Spawned }> {
  const ks = await makeKeyset(tmp.dir, size)
  const serve = await spawnServe(['--keyset', ks.path, ...args])
  closers.push(() => serve.stop())
  return { ks, url: `http://127.0.0.1:${serve.port}`, serve }
}

async function refusal(p: Promise<unknown>): Promise<TesseraError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(TesseraError)
  return err as TesseraError
}

/** Enters current shares until the update that makes the new shares. */
async function enterAll(rekeyer: Rekeyer, keys: string[], nonce: string) {
  let last
  for (const key of keys) {
    last = await rekeyer.update(Buffer.from(key), nonce)
    if (last.issued) return last
  }
  throw new Error('no new shares')
}

const generation = async (ks: TestKeyset) => (JSON.parse(await readFile(ks.path, 'utf8')).generation ?? 1) as number

/** A generate-root run with `keys` on the server: whether it completed. */
async function opensRoot(url: string, keys: Buffer[], token?: string): Promise<boolean> {
  const remote = new RemoteVault({ address: url }, token)
  const { status } = await remote.start('root', {})
  for (const key of keys) {
    const { status: now } = await remote.update('root', { key, nonce: status.nonce })
    if (now.complete) return true
  }
  await remote.cancel('root')
  return false
}

describe("Vault's legacy sys/rekey through RemoteRekeyer, against tessera serve", () => {
  it('without a token: the legacy API; new shares as hex text, in effect at the completing update', async () => {
    const { ks, url } = await served()
    const remote = new RemoteVault({ address: url })
    const rekeyer = await RemoteRekeyer.open(remote.connection)
    expect([rekeyer.api, rekeyer.verifyAll]).toEqual(['legacy', true])
    expect(await rekeyer.status()).toEqual({ started: false, nonce: '', t: 0, n: 0, progress: 0, required: 2, pgp_fingerprints: null, backup: false, verification_required: false })

    const started = await rekeyer.start({ shares: 4, threshold: 3, verification: 'none', holders: ['Ada', 'Brook', 'Cyd', 'Dee'] })
    expect(started).toMatchObject({ started: true, t: 3, n: 4, progress: 0, required: 2, verification_required: false })
    const one = await rekeyer.update(Buffer.from(ks.keys[0]!), started.nonce)
    expect(one.state).toMatchObject({ nonce: started.nonce, progress: 1 })
    expect(one.issued).toBeUndefined()
    const done = await rekeyer.update(Buffer.from(`  ${ks.keys_base64[1]}\n`), started.nonce)
    const issued = done.issued!
    expect(issued.encrypted).toBe(false)
    expect(issued.keys).toHaveLength(4)
    expect(issued.keys.every((k) => Buffer.isBuffer(k) && /^[0-9a-f]{66}$/.test(k.toString()))).toBe(true)
    expect(issued.shares).toEqual(['Ada', 'Brook', 'Cyd', 'Dee'].map((holder, i) => ({ number: i + 1, holder })))
    expect(issued).not.toHaveProperty('verification_nonce')
    expect(done.state).toMatchObject({ started: false, required: 3 })

    // In effect at once: a server has nothing to release.
    expect(await generation(ks)).toBe(2)
    await rekeyer.release()
    expect(await remote.sealStatus()).toMatchObject({ t: 3, n: 4 })
    expect(await opensRoot(url, issued.keys.slice(1, 4))).toBe(true)
  })

  it('with verification of a threshold: wrong nonce explained, restart, then in effect at the verify that completes it', async () => {
    const { ks, url } = await served()
    const rekeyer = await RemoteRekeyer.open(new RemoteVault({ address: url }).connection)
    const { nonce } = await rekeyer.start({ shares: 3, threshold: 2, verification: 'threshold' })
    const { issued, state } = await enterAll(rekeyer, ks.keys, nonce)
    const vnonce = issued!.verification_nonce!
    expect(vnonce).toMatch(/^[0-9a-f-]{36}$/)
    expect(state).toMatchObject({ started: true, verification_required: true, verification_nonce: vnonce })
    expect(await rekeyer.status()).toMatchObject({ started: true, verification_nonce: vnonce })
    expect(await generation(ks)).toBe(1)

    expect(await rekeyer.verifyStatus()).toEqual({ started: true, nonce: vnonce, t: 2, n: 3, progress: 0, required: 2 })
    const wrong = await refusal(rekeyer.verify(Buffer.from(issued!.keys[0]!), nonce))
    expect(wrong.code).toBe('wrong_nonce')
    expect(wrong.message).toMatch(/^The nonce is not the one of the rekey running on the server/)
    const again = await refusal(rekeyer.update(Buffer.from(ks.keys[2]!), nonce))
    expect(again.code).toBe('rekey_verify_pending')

    expect((await rekeyer.verify(issued!.keys[0]!, vnonce)).state).toMatchObject({ progress: 1, required: 2 })
    const restarted = await rekeyer.restartVerification()
    expect(restarted).toMatchObject({ started: true, progress: 0 })
    expect(restarted.nonce).not.toBe(vnonce)
    const first = await rekeyer.verify(issued!.keys[2]!, restarted.nonce)
    expect(first.complete).toBe(false)
    const last = await rekeyer.verify(issued!.keys[1]!, restarted.nonce)
    expect(last.complete).toBe(true)
    expect(await generation(ks)).toBe(2)
  })

  it("every new share verified, with Tessera's extension; a threshold of them is not enough", async () => {
    const { ks, url } = await served()
    const rekeyer = await RemoteRekeyer.open(new RemoteVault({ address: url }).connection)
    const { nonce } = await rekeyer.start({ shares: 3, threshold: 2, verification: 'all' })
    const { issued } = await enterAll(rekeyer, ks.keys, nonce)
    const vnonce = issued!.verification_nonce!
    expect(await rekeyer.verifyStatus()).toMatchObject({ t: 2, n: 3, required: 3 })
    expect((await rekeyer.verify(issued!.keys[0]!, vnonce)).complete).toBe(false)
    expect((await rekeyer.verify(issued!.keys[1]!, vnonce)).state).toMatchObject({ progress: 2, required: 3 })
    expect(await generation(ks)).toBe(1)
    expect((await rekeyer.verify(issued!.keys[2]!, vnonce)).complete).toBe(true)
    expect(await generation(ks)).toBe(2)
  })

  it('PGP keys (armored and binary) become base64 of binary keys; encrypted shares, the backup read and deleted', async () => {
    const { ks, url } = await served()
    const fprs = ['Pat <pat@example.org>', 'Quinn <quinn@example.org>'].map((uid) => gpg.generate(uid))
    const pgpKeys = [gpg.exportPublic('pat@example.org', true).toString(), gpg.exportPublic('quinn@example.org').toString('base64')]
    // The backup needs a token; with one, the rotate API is chosen: the legacy one is asked for here.
    const rekeyer = new RemoteRekeyer(new RemoteVault({ address: url }, ks.rootToken).connection, 'legacy', true)
    expect(await rekeyer.readBackup()).toBeNull()
    const started = await rekeyer.start({ shares: 2, threshold: 2, pgpKeys, backup: true, verification: 'none' })
    expect(started).toMatchObject({ pgp_fingerprints: fprs, backup: true })
    const { issued } = await enterAll(rekeyer, ks.keys, started.nonce)
    expect(issued).toMatchObject({ encrypted: true, pgp_fingerprints: fprs, backup: true })
    // Binary OpenPGP messages, each to its holder's key, in share order.
    const shares = issued!.keys.map((message) => gpg.run(['-d'], message))
    expect(shares.every((s) => /^[0-9a-f]{66}$/.test(s.toString()))).toBe(true)
    expect(await opensRoot(url, shares)).toBe(true)

    const backup = await rekeyer.readBackup()
    expect(backup).toEqual({ nonce: started.nonce, keys: { [fprs[0]!]: [issued!.keys[0]!.toString('hex')], [fprs[1]!]: [issued!.keys[1]!.toString('hex')] } })
    await rekeyer.deleteBackup()
    expect(await rekeyer.readBackup()).toBeNull()

    // Without a token, the backup is refused with what to add.
    const bare = new RemoteRekeyer(new RemoteVault({ address: url }).connection, 'legacy', true)
    const err = await refusal(bare.readBackup())
    expect(err.code).toBe('rekey_token_required')
    expect(err.message).toMatch(/^The server refuses sys\/rekey\/backup without a token/)
  })

  it('refuses a second rekey, a bad request and a PGP key count before or as the server does', async () => {
    const { url } = await served()
    const rekeyer = await RemoteRekeyer.open(new RemoteVault({ address: url }).connection)
    await expect(rekeyer.start({ shares: 3, threshold: 2, pgpKeys: ['x'], verification: 'none' })).rejects.toMatchObject({ code: 'rekey_request' })
    await expect(rekeyer.start({ shares: 2, threshold: 3, verification: 'none' })).rejects.toMatchObject({ code: 'rekey_config' })
    await rekeyer.start({ shares: 3, threshold: 2, verification: 'none' })
    const twice = await refusal(rekeyer.start({ shares: 3, threshold: 2, verification: 'none' }))
    expect([twice.code, twice.message]).toEqual(['rekey_in_progress', 'A rekey is already running on the server (started earlier, or by someone else): finish it, or cancel it, before starting another.'])
    expect(twice.detail).toBe('rekey already in progress')
    await rekeyer.cancel()
    await rekeyer.cancel()
    expect((await rekeyer.status()).started).toBe(false)
    const none = await refusal(rekeyer.verifyStatus())
    expect(none.code).toBe('no_rekey')
  })

  it('a sealed server: opening its rekey says so in a sentence', async () => {
    const { url } = await served(['--sealed'])
    const err = await refusal(RemoteRekeyer.open(new RemoteVault({ address: url }).connection))
    expect([err.code, err.message]).toEqual(['sealed', 'The server is sealed: a rekey needs an unsealed server; unseal it first.'])
  })
})

describe("OpenBao's authenticated sys/rotate/root through RemoteRekeyer, against tessera serve --require-token", () => {
  it('with a token: the rotate API, in its data envelope, with verification', async () => {
    const { ks, url } = await served(['--require-token'])
    const rekeyer = await RemoteRekeyer.open(new RemoteVault({ address: url }, ks.rootToken).connection)
    expect(rekeyer.api).toBe('rotate')
    expect(await rekeyer.status()).toEqual({ started: false, nonce: '', t: 0, n: 0, progress: 0, required: 2, pgp_fingerprints: null, backup: false, verification_required: false })
    const started = await rekeyer.start({ shares: 4, threshold: 2, verification: 'threshold', holders: ['A', 'B', 'C', 'D'] })
    expect(started).toMatchObject({ started: true, t: 2, n: 4, verification_required: true })
    expect(started).not.toHaveProperty('verification_nonce')
    const { issued } = await enterAll(rekeyer, ks.keys, started.nonce)
    expect(issued!.keys).toHaveLength(4)
    expect(issued!.shares.map((s) => s.holder)).toEqual(['A', 'B', 'C', 'D'])
    const vnonce = issued!.verification_nonce!
    expect((await rekeyer.verify(issued!.keys[3]!, vnonce)).complete).toBe(false)
    expect((await rekeyer.verify(issued!.keys[0]!, vnonce)).complete).toBe(true)
    expect(await generation(ks)).toBe(2)
    // tessera_holders went to tessera serve, which keeps them.
    const file = JSON.parse(await readFile(ks.path, 'utf8'))
    expect(file.issued_shares.map((s: { holder: string }) => s.holder)).toEqual(['A', 'B', 'C', 'D'])
    expect(await rekeyer.readBackup()).toBeNull()
    await rekeyer.deleteBackup()
  })

  it('without a token: sys/rotate/root asks for one; the legacy endpoints answer 405, explained', async () => {
    const { url } = await served(['--require-token'])
    const rekeyer = await RemoteRekeyer.open(new RemoteVault({ address: url }).connection)
    expect(rekeyer.api).toBe('rotate')
    const err = await refusal(rekeyer.status())
    expect(err.code).toBe('rekey_token_required')
    expect(err.message).toMatch(/^This server offers sys\/rotate\/root \(OpenBao 2\.4 and later\), which needs a Vault token/)

    const legacy = new RemoteRekeyer(new RemoteVault({ address: url }).connection, 'legacy', true)
    const disabled = await refusal(legacy.start({ shares: 3, threshold: 2, verification: 'none' }))
    expect(disabled.code).toBe('rekey_disabled')
    expect(disabled.message).toMatch(/unauthenticated sys\/rekey\/\* switched off \("unsupported operation"; OpenBao 2\.5 and later/)
    expect(disabled.detail).toBe('unsupported operation')
  })

  it('a token the server does not accept: permission denied on sys/rotate/root, named', async () => {
    const { url } = await served(['--require-token'])
    const rekeyer = await RemoteRekeyer.open(new RemoteVault({ address: url }, 'hvs.' + 'x'.repeat(24)).connection)
    const err = await refusal(rekeyer.start({ shares: 3, threshold: 2, verification: 'none' }))
    expect(err.code).toBe('rekey_permission_denied')
    expect(err.message).toBe("The server refused the profile's token for sys/rotate/root/init: the token has expired or its policy does not allow update on sys/rotate/root/*.")
  })
})

type Handler = (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>) => void

/** A Vault 1.x without sys/rotate/root, answering sys/rekey/* through `rekey`. */
async function vaultStub(rekey: Handler, storage = 'raft') {
  const seen: string[] = []
  const server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c) => (raw += c))
    req.on('end', () => {
      const path = req.url!.replace(/^\/v1\//, '')
      seen.push(`${req.method} ${path}`)
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify(body))
      }
      if (path === 'sys/seal-status') return json(200, { type: 'shamir', initialized: true, sealed: false, t: 2, n: 3, progress: 0, nonce: '', version: '1.19.0', storage_type: storage })
      if (path.startsWith('sys/rotate/')) return json(404, { errors: [] })
      rekey(req, res, raw ? JSON.parse(raw) : {})
    })
  })
  const { port } = await listen(server, '127.0.0.1', 0)
  closers.push(() => {
    server.closeAllConnections()
    server.close()
  })
  return { url: `http://127.0.0.1:${port}`, seen }
}

const json = (res: ServerResponse, body: unknown) => {
  res.writeHead(200, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify(body))
}
const HEX_SHARE = (i: number) => `${'ab'.repeat(32)}0${i}`
const running = { nonce: 'n-1', started: true, t: 2, n: 3, progress: 1, required: 2, pgp_fingerprints: null, backup: false, verification_required: false }
const SHARE = 'cd'.repeat(33)

/** A server whose completing update (or verify) says `lie`; everything before it as Vault. */
async function lying(lie: Record<string, unknown>, status = running, verify?: Record<string, unknown>) {
  return vaultStub((req, res) => {
    if (req.url!.endsWith('/init')) return json(res, status)
    if (req.url!.endsWith('/verify') && req.method === 'GET') return json(res, verify)
    json(res, lie)
  })
}

describe('a server that lies is refused in a sentence, and no share leaks in the error', () => {
  const done = { nonce: 'n-1', complete: true, pgp_fingerprints: null, backup: false, verification_required: false }
  const keys = [1, 2, 3].map(HEX_SHARE)
  const b64 = keys.map((k) => Buffer.from(k, 'hex').toString('base64'))
  const cases: Array<[string, Record<string, unknown>, RegExp, typeof running?]> = [
    ['new shares of another count than n', { ...done, keys: keys.slice(0, 2), keys_base64: b64.slice(0, 2) }, /it gives 2 new shares where the rekey makes 3/],
    ['keys that are not hex', { ...done, keys: [keys[0], 'zz' + keys[1]!.slice(2), keys[2]] }, /keys\.1 should be hex/],
    ['keys_base64 that differ from keys', { ...done, keys, keys_base64: [b64[0], b64[2], b64[1]] }, /keys_base64 does not hold the same shares as keys/],
    ['a nonce that changed on the completing update', { ...done, nonce: 'n-2', keys }, /its nonce changed in the middle of the rekey/],
    ['a nonce that changed on a progress reply', { ...running, nonce: 'n-2', progress: 1 }, /its nonce changed in the middle of the rekey/, { ...running, progress: 0 }],
    ['new shares before the threshold', { ...done, keys }, /it gives new shares before 2 current shares were entered/, { ...running, progress: 0 }],
    ['encrypted shares that were not asked for', { ...done, keys, pgp_fingerprints: ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40)] }, /PGP fingerprints are not those of the rekey/],
    ['new shares of different lengths', { ...done, keys: [keys[0], keys[1] + 'ab', keys[2]] }, /the keys differ in length/],
  ]
  for (const [what, lie, words, status] of cases) {
    it(what, async () => {
      const stub = await lying(lie, status)
      const rekeyer = await RemoteRekeyer.open(new RemoteVault({ address: stub.url }).connection)
      expect([rekeyer.api, rekeyer.verifyAll]).toEqual(['legacy', false])
      const err = await refusal(rekeyer.update(Buffer.from(SHARE), 'n-1'))
      expect(err.code).toBe('bad_reply')
      expect(err.message).toMatch(/^The server's reply to PUT sys\/rekey\/update is not what Vault sends: /)
      expect(err.message).toMatch(words)
      const said = `${err.message} ${err.detail ?? ''} ${err.stack}`
      for (const secret of [SHARE, ...keys, ...b64, 'ab'.repeat(8)]) expect(said).not.toContain(secret)
    })
  }

  it('a verify that says complete before the threshold', async () => {
    const stub = await lying({ nonce: 'v-1', complete: true }, running, { nonce: 'v-1', started: true, t: 2, n: 3, progress: 0 })
    const rekeyer = await RemoteRekeyer.open(new RemoteVault({ address: stub.url }).connection)
    const err = await refusal(rekeyer.verify(Buffer.from(SHARE), 'v-1'))
    expect(err.message).toBe("The server's reply to PUT sys/rekey/verify is not what Vault sends: it says the verification is complete before 2 new shares were entered.")
  })

  it('a server that is not Tessera never gets the extensions: verifying every share is refused before any request', async () => {
    const stub = await lying({})
    const rekeyer = await RemoteRekeyer.open(new RemoteVault({ address: stub.url }).connection)
    const err = await refusal(rekeyer.start({ shares: 3, threshold: 2, verification: 'all' }))
    expect(err.code).toBe('rekey_request')
    expect(stub.seen.filter((s) => s.startsWith('PUT'))).toEqual([])
  })

  it('a server that starts another rekey than asked is cancelled and refused', async () => {
    const stub = await vaultStub((req, res) => {
      if (req.method === 'DELETE') {
        res.writeHead(204)
        return res.end()
      }
      json(res, { ...running, progress: 0, n: 5 })
    }, 'tessera-keyset')
    const rekeyer = await RemoteRekeyer.open(new RemoteVault({ address: stub.url }).connection)
    expect(rekeyer.verifyAll).toBe(true)
    const err = await refusal(rekeyer.start({ shares: 3, threshold: 2, verification: 'all' }))
    expect(err.message).toMatch(/its share count or threshold is not the one asked for; Tessera cancelled it\.$/)
    expect(stub.seen).toContain('DELETE sys/rekey/init')
  })

  it('a redirect off the profile over plain http is not followed; a silent server times out', async () => {
    const away = await vaultStub((req, res) => {
      res.writeHead(307, { Location: `http://127.0.0.2:9${req.url}` })
      res.end()
    })
    const rekeyer = await RemoteRekeyer.open(new RemoteVault({ address: away.url }).connection)
    expect((await refusal(rekeyer.update(Buffer.from(SHARE), 'n-1'))).code).toBe('insecure_redirect')

    const silent = await vaultStub(() => undefined)
    const slow = await RemoteRekeyer.open(new RemoteVault({ address: silent.url, timeoutMs: 500 }).connection)
    const err = await refusal(slow.status())
    expect(err.code).toBe('timeout')

    // A status dripped a byte at a time is cut off at the same deadline.
    const drip = await vaultStub((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      const timer = setInterval(() => res.write(' '), 50)
      res.on('close', () => clearInterval(timer))
    })
    const dripped = await RemoteRekeyer.open(new RemoteVault({ address: drip.url, timeoutMs: 500 }).connection)
    expect((await refusal(dripped.status())).code).toBe('timeout')
  })

  it('a status of the wrong shape names the field, not the value', async () => {
    const stub = await lying({}, { ...running, started: 'yes' } as unknown as typeof running)
    const rekeyer = await RemoteRekeyer.open(new RemoteVault({ address: stub.url }).connection)
    const err = await refusal(rekeyer.status())
    expect(err.message).toBe("The server's reply to GET sys/rekey/init is not what Vault sends: started should be true or false.")
    const zero = await lying({}, { ...running, required: 0 })
    const counts = await refusal((await RemoteRekeyer.open(new RemoteVault({ address: zero.url }).connection)).status())
    expect(counts.message).toMatch(/its nonce, counts and progress do not fit together\.$/)
    const list = await lying({}, [] as unknown as typeof running)
    expect((await refusal((await RemoteRekeyer.open(new RemoteVault({ address: list.url }).connection)).status())).message).toMatch(/it should be a JSON object/)
  })
})

describe('a remote backend opened from a profile', () => {
  it('runs the server\'s rekey on the backend\'s connection: closing the backend stops its calls at once', async () => {
    // Answers what opening the backend asks; never answers an update.
    const silent = await vaultStub((req, res) => {
      if (req.url!.endsWith('sys/rekey/init')) return json(res, running)
      if (req.url!.endsWith('sys/rekey/update')) return
      res.writeHead(404, { 'Content-Type': 'application/json' })
      res.end('{"errors":[]}')
    })
    const c = new Connections(await ProfileStore.open(join(tmp.dir, 'profiles.json')), new SessionCredentials())
    const profile = await c.save({ name: 'stub', address: silent.url, timeoutSeconds: 60 }, undefined, undefined)
    const { open } = await openRemote(c, profile.id)
    const rekeyer = await RemoteRekeyer.open((open.backend as RemoteVault).connection)
    expect(rekeyer).toBeInstanceOf(RemoteRekeyer)
    expect(rekeyer.api).toBe('legacy')
    const pending = rekeyer.update(Buffer.from(SHARE), 'n-1')
    const t0 = Date.now()
    await new Promise((r) => setTimeout(r, 100))
    await open.backend.close()
    await expect(pending).rejects.toMatchObject({ code: 'backend_closed' })
    expect(Date.now() - t0).toBeLessThan(5_000)
    await expect(rekeyer.status()).rejects.toMatchObject({ code: 'backend_closed' })
  })
})
