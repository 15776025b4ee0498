import { access, readdir, readFile, stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import * as openpgp from 'openpgp'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { decryptWith, readPrivateKey, type PrivateKeyInfo } from '../src-main/crypto/pgp'
import { handlersFor } from '../src-main/ipc/handlers'
import { createRouter } from '../src-main/ipc/router'
import { Connections } from '../src-main/profiles/connections'
import { SessionCredentials } from '../src-main/profiles/credentials'
import { ProfileStore } from '../src-main/profiles/profile-store'
import { readServerChecks, recognizeServerShare } from '../src-main/profiles/server-checks'
import { printRecord } from '../src-main/record/printed'
import { verifyRecord } from '../src-main/record/verify'
import { listen } from '../src-main/server/listen'
import { Session } from '../src-main/session/session'
import { runCli } from './helpers/cli'
import { ipcCalls } from './helpers/ipc'
import { mistypeAt, tempDir } from './helpers/keysets'
import { leaks, secret } from './helpers/secret-forms'
import { startUninitializedApi } from './helpers/server'

/**
 * A rekey of a server through its saved profile and the IPC router, as the
 * page runs it: `tessera serve --uninitialized`'s real HTTP API, initialized by
 * the app (so with a server check file), unsealed, then rekeyed.
 */

let tmp: Awaited<ReturnType<typeof tempDir>>
let api: Awaited<ReturnType<typeof startUninitializedApi>>
let configDir: string
let session: Session
let profileId: string
const { call, refusal } = ipcCalls(() => createRouter(handlersFor(session)))

const HOLDERS = ['Alice', 'Bob', 'Carol']
const NEW_HOLDERS = ['Dana', 'Eve', 'Frank', 'Gina', 'Hal']
const closers: Array<() => Promise<void>> = []

beforeAll(async () => {
  tmp = await tempDir('tessera-server-rekey-')
})
afterAll(() => tmp.cleanup())
afterEach(async () => {
  await session.close()
  await api.close()
  for (const close of closers.splice(0)) await close()
})

let n = 0
/** A server behind a saved profile, initialized 2-of-3 by the app for HOLDERS: its shares and root token; unsealed unless `unseal` is false. */
async function initialized(opts: { requireToken?: boolean; unseal?: boolean; token?: boolean; lie?: Lie } = {}): Promise<{ shares: string[]; token: string }> {
  n++
  configDir = join(tmp.dir, `config-${n}`)
  api = await startUninitializedApi(join(tmp.dir, `keyset-${n}.json`), { requireToken: opts.requireToken ?? false })
  const connections = new Connections(await ProfileStore.open(join(configDir, 'profiles.json')), new SessionCredentials())
  session = new Session({ connections, configDir })
  const address = opts.lie ? await lyingProxy(api.url, opts.lie) : api.url
  profileId = (await call('profiles.save', { profile: { name: 'Lab', address } })).id
  await call('backend.connectRemote', { id: profileId })
  await call('backend.initServer', { shares: 3, threshold: 2, holders: HOLDERS })
  const shares: string[] = []
  for (let i = 0; i < 3; i++) shares.push((await call('handout.revealShare', { index: i })).key)
  const token = (await call('handout.revealRootToken')).value as string
  await call('handout.finish')
  if (opts.unseal !== false) {
    await call('unseal.submit', { holder: 'Alice', key: shares[0] })
    expect((await call('unseal.submit', { holder: 'Bob', key: shares[1] })).unsealed).toBe(true)
    await call('unseal.finish')
  }
  // Connected again, with the root token where asked (sys/rotate/root needs one; without, the legacy sys/rekey is used).
  await call('backend.connectRemote', { id: profileId, ...((opts.token ?? opts.requireToken) ? { token } : {}) })
  return { shares, token }
}

describe('a rekey offered on a server', () => {
  it('offers none on a sealed server, with no error, and says why a start is refused', async () => {
    await initialized({ unseal: false })
    const view = await call('rekey.status')
    expect(view).toMatchObject({ offered: null, status: null, verify: null, asked: null, backup: false })
    expect((await call('session.snapshot')).rekey.offered).toBeNull()
    expect(await refusal('rekey.start', { shares: 3, threshold: 2, verification: 'threshold' })).toMatchObject({
      code: 'sealed',
      message: 'The server is sealed: a root token, a new share or a rekey needs an unsealed server (a recovery token, one in recovery mode).',
    })
  })

  it('offers the legacy API on an unsealed server, and the same rekey each time; its backup unknown without a token, with why', async () => {
    const { token } = await initialized()
    const view = await call('rekey.status')
    expect(view.offered).toMatchObject({ api: 'legacy', verifyAll: true, verificationNone: false, backupInMemory: false })
    expect(view.status).toMatchObject({ started: false, required: 2 })
    // Without a token the server will not say whether it keeps a backup: unknown, with its refusal, never "none".
    expect(view.backup).toBeNull()
    expect(view.backupUnread).toBe('The server refuses sys/rekey/backup without a token (Vault 2.x asks one for a rekey, and a backup always needs one): add a token to the profile.')
    await call('backend.connectRemote', { id: profileId, token })
    expect(await call('rekey.status')).toMatchObject({ backup: false, backupUnread: null })
    const open = session.ceremony.openBackend!
    expect(await open.rekeyer()).toBe(await open.rekeyer())
  })

  it('offers sys/rotate/root on a server that requires a token', async () => {
    await initialized({ requireToken: true })
    expect((await call('rekey.status')).offered).toMatchObject({ api: 'rotate', verifyAll: true, verificationNone: false })
  })

  it('says why, rather than failing the first screen, where the server refuses its rekey without a token', async () => {
    await initialized({ requireToken: true, token: false })
    const view = await call('rekey.status')
    expect(view).toMatchObject({ offered: null, status: null, unavailable: expect.stringMatching(/token/) })
    expect((await call('session.snapshot')).rekey).toEqual(view)
  })

  it("refuses verification 'none': the server would apply new shares a lost hand-out could not bring back", async () => {
    await initialized()
    const inits = () => api.logs.filter((l) => l.includes('sys/rekey/init') && l.startsWith('PUT')).length
    expect(await refusal('rekey.start', { shares: 3, threshold: 2, verification: 'none' })).toMatchObject({
      code: 'rekey_request',
      message: expect.stringMatching(/^Verification: a server puts unverified new shares in effect the moment it makes them.*choose a threshold of them, or every one\.$/),
    })
    expect(inits()).toBe(0)
    expect((await call('rekey.status')).status.started).toBe(false)
  })
})



/** Rewrites a server's JSON reply to `path` (the request's URL), or leaves it. */
type Lie = (path: string, reply: any) => any

/** A server in front of `target` that passes every call on and rewrites its replies with `lie`. */
async function lyingProxy(target: string, lie: Lie): Promise<string> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const token = req.headers['x-vault-token']
    const reply = await fetch(`${target}${req.url}`, {
      method: req.method,
      headers: { ...(body.length ? { 'Content-Type': 'application/json' } : {}), ...(typeof token === 'string' ? { 'X-Vault-Token': token } : {}) },
      ...(body.length ? { body } : {}),
    })
    const text = await reply.text()
    res.writeHead(reply.status, text ? { 'Content-Type': 'application/json' } : {})
    res.end(text ? JSON.stringify(lie(req.url!, JSON.parse(text))) : undefined)
  })
  const { port } = await listen(server, '127.0.0.1', 0)
  closers.push(() => new Promise<void>((done) => {
    server.close(() => done())
    server.closeAllConnections()
  }))
  return `http://127.0.0.1:${port}`
}

/** Today's date as a check file names it. */
const today = () => new Date().toISOString().slice(0, 10)
/** What a share of generation 1 is told once generation 2 took effect today. */
const REPLACED = `this share is from generation 1 of this server's shares; it was replaced on ${today()}: a rekey made new shares, and only those open it now`
const cap = (text: string) => text[0]!.toUpperCase() + text.slice(1)

const checksPath = () => join(configDir, 'server-checks', `${profileId}.json`)
/** The calls that reached the server, by a path's end ("rekey/update" matches sys/rekey/update and sys/rotate/root/update). */
const calls = (method: string, leaf: string) => api.logs.filter((l) => l.startsWith(`${method} `) && new RegExp(`/(rekey|rotate/root)/${leaf} `).test(l)).length

/** Every new share revealed through the hand-out, in order. */
async function handOutAll(count: number): Promise<Array<{ key: string; key_base64: string; encrypted: boolean }>> {
  const shown = []
  for (let i = 0; i < count; i++) shown.push(await call('handout.revealShare', { index: i }))
  return shown
}

/** Every new share handed out as its holder's PGP file, each decrypted with that holder's key (`keys`, in order): the shares' text. */
async function handOutEncrypted(keys: Array<{ priv: PrivateKeyInfo }>, count: number): Promise<string[]> {
  const fresh: string[] = []
  for (const [i, file] of (await handOutAll(count)).entries()) {
    fresh.push(Buffer.from(await decryptWith(keys[i]!.priv, Buffer.from(file.key_base64, 'base64'))).toString('utf8'))
    await call('handout.shareSaved', { index: i })
  }
  await call('handout.finish')
  return fresh
}

/** The record of the first (or `latest`, or the one of nonce `which`) rekey, verified. */
async function rekeyRecord(latest = false, which?: string) {
  const dir = join(configDir, 'records')
  const files = (await readdir(dir)).filter((f) => f.includes(`rekey-${which ?? ''}`)).sort()
  const file = latest ? files.at(-1) : files[0]
  const text = await readFile(join(dir, file!), 'utf8')
  const v = verifyRecord(text)
  if (!v.ok) throw new Error(v.problem)
  return { ...v, text }
}

/** Enters HOLDERS' first two current shares; resolves the reply that made the new shares. */
async function enterCurrent(old: string[], nonce: string) {
  const first = await call('rekey.update', { key: old[0], nonce, holder: 'Alice' })
  expect(first.last_share).toEqual({ number: 1, holder: 'Alice', checked: true })
  return call('rekey.update', { key: old[1], nonce, holder: 'Bob' })
}

describe('a rekey of a server Tessera initialized keeps its check file true', () => {
  it.each([
    ['legacy', {}],
    ['rotate', { requireToken: true }],
  ] as const)('%s: 2-of-3 to 3-of-5, verified by a threshold: the next generation on disk before any share is shown, current once verified', async (which, opts) => {
    const { shares: old, token } = await initialized(opts)
    const offered = (await call('rekey.status')).offered
    expect(offered).toEqual({ api: which, verifyAll: expect.any(Boolean), verificationNone: false, backupInMemory: false, checkFile: 1 })
    const started = await call('rekey.start', { shares: 5, threshold: 3, holders: NEW_HOLDERS, verification: 'threshold' })
    const { nonce } = started.status

    // Current shares are checked against generation 1 before they are sent.
    expect((await refusal('rekey.update', { key: mistypeAt(old[0]!, 9), nonce, holder: 'Alice' })).code).toBe('share_mismatch')
    expect((await refusal('rekey.update', { key: old[1], nonce, holder: 'Alice' })).code).toBe('share_other_holder')
    expect(calls('PUT', 'update')).toBe(0)
    const made = await enterCurrent(old, nonce)
    expect(calls('PUT', 'update')).toBe(2)
    expect(made.state.handOut.summary).toMatchObject({ ceremony: 'rekey', place: { kind: 'server' }, shares: 5, threshold: 3, holders: NEW_HOLDERS })

    // Before any new share is shown, their check values are the file's pending generation.
    const pending = (await readServerChecks(checksPath()))!
    expect(pending).toMatchObject({ tessera_server_checks: 3, generation: 1, secret_shares: 3, pending: { generation: 2, secret_shares: 5, secret_threshold: 3 } })
    expect(pending.pending!.shares.map((s) => s.holder)).toEqual(NEW_HOLDERS)
    const fresh = (await handOutAll(5)).map((s) => s.key)
    for (const [i, share] of fresh.entries()) {
      expect(await recognizeServerShare({ ...pending, ...pending.pending! }, Buffer.from(share))).toEqual({ number: i + 1, holder: NEW_HOLDERS[i] })
    }
    await call('handout.finish')

    // Each new share entered back is checked against the pending generation before it is sent.
    const vnonce = (await call('rekey.status')).verify.nonce
    expect(await refusal('rekey.verify', { key: mistypeAt(fresh[0]!, 6), nonce: vnonce, holder: 'Dana' })).toMatchObject({ code: 'share_mismatch', message: 'This does not match share 1 (Dana) — probably a typing mistake.' })
    expect((await refusal('rekey.verify', { key: fresh[1], nonce: vnonce, holder: 'Dana' })).code).toBe('share_other_holder')
    expect(await refusal('rekey.verify', { key: old[2], nonce: vnonce, holder: 'Carol' })).toMatchObject({
      code: 'share_unknown',
      message: "This is share 3 (Carol) of the shares in effect, not one of the rekey's new shares: enter the new share you were handed.",
    })
    expect(calls('PUT', 'verify')).toBe(0)
    expect((await call('rekey.verify', { key: fresh[0], nonce: vnonce, holder: 'Dana' })).last_share).toEqual({ number: 1, holder: 'Dana', checked: true })
    await call('rekey.verify', { key: fresh[1], nonce: vnonce, holder: 'Eve' })
    const done = await call('rekey.verify', { key: fresh[2], nonce: vnonce, holder: 'Frank' })
    expect(done.complete).toBe(true)
    expect(calls('PUT', 'verify')).toBe(3)

    // Generation 2 is current, with no pending one; generation 1 is kept as replaced, and its shares are named so.
    const after = (await readServerChecks(checksPath()))!
    expect(after).toMatchObject({ tessera_server_checks: 3, generation: 2, secret_shares: 5, secret_threshold: 3, earlier_generations: [{ generation: 1, replaced_at: expect.stringMatching(new RegExp(`^${today()}T`)) }] })
    expect(after.pending).toBeUndefined()
    expect(done.backend.info.shareChecks.note).toMatch(/generation 2\.$/)
    for (const share of old) expect(await call('shares.check', { share })).toEqual({ number: null, holder: null, valid: false, code: 'share_replaced', reason: REPLACED })
    // A root token attempt refuses an old share before the server hears of it.
    const { nonce: rootNonce } = await call('attempt.start', { flow: 'root' })
    const rootUpdates = () => api.logs.filter((l) => /generate-root(-token)?\/update/.test(l)).length
    expect(await refusal('attempt.update', { flow: 'root', key: old[0], nonce: rootNonce, holder: 'Alice' })).toMatchObject({ code: 'share_replaced', message: `${cap(REPLACED)}.` })
    expect(rootUpdates()).toBe(0)
    await call('attempt.cancel', { flow: 'root' })
    // So does the next rekey, among its current shares.
    const second = await call('rekey.start', { shares: 3, threshold: 2, verification: 'threshold' })
    expect(await refusal('rekey.update', { key: old[1], nonce: second.status.nonce, holder: 'Bob' })).toMatchObject({ code: 'share_replaced' })
    expect(calls('PUT', 'update')).toBe(2)
    await call('rekey.cancel')

    // Sealed, the server opens with the new shares through the app's unseal; an old share reaches no node.
    expect((await api.call('PUT', 'sys/seal', undefined, { 'X-Vault-Token': token })).status).toBe(204)
    await call('backend.connectRemote', { id: profileId })
    expect((await call('backend.describe')).shareChecks).toMatchObject({ checked: true })
    const unseals = api.logs.filter((l) => l.includes('sys/unseal')).length
    expect(await refusal('unseal.submit', { holder: 'Alice', key: old[0] })).toMatchObject({ code: 'share_replaced', message: `${cap(REPLACED)}.` })
    expect(api.logs.filter((l) => l.includes('sys/unseal')).length).toBe(unseals)
    await call('unseal.submit', { holder: 'Gina', key: fresh[3] })
    await call('unseal.submit', { holder: 'Hal', key: fresh[4] })
    expect((await call('unseal.submit', { holder: 'Dana', key: fresh[0] })).unsealed).toBe(true)

    const { lines, text, finalHash } = await rekeyRecord(false, nonce)
    const completed = lines.find((l) => l.type === 'rekey_completed')!
    expect(completed.data).toEqual({ server: new URL(api.url).origin, shares: 5, threshold: 3, check_file: 'updated', check_generation: 2 })
    expect(lines.filter((l) => l.type === 'new_share_verified').map((l) => l.data)).toEqual([
      { holder: 'Dana', share_number: 1, progress: 1, required: 3 },
      { holder: 'Eve', share_number: 2, progress: 2, required: 3 },
      { holder: 'Frank', share_number: 3, progress: 3, required: 3 },
    ])
    expect(printRecord(lines, finalHash)).toContain('server check file at generation 2')
    const dir = join(configDir, 'records')
    const cli = await runCli(['record', 'verify', join(dir, (await readdir(dir)).find((f) => f.includes(`rekey-${nonce}`))!)])
    expect(cli.code, cli.stderr).toBe(0)
    const secrets = [...old.map((k, i) => secret(`old share ${i + 1}`, k)), ...fresh.map((k, i) => secret(`new share ${i + 1}`, k)), secret('root token', token)]
    expect(leaks(secrets, [{ name: 'record', content: text }, { name: 'check file', content: await readFile(checksPath(), 'utf8') }])).toEqual([])
  })

  it('with PGP keys Tessera encrypts each new share itself (the server gets none); a cancel mid-way leaves generation 1 current and no pending one', async () => {
    const keys = await holderKeys(5)
    const { shares: old } = await initialized()
    const started = await call('rekey.start', { shares: 5, threshold: 3, holders: NEW_HOLDERS, pgpKeys: keys.map((k) => k.publicKey), verification: 'threshold' })
    expect(started.status.pgp_fingerprints).toEqual(keys.map((k) => k.priv.fingerprint))
    // The server was asked for the new shares in the clear.
    expect((await api.call('GET', 'sys/rekey/init')).json).toMatchObject({ started: true, pgp_fingerprints: null })
    await enterCurrent(old, started.status.nonce)
    const pending = (await readServerChecks(checksPath()))!
    const files = await handOutAll(2)
    for (const [i, file] of files.entries()) {
      expect(file.encrypted).toBe(true)
      const text = Buffer.from(await decryptWith(keys[i]!.priv, Buffer.from(file.key_base64, 'base64'))).toString('utf8')
      expect(text).toMatch(/^[0-9a-f]{66}$/)
      expect(await recognizeServerShare({ ...pending, ...pending.pending! }, Buffer.from(text))).toEqual({ number: i + 1, holder: NEW_HOLDERS[i] })
      expect(pending.pending!.shares[i]!.pgp_keys).toContain(keys[i]!.priv.fingerprint)
    }
    // Abandoning the hand-out cancels the rekey: the server's and the file's.
    await call('handout.finish', { abandon: true })
    expect((await call('rekey.status')).status.started).toBe(false)
    const after = (await readServerChecks(checksPath()))!
    expect(after).toMatchObject({ generation: 1, secret_shares: 3 })
    expect(after.pending).toBeUndefined()
    expect(await call('shares.check', { share: old[2] })).toEqual({ number: 3, holder: 'Carol', valid: true })

    // Cancelled during its verification, the same.
    const again = await call('rekey.start', { shares: 3, threshold: 2, verification: 'threshold' })
    await enterCurrent(old, again.status.nonce)
    expect((await readServerChecks(checksPath()))!.pending?.generation).toBe(2)
    await handOutAll(3)
    await call('handout.finish')
    await call('rekey.cancel')
    expect((await readServerChecks(checksPath()))!.pending).toBeUndefined()
    const { lines } = await rekeyRecord(true)
    expect(lines.map((l) => l.type).slice(-3)).toEqual(['rekey_cancelled', 'wiped', 'closed'])
  })

  it('a backup asked: the server encrypts, and the check file is moved aside once the new shares take effect, as the view said and the record says', async () => {
    const keys = await holderKeys(3)
    const { shares: old } = await initialized({ token: true })
    expect((await call('rekey.status')).offered).toMatchObject({ checkFile: 1 })
    const started = await call('rekey.start', { shares: 3, threshold: 2, pgpKeys: keys.map((k) => k.publicKey), backup: true, verification: 'threshold' })
    expect(started.status).toMatchObject({ backup: true, pgp_fingerprints: keys.map((k) => k.priv.fingerprint) })
    await enterCurrent(old, started.status.nonce)
    // Tessera has no check value of shares it never saw: no pending generation.
    expect((await readServerChecks(checksPath()))!.pending).toBeUndefined()
    const fresh = await handOutEncrypted(keys, 3)
    const vnonce = (await call('rekey.status')).verify.nonce
    await call('rekey.verify', { key: fresh[0], nonce: vnonce })
    const done = await call('rekey.verify', { key: fresh[1], nonce: vnonce })
    expect(done.complete).toBe(true)
    await expect(access(checksPath())).rejects.toThrow()
    const retired = (await readServerChecks(`${checksPath()}.retired-1`))!
    expect(retired).toMatchObject({ generation: 1, secret_shares: 3 })
    expect(done.backend.info.shareChecks).toEqual({ checked: false, note: expect.stringMatching(/^The server check file of generation 1 was moved aside to .*\.retired-1: .*as Vault does\.$/) })
    expect((await call('rekey.backup')).keys).toEqual(expect.any(Object))
    const { lines } = await rekeyRecord()
    expect(lines.find((l) => l.type === 'rekey_completed')!.data).toEqual({ server: new URL(api.url).origin, shares: 3, threshold: 2, check_file: 'retired', check_generation: 1 })
  })

  it("without a check file: the server's own behaviour, PGP keys sent to the server, and the record says there was none", async () => {
    const keys = await holderKeys(2)
    const { shares: old } = await initialized()
    const { rename } = await import('node:fs/promises')
    await rename(checksPath(), `${checksPath()}.moved`)
    await call('backend.connectRemote', { id: profileId })
    expect((await call('rekey.status')).offered).toMatchObject({ checkFile: null })
    const started = await call('rekey.start', { shares: 2, threshold: 2, pgpKeys: keys.map((k) => k.publicKey), verification: 'threshold' })
    expect((await api.call('GET', 'sys/rekey/init')).json.pgp_fingerprints).toEqual(keys.map((k) => k.priv.fingerprint))
    // Unchecked, a share is named by nobody: the server alone takes it.
    expect((await call('rekey.update', { key: old[0], nonce: started.status.nonce, holder: 'Alice' })).last_share).toBeUndefined()
    await call('rekey.update', { key: old[1], nonce: started.status.nonce, holder: 'Bob' })
    const fresh = await handOutEncrypted(keys, 2)
    const vnonce = (await call('rekey.status')).verify.nonce
    await call('rekey.verify', { key: fresh[0], nonce: vnonce })
    expect((await call('rekey.verify', { key: fresh[1], nonce: vnonce })).complete).toBe(true)
    await expect(access(checksPath())).rejects.toThrow()
    const { lines } = await rekeyRecord()
    expect(lines.find((l) => l.type === 'rekey_completed')!.data).toEqual({ server: new URL(api.url).origin, shares: 2, threshold: 2, check_file: 'none' })
  })

  it('a pending generation left by a Tessera that stopped: shares of either generation are recognized, named by generation', async () => {
    const { shares: old } = await initialized()
    const started = await call('rekey.start', { shares: 3, threshold: 2, holders: ['Dana', 'Eve', 'Frank'], verification: 'threshold' })
    await enterCurrent(old, started.status.nonce)
    const fresh = (await handOutAll(3)).map((s) => s.key)
    // Another Tessera opens the profile while this one holds the rekey, as one started after a crash would.
    const first = session
    session = new Session({ connections: new Connections(await ProfileStore.open(join(configDir, 'profiles.json')), new SessionCredentials()), configDir })
    closers.push(() => first.close().then(() => undefined))
    await call('backend.connectRemote', { id: profileId })
    const { shareChecks } = await call('backend.describe')
    expect(shareChecks).toEqual({ checked: true, note: expect.stringMatching(/^Each share is checked .*: generation 1, and generation 2 made by the rekey of \S+, which was not seen to finish\. A share of either is recognized and named by its generation; /) })
    expect(await call('shares.check', { share: old[0] })).toEqual({ number: 1, holder: 'Alice', valid: true })
    expect(await call('shares.check', { share: fresh[1] })).toEqual({ number: 2, holder: 'Eve', valid: true, reason: 'a share of generation 2, made by a rekey that was not seen to finish' })
    expect((await call('shares.check', { share: mistypeAt(fresh[1]!, 5) })).code).toBe('share_mismatch')
  })

  it('new shares that are not Vault shares are refused, the rekey cancelled, and nothing handed out or written', async () => {
    const lie: Lie = (path, reply) =>
      /rekey\/update/.test(path) && reply.complete ? { ...reply, keys: reply.keys.map((_: string, i: number) => `0a0b0c0${i + 1}`), keys_base64: undefined } : reply
    const { shares: old } = await initialized({ lie })
    const started = await call('rekey.start', { shares: 3, threshold: 2, verification: 'threshold' })
    await call('rekey.update', { key: old[0], nonce: started.status.nonce, holder: 'Alice' })
    expect(await refusal('rekey.update', { key: old[1], nonce: started.status.nonce, holder: 'Bob' })).toMatchObject({
      code: 'bad_reply',
      message: "The server's new shares are not Vault shares: Tessera cancelled the rekey, and the current shares stay in effect.",
    })
    expect((await call('session.state')).handOut).toBeNull()
    expect((await api.call('GET', 'sys/rekey/init')).json.started).toBe(false)
    expect((await call('rekey.status')).status.started).toBe(false)
    expect((await readServerChecks(checksPath()))).toMatchObject({ generation: 1 })
    expect((await readServerChecks(checksPath()))!.pending).toBeUndefined()
    const { lines } = await rekeyRecord()
    expect(lines.map((l) => l.type)).toContain('rekey_cancelled')
    expect(lines.find((l) => l.type === 'share_refused')!.data).toMatchObject({ reason: 'bad_reply' })
  })
})

/** `count` holders' PGP keys. */
async function holderKeys(count: number): Promise<Array<{ publicKey: string; priv: PrivateKeyInfo }>> {
  return Promise.all(
    NEW_HOLDERS.slice(0, count).map(async (name) => {
      const { publicKey, privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name }], format: 'armored' })
      return { publicKey, priv: await readPrivateKey(privateKey) }
    }),
  )
}

describe('a rekey started here that this window no longer follows: its record says only what is known', () => {
  it('completed elsewhere: not "cancelled", but no longer running on the server', async () => {
    const { shares: old } = await initialized()
    const started = await call('rekey.start', { shares: 3, threshold: 2, verification: 'threshold' })
    await enterCurrent(old, started.status.nonce)
    const fresh = (await handOutAll(3)).map((s) => s.key)
    await call('handout.finish')
    // Another client (the vault CLI) completes the verification.
    const { nonce } = (await api.call('GET', 'sys/rekey/verify')).json
    for (const key of fresh.slice(0, 2)) expect((await api.call('PUT', 'sys/rekey/verify', { key, nonce })).status).toBe(200)

    const view = await call('rekey.status')
    expect(view.status.started).toBe(false)
    expect(view.log.at(-1)).toMatchObject({ operator: 'Tessera', ok: false, outcome: expect.stringMatching(/^the server no longer runs this rekey: it completed or was cancelled elsewhere/) })
    const { lines, finalHash } = await rekeyRecord()
    expect(lines.map((l) => l.type)).not.toContain('rekey_cancelled')
    expect(lines.find((l) => l.type === 'rekey_not_followed')!.data).toEqual({ reason: 'not_running' })
    expect(lines.at(-1)!.type).toBe('closed')
    expect(printRecord(lines, finalHash)).toContain('Rekey no longer running on the server: it completed or was cancelled elsewhere, or the server was sealed or restarted; Tessera did not see which')
  })

  it('connected again mid-rekey: the server keeps the rekey, and the record says it was no longer followed, not cancelled', async () => {
    const { shares: old } = await initialized()
    const started = await call('rekey.start', { shares: 3, threshold: 2, verification: 'threshold' })
    await call('rekey.update', { key: old[0], nonce: started.status.nonce, holder: 'Alice' })
    await call('backend.connectRemote', { id: profileId })
    await call('rekey.status')
    expect((await api.call('GET', 'sys/rekey/init')).json).toMatchObject({ started: true, nonce: started.status.nonce, progress: 1 })
    const { lines } = await rekeyRecord()
    expect(lines.map((l) => l.type)).not.toContain('rekey_cancelled')
    expect(lines.find((l) => l.type === 'rekey_not_followed')!.data).toEqual({ reason: 'other_connection' })
  })
})

describe('a pending generation whose rekey was not seen to finish is settled once the server proves which generation is in effect', () => {
  /** A rekey to `counts` left by a Tessera that stopped during its verification (its new shares handed out); another Tessera now holds the session. */
  async function leftPending(old: string[], counts: { shares: number; threshold: number }): Promise<{ fresh: string[]; first: Session }> {
    const started = await call('rekey.start', { ...counts, verification: 'threshold' })
    await enterCurrent(old, started.status.nonce)
    const fresh = (await handOutAll(counts.shares)).map((s) => s.key)
    const first = session
    session = new Session({ connections: new Connections(await ProfileStore.open(join(configDir, 'profiles.json')), new SessionCredentials()), configDir })
    closers.push(() => first.close().then(() => undefined))
    return { fresh, first }
  }
  /** The verification completed outside Tessera (the vault CLI), with `keys`. */
  async function verifyElsewhere(keys: string[]): Promise<void> {
    const { nonce } = (await api.call('GET', 'sys/rekey/verify')).json
    for (const key of keys) expect((await api.call('PUT', 'sys/rekey/verify', { key, nonce })).status).toBe(200)
  }
  const note = async () => (await call('backend.describe')).shareChecks.note as string
  /** The lines of the latest record named `part` (an attempt's nonce, "unseal-"), verified. */
  async function recordOf(part: string) {
    const dir = join(configDir, 'records')
    const named = (await readdir(dir)).filter((f) => f.includes(part))
    const times = await Promise.all(named.map(async (f) => (await stat(join(dir, f))).mtimeMs))
    const file = named[times.indexOf(Math.max(...times))]!
    const v = verifyRecord(await readFile(join(dir, file), 'utf8'))
    if (!v.ok) throw new Error(v.problem)
    return v.lines
  }

  it("counts that only the pending generation has: made current as the profile is opened, and an old share is named as replaced", async () => {
    const { shares: old } = await initialized()
    const { fresh, first } = await leftPending(old, { shares: 5, threshold: 3 })
    await verifyElsewhere(fresh.slice(0, 3))
    // The Tessera that started the rekey stops: its cancel finds the rekey gone, and leaves the pending generation.
    await first.close()
    const pending = (await readServerChecks(checksPath()))!.pending!
    await call('backend.connectRemote', { id: profileId })
    const after = (await readServerChecks(checksPath()))!
    expect(after).toMatchObject({ generation: 2, secret_shares: 5, earlier_generations: [{ generation: 1, replaced_at: pending.created_at }] })
    expect(after.pending).toBeUndefined()
    expect(await note()).toBe(
      `Each share is checked as it is entered, against the server check file of generation 2. The rekey of ${pending.created_at}, not seen to finish, took effect ` +
        "(the server's share count and threshold are generation 2's): generation 1 is kept as replaced.",
    )
    expect(await call('shares.check', { share: old[0] })).toMatchObject({ valid: false, code: 'share_replaced' })
    expect(await call('shares.check', { share: fresh[4] })).toEqual({ number: 5, holder: null, valid: true })
  })

  it('vanished when the server sealed: both kept while the server is sealed, dropped once an unseal with current shares opens it', async () => {
    const { shares: old, token } = await initialized()
    const { fresh } = await leftPending(old, { shares: 5, threshold: 3 })
    expect((await api.call('PUT', 'sys/seal', undefined, { 'X-Vault-Token': token })).status).toBe(204)
    await call('backend.connectRemote', { id: profileId })
    // Sealed, the server cannot say whether a rekey waits elsewhere: nothing is settled yet.
    expect((await readServerChecks(checksPath()))!.pending?.generation).toBe(2)
    expect(await note()).toMatch(/not seen to finish\. A share of either is recognized/)
    await call('unseal.submit', { holder: 'Alice', key: old[0] })
    expect((await call('unseal.submit', { holder: 'Bob', key: old[1] })).unsealed).toBe(true)
    const after = (await readServerChecks(checksPath()))!
    expect(after).toMatchObject({ generation: 1, secret_shares: 3, earlier_generations: [] })
    expect(after.pending).toBeUndefined()
    expect(await note()).toMatch(/^Each share is checked .* generation 1\. The rekey of \S+, not seen to finish, did not take effect \(a share of generation 1 unsealed the server, and it runs no rekey\): its shares were dropped\.$/)
    expect((await call('shares.check', { share: fresh[0] })).valid).toBe(false)
    const lines = await recordOf('unseal-')
    expect(lines.map((l) => l.type).slice(-4)).toEqual(['unseal_share', 'check_file_settled', 'unseal_ended', 'closed'])
    expect(lines.find((l) => l.type === 'check_file_settled')!.data).toEqual({ generation: 1, pending: 'dropped' })
  })

  it('same counts: a root token made with current shares while the rekey still waits settles nothing; made with new shares once it completed elsewhere, it makes them current', async () => {
    const { shares: old } = await initialized()
    const { fresh } = await leftPending(old, { shares: 3, threshold: 2 })
    await call('backend.connectRemote', { id: profileId })
    const rootWith = async (keys: string[]) => {
      const { nonce } = await call('attempt.start', { flow: 'root' })
      let reply
      for (const key of keys) reply = await call('attempt.update', { flow: 'root', key, nonce })
      expect(reply.complete).toBe(true)
      await call('session.wipe')
      return nonce as string
    }
    const first = await rootWith(old.slice(0, 2))
    // The server still runs that rekey: its verification could yet apply the pending generation.
    expect((await readServerChecks(checksPath()))!.pending?.generation).toBe(2)
    expect((await recordOf(first)).map((l) => l.type)).not.toContain('check_file_settled')

    await verifyElsewhere(fresh.slice(0, 2))
    const second = await rootWith(fresh.slice(1, 3))
    const after = (await readServerChecks(checksPath()))!
    expect(after).toMatchObject({ generation: 2, earlier_generations: [{ generation: 1 }] })
    expect(after.pending).toBeUndefined()
    expect(await note()).toMatch(/took effect \(an attempt completed with a share of generation 2\): generation 1 is kept as replaced\.$/)
    const lines = await recordOf(second)
    expect(lines.find((l) => l.type === 'check_file_settled')!.data).toEqual({ generation: 2, pending: 'made_current' })
    expect(printRecord(lines, lines.at(-1)!.hash)).toContain('Server check file: generation 2 is in effect; the pending generation of a rekey not seen to finish was made current')
    expect(await call('shares.check', { share: old[2] })).toMatchObject({ valid: false, code: 'share_replaced' })
  })
})
