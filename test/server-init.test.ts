import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import * as openpgp from 'openpgp'
import { decryptWith, readPrivateKey, type PrivateKeyInfo } from '../src-main/crypto/pgp'
import { handlersFor } from '../src-main/ipc/handlers'
import { createRouter } from '../src-main/ipc/router'
import { Connections } from '../src-main/profiles/connections'
import { SessionCredentials } from '../src-main/profiles/credentials'
import { ProfileStore } from '../src-main/profiles/profile-store'
import { readServerChecks, recognizeServerShare } from '../src-main/profiles/server-checks'
import { explainRefusal } from '../src-main/remote/explain'
import { verifyRecord } from '../src-main/record/verify'
import { printRecord } from '../src-main/record/printed'
import { Session } from '../src-main/session/session'
import type { UnsealView } from '../src-main/session/unseal-views'
import { runCli } from './helpers/cli'
import { ipcCalls } from './helpers/ipc'
import { mistypeAt, tempDir } from './helpers/keysets'
import { startUninitializedApi } from './helpers/server'

/**
 * Initializing a server through its profile: PUT sys/init over real loopback
 * HTTP to `tessera serve --uninitialized`'s API, the shares handed out, the
 * server check file beside the profiles, and the record.
 */

let tmp: Awaited<ReturnType<typeof tempDir>>
let api: Awaited<ReturnType<typeof startUninitializedApi>>
let configDir: string
let session: Session
let profileId: string
const { call, refusal } = ipcCalls(() => createRouter(handlersFor(session)))

interface Holder {
  publicKey: string
  priv: PrivateKeyInfo
}
let holders: Holder[]

async function holderKey(name: string): Promise<Holder> {
  const { publicKey, privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name }], format: 'armored' })
  return { publicKey, priv: await readPrivateKey(privateKey) }
}

beforeAll(async () => {
  tmp = await tempDir('tessera-server-init-')
  holders = await Promise.all(['Alice', 'Bob', 'Carol', 'Root'].map(holderKey))
})
afterAll(() => tmp.cleanup())

let n = 0
beforeEach(async () => {
  n++
  configDir = join(tmp.dir, `config-${n}`)
  api = await startUninitializedApi(join(tmp.dir, `keyset-${n}.json`))
  const connections = new Connections(await ProfileStore.open(join(configDir, 'profiles.json')), new SessionCredentials())
  session = new Session({ connections, configDir })
  profileId = (await call('profiles.save', { profile: { name: 'Lab', address: api.url } })).id
  await call('backend.connectRemote', { id: profileId })
})
afterEach(async () => {
  await session.close()
  await api.close()
})

const checksPath = () => join(configDir, 'server-checks', `${profileId}.json`)
const sealStatus = async () => (await api.call('GET', 'sys/seal-status')).json as { initialized: boolean; sealed: boolean }

/** Unseals the served keyset with `keys`: true once it opened. */
async function unsealsWith(keys: string[]): Promise<boolean> {
  let sealed = true
  for (const key of keys) sealed = ((await api.call('PUT', 'sys/unseal', { key })).json as { sealed: boolean }).sealed
  return !sealed
}

/** The record file of the ceremony, verified. */
async function record() {
  const dir = join(configDir, 'records')
  const [file] = (await readdir(dir)).filter((f) => f.includes('init-server'))
  const v = verifyRecord(await readFile(join(dir, file!), 'utf8'))
  if (!v.ok) throw new Error(v.problem)
  return v
}

describe('a server before init', () => {
  it('offers no flow: only its init can run', async () => {
    const info = await call('backend.describe')
    expect(info.kind).toBe('remote')
    expect(info.seal).toMatchObject({ initialized: false, flows: [] })
  })
})

describe('init through the profile', () => {
  it('hands out named holders\' shares once, after a check file that holds no share and recognizes each', async () => {
    const names = ['Alice', 'Bob', 'Carol']
    const summary = await call('backend.initServer', { shares: 3, threshold: 2, holders: names })
    expect(summary).toMatchObject({ ceremony: 'init', place: { kind: 'server', name: `Lab (${api.url})` }, shares: 3, threshold: 2, holders: names, rootToken: true, checkFile: checksPath() })
    expect(summary.warnings).toBeUndefined()
    // As Vault after init: initialized, sealed.
    expect(await sealStatus()).toMatchObject({ initialized: true, sealed: true })

    const file = await readFile(checksPath(), 'utf8')
    const shares: string[] = []
    for (let i = 0; i < 3; i++) {
      const shown = await call('handout.revealShare', { index: i })
      expect(shown.encrypted).toBe(false)
      shares.push(shown.key)
      expect(file).not.toContain(shown.key)
      expect(file).not.toContain(shown.key_base64)
    }
    const token = (await call('handout.revealRootToken')).value
    expect(file).not.toContain(token)

    const checks = (await readServerChecks(checksPath()))!
    expect(checks).toMatchObject({ tessera_server_checks: 3, server: api.url, cluster_id: null, generation: 1, secret_shares: 3, secret_threshold: 2 })
    expect(checks.shares.map((s) => [s.number, s.holder])).toEqual([[1, 'Alice'], [2, 'Bob'], [3, 'Carol']])
    for (const [i, share] of shares.entries()) {
      expect(await recognizeServerShare(checks, Buffer.from(share))).toEqual({ number: i + 1, holder: names[i] })
      // Vault's "Unseal Key N" is the share's place in keys; its x coordinate is its last byte.
      expect(checks.shares[i]!.x).toBe(Buffer.from(share, 'hex').at(-1))
    }
    await expect(recognizeServerShare(checks, Buffer.from(mistypeAt(shares[1]!, 7)))).rejects.toThrow(/does not match share 2 \(Bob\) — probably a typing mistake/)
    await expect(recognizeServerShare(checks, Buffer.from(`${shares[0]!.slice(0, -2)}ff`))).rejects.toThrow(/not one of this server's shares/)
    // The shares open the server they came from.
    expect(await unsealsWith(shares.slice(0, 2))).toBe(true)

    await call('handout.finish')
    const v = await record()
    const types = v.lines.map((l) => l.type)
    expect(types).toEqual(['backend_opened', 'server_initialized', 'share_handed_out', 'share_handed_out', 'share_handed_out', 'root_token_revealed', 'init_finished', 'wiped', 'closed'])
    expect(v.lines[1]!.data).toEqual({ shares: 3, threshold: 2, holders: names, check_file: true })
    expect(printRecord(v.lines, v.finalHash)).toContain('Server initialized')
    const dir = join(configDir, 'records')
    const cli = await runCli(['record', 'verify', join(dir, (await readdir(dir)).find((f) => f.includes('init-server'))!)])
    expect(cli.code, cli.stderr).toBe(0)
  })

  it('encrypts each share to its holder as Vault would: a PGP message of the share\'s hex, read by the holder\'s key', async () => {
    const summary = await call('backend.initServer', {
      shares: 3, threshold: 2, pgpKeys: holders.slice(0, 3).map((h) => h.publicKey), rootTokenPgpKey: holders[3]!.publicKey,
    })
    expect(summary.recipients.map((r: { fingerprint: string }) => r.fingerprint)).toEqual(holders.slice(0, 3).map((h) => h.priv.fingerprint))
    expect(summary.warnings).toBeUndefined()
    expect(summary.rootTokenKey.fingerprint).toBe(holders[3]!.priv.fingerprint)
    const checks = (await readServerChecks(checksPath()))!
    const shares: string[] = []
    for (let i = 0; i < 3; i++) {
      const file = await call('handout.revealShare', { index: i })
      expect(file.encrypted).toBe(true)
      const text = Buffer.from(await decryptWith(holders[i]!.priv, Buffer.from(file.key_base64, 'base64'))).toString('utf8')
      expect(text).toMatch(/^[0-9a-f]{66}$/)
      expect(await recognizeServerShare(checks, Buffer.from(text))).toEqual({ number: i + 1, holder: null })
      expect(checks.shares[i]!.pgp_keys).toContain(holders[i]!.priv.fingerprint)
      shares.push(text)
      await call('handout.shareSaved', { index: i })
    }
    // The server encrypted the root token: base64 of a PGP message whose plaintext is the token.
    const encrypted = (await call('handout.revealRootToken')).value
    const token = Buffer.from(await decryptWith(holders[3]!.priv, Buffer.from(encrypted, 'base64'))).toString('utf8')
    expect(token).toMatch(/^hvs\./)
    expect(await unsealsWith(shares.slice(1))).toBe(true)
    await call('handout.finish')
    const v = await record()
    expect(v.lines[1]!.data).toMatchObject({ root_token_encrypted_to: holders[3]!.priv.fingerprint, check_file: true })
  })
})

/** Initializes the server with named holders and hands every share out: the shares, in order. */
async function initNamed(names: string[]): Promise<string[]> {
  await call('backend.initServer', { shares: names.length, threshold: 2, holders: names })
  const shares: string[] = []
  for (let i = 0; i < names.length; i++) shares.push((await call('handout.revealShare', { index: i })).key)
  await call('handout.revealRootToken')
  await call('handout.finish')
  return shares
}

const updates = () => api.logs.filter((l) => l.includes('generate-root/update')).length

describe('every later ceremony on the server checks each share against the check file', () => {
  it('refuses a mistyped share before it reaches the server, names the share accepted, and checks shares with no ceremony', async () => {
    const names = ['Alice', 'Bob', 'Carol']
    const shares = await initNamed(names)
    expect(await unsealsWith(shares.slice(0, 2))).toBe(true)
    // Connected again, as a later ceremony would be: the check file is read.
    await call('backend.connectRemote', { id: profileId })
    const backend = await call('session.snapshot')
    expect(backend.backend.info.shareChecks).toEqual({ checked: true, note: expect.stringMatching(/checked as it is entered/) })
    expect(backend.backend.shares).toEqual({ canCheck: true, shares: names.map((holder, i) => ({ number: i + 1, holder })) })

    const { nonce } = await call('attempt.start', { flow: 'root' })
    const before = updates()
    const refused = await refusal('attempt.update', { flow: 'root', key: mistypeAt(shares[1]!, 9), nonce, holder: 'Bob' })
    expect(refused).toMatchObject({ code: 'share_mismatch', message: 'This does not match share 2 (Bob) — probably a typing mistake.' })
    // Another holder's share is refused as such.
    expect((await refusal('attempt.update', { flow: 'root', key: shares[2], nonce, holder: 'Alice' })).code).toBe('share_other_holder')
    expect(updates()).toBe(before)
    const accepted = await call('attempt.update', { flow: 'root', key: shares[1], nonce, holder: 'Bob' })
    expect(accepted.last_share).toEqual({ number: 2, holder: 'Bob', checked: true })
    expect(accepted.progress).toBe(1)
    expect(updates()).toBe(before + 1)
    await call('attempt.cancel', { flow: 'root' })

    expect(await call('shares.check', { share: shares[2] })).toEqual({ number: 3, holder: 'Carol', valid: true })
    expect(await call('shares.check', { share: mistypeAt(shares[0]!, 3) })).toMatchObject({ valid: false, code: 'share_mismatch' })
  })

  it('checks each share of an unseal once, before any node: a refused share reaches no node and is recorded once', async () => {
    const shares = await initNamed(['Alice', 'Bob', 'Carol'])
    const unseals = () => api.logs.filter((l) => l.includes('sys/unseal')).length
    const refused = [
      await refusal('unseal.submit', { holder: 'Bob', key: mistypeAt(shares[1]!, 9) }),
      await refusal('unseal.submit', { holder: 'Alice', key: shares[2] }),
      await refusal('unseal.submit', { holder: 'Alice', key: `${shares[0]!.slice(0, -2)}ff` }),
    ]
    expect(refused[0]).toMatchObject({ code: 'share_mismatch', message: 'This does not match share 2 (Bob) — probably a typing mistake.' })
    expect(refused.map((r) => r.code)).toEqual(['share_mismatch', 'share_other_holder', 'share_unknown'])
    expect(unseals()).toBe(0)
    const still: UnsealView = await call('unseal.status')
    expect(still.nodes.map((n) => n.seal?.progress)).toEqual([0])
    expect(still.nodes[0]!.last).toBeNull()
    expect(still.log.map((e) => [e.operator, e.ok, e.outcome.endsWith('Sent to no node.')])).toEqual([['Bob', false, true], ['Alice', false, true], ['Alice', false, true]])

    const first = await call('unseal.submit', { holder: 'Bob', key: shares[1] })
    expect(first.share).toEqual({ number: 2, holder: 'Bob' })
    expect(first.log.at(-2)).toMatchObject({ operator: 'Bob', outcome: 'accepted share 2 (Bob): sent to every node still sealed', ok: true })
    expect(first.nodes[0]!.seal?.progress).toBe(1)
    expect(unseals()).toBe(1)
    expect((await call('unseal.submit', { holder: 'Alice', key: shares[0] })).unsealed).toBe(true)

    const dir = join(configDir, 'records')
    const file = join(dir, (await readdir(dir)).find((f) => f.includes('unseal'))!)
    const v = verifyRecord(await readFile(file, 'utf8'))
    if (!v.ok) throw new Error(v.problem)
    const body = v.lines.filter((l) => l.type === 'share_refused' || l.type === 'unseal_share').map((l) => l.data)
    expect(body).toEqual([
      { holder: 'Bob', reason: 'share_mismatch' },
      { holder: 'Alice', reason: 'share_other_holder' },
      { holder: 'Alice', reason: 'share_unknown' },
      { holder: 'Bob', share_number: 2, results: [{ node: 1, outcome: 'accepted', progress: 1 }] },
      { holder: 'Alice', share_number: 1, results: [{ node: 1, outcome: 'unsealed' }] },
    ])
    const printed = printRecord(v.lines, v.finalHash)
    expect(printed).toContain('Bob (share 2): node 1 accepted')
    expect(printed).toContain('Bob: refused (share_mismatch)')
    const cli = await runCli(['record', 'verify', file])
    expect(cli.code, cli.stderr).toBe(0)
  })

  it('without a check file keeps Vault\'s behaviour and says so; a damaged one is said, never used', async () => {
    const info = await call('backend.describe')
    expect(info.shareChecks).toEqual({ checked: false, note: expect.stringMatching(/^No server check file: .* as Vault does\.$/) })
    expect((await call('session.snapshot')).backend.shares).toBeNull()
    expect((await refusal('shares.list')).code).toBe('no_keyset')

    await initNamed(['Ann', 'Ben'])
    await writeFile(checksPath(), (await readFile(checksPath(), 'utf8')).replace('"Ann"', '"Amy"'))
    await call('backend.connectRemote', { id: profileId })
    const damaged = await call('backend.describe')
    expect(damaged.shareChecks.checked).toBe(false)
    expect(damaged.shareChecks.note).toMatch(/^The server check file .* is damaged: it does not match its integrity check .* Until then, shares are not checked as they are entered\.$/)

    // A file whose counts are no longer the server's (a rekey run elsewhere) is not used: it would refuse the new shares.
    const { withIntegrity } = await import('../src-main/engine/keyset-format')
    const { integrity: _i, earlier_generations: _e, ...rest } = JSON.parse(await readFile(checksPath(), 'utf8'))
    await writeFile(checksPath(), JSON.stringify(withIntegrity({ ...rest, secret_threshold: 1, secret_shares: 1, shares: [{ ...rest.shares[0], holder: 'Ann' }] })))
    await call('backend.connectRemote', { id: profileId })
    expect((await call('backend.describe')).shareChecks).toEqual({
      checked: false,
      note: 'Shares are not checked as entered: the server now has 2 shares, threshold 2, and its check file records 1, threshold 1 (a rekey run outside Tessera?).',
    })
  })
})

describe('what stops an init before the server is touched', () => {
  it('refuses a threshold of 1 of 3 in the keyset\'s words, and leaves the server uninitialized', async () => {
    const error = await refusal('backend.initServer', { shares: 3, threshold: 1 })
    expect(error).toMatchObject({ code: 'invalid_input', message: 'Threshold must be greater than one for multiple shares.' })
    expect(await sealStatus()).toMatchObject({ initialized: false })
  })

  it('refuses a holder name twice, and one key for two holders unless ticked', async () => {
    expect((await refusal('backend.initServer', { shares: 2, threshold: 2, holders: ['Ann', 'ann'] })).message).toMatch(/holder name 2 repeats an earlier one/i)
    const same = holders[0]!.publicKey
    expect((await refusal('backend.initServer', { shares: 2, threshold: 2, pgpKeys: [same, same] })).code).toBe('shared_pgp_key')
    expect(await sealStatus()).toMatchObject({ initialized: false })
  })

  it('refuses a check file that cannot be written before sys/init', async () => {
    await mkdir(configDir, { recursive: true })
    // A file where the check files' directory goes.
    await writeFile(join(configDir, 'server-checks'), 'in the way')
    const error = await refusal('backend.initServer', { shares: 3, threshold: 2 })
    expect(error.code).toBe('server_checks')
    expect(error.message).toMatch(/server check file .* cannot be written/)
    expect(await sealStatus()).toMatchObject({ initialized: false })
  })

  it('explains Vault\'s refusal of a server initialized meanwhile, hands nothing out, and records the refusal', async () => {
    await api.call('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 })
    const error = await refusal('backend.initServer', { shares: 3, threshold: 2 })
    expect(error).toMatchObject({ code: 'already_initialized', detail: 'Server said: Vault is already initialized' })
    expect((await call('session.state')).handOut).toBeNull()
    // The record says the server refused, and that nothing was made.
    const v = await record()
    expect(v.closed).toBe(true)
    expect(v.lines.map((l) => [l.type, l.data]).slice(1)).toEqual([['init_abandoned', { reason: 'server_refused', not_handed_out: [] }], ['wiped', {}], ['closed', {}]])
  })
})

describe("Vault's refusals of sys/init, explained", () => {
  it.each([
    ['Vault is already initialized', 'already_initialized'],
    ['invalid seal configuration: threshold must be greater than one for multiple shares', 'bad_request'],
  ] as const)('"%s" is %s', (said, code) => {
    expect(explainRefusal({ path: 'sys/init', method: 'PUT', status: 400, errors: [said], hasToken: false }).code).toBe(code)
  })
})

describe('the server check file, read strictly', () => {
  it('refuses a changed byte, an added field and a share repeated', async () => {
    await call('backend.initServer', { shares: 2, threshold: 2 })
    await call('handout.finish', { abandon: true })
    const text = await readFile(checksPath(), 'utf8')
    await writeFile(checksPath(), text.replace('"generation": 1', '"generation": 2'))
    await expect(readServerChecks(checksPath())).rejects.toThrow(/is damaged: it does not match its integrity check/)
    const json = JSON.parse(text)
    const { withIntegrity } = await import('../src-main/engine/keyset-format')
    const { integrity: _i, ...rest } = json
    await writeFile(checksPath(), JSON.stringify(withIntegrity({ ...rest, root_token: 'x' })))
    await expect(readServerChecks(checksPath())).rejects.toThrow(/not a valid server check file/)
    await writeFile(checksPath(), JSON.stringify(withIntegrity({ ...rest, shares: [rest.shares[0], { ...rest.shares[0], number: 2 }] })))
    await expect(readServerChecks(checksPath())).rejects.toThrow(/repeats an x coordinate/)
  })

  it('still loads a format 1 file; a pending generation is format 2 only, and later than the current one', async () => {
    await call('backend.initServer', { shares: 2, threshold: 2 })
    await call('handout.finish', { abandon: true })
    const { withIntegrity } = await import('../src-main/engine/keyset-format')
    const { integrity: _i, earlier_generations: _e, ...rest } = JSON.parse(await readFile(checksPath(), 'utf8'))
    const { tessera_server_checks: _f, server: _s, cluster_id: _c, ...generation } = rest
    await writeFile(checksPath(), JSON.stringify(withIntegrity({ ...rest, tessera_server_checks: 1 })))
    expect(await readServerChecks(checksPath())).toMatchObject({ tessera_server_checks: 1, generation: 1 })
    await writeFile(checksPath(), JSON.stringify(withIntegrity({ ...rest, tessera_server_checks: 1, pending: { ...generation, generation: 2 } })))
    await expect(readServerChecks(checksPath())).rejects.toThrow(/pending is not a later generation of a format 2 or 3 file/)
    await writeFile(checksPath(), JSON.stringify(withIntegrity({ ...rest, pending: { ...generation, generation: 1 } })))
    await expect(readServerChecks(checksPath())).rejects.toThrow(/pending is not a later generation/)
    await writeFile(checksPath(), JSON.stringify(withIntegrity({ ...rest, pending: { ...generation, generation: 2, secret_shares: 3 } })))
    await expect(readServerChecks(checksPath())).rejects.toThrow(/shares does not hold one record per share/)
  })
})
