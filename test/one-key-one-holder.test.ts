import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { access, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createRouter } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'
import * as openpgp from 'openpgp'
import { readPublicKey } from '../src-main/crypto/pgp'
import { Keyset } from '../src-main/engine/keyset'
import { Gpg } from './helpers/gnupg'
import { runCli } from './helpers/cli'
import { ipcCalls } from './helpers/ipc'
import { makeKeyset, tempDir } from './helpers/keysets'

/**
 * One key, one holder: whoever holds a private key holds every share encrypted
 * to it, so one key given for two holders (the same primary, or a subkey two
 * keys share) lets one person reach the threshold alone. Refused everywhere a
 * share is encrypted to a key, unless the operator confirms it; the record then says so.
 */

let gpg: Gpg
let dir: string
let cleanup: () => Promise<void>
const file = (name: string) => join(dir, name)
let subkeyShared: string

beforeAll(async () => {
  ;({ dir, cleanup } = await tempDir('tessera-one-key-'))
  gpg = new Gpg()
  // Mallory's key carries Bob's encryption subkey beside her own primary: made
  // first, since gpg binds no subkey older than the primary.
  for (const uid of ['mallory', 'alice', 'bob', 'carol']) gpg.generate(uid)
  subkeyShared = gpg.shareSubkey('mallory', 'bob')
  for (const uid of ['alice', 'bob', 'carol', 'mallory']) await writeFile(file(`${uid}.asc`), gpg.exportPublic(uid, true))
  // The same key again, exported binary: another file, the same holder.
  await writeFile(file('alice.gpg'), gpg.exportPublic('alice'))
}, 60_000)
afterAll(async () => {
  gpg.close()
  await cleanup()
})

const lines = async (path: string) => (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l))
const exists = (path: string) => access(path).then(() => true, () => false)

describe('tessera init --pgp-keys', () => {
  it('reads every fingerprint of a key, the primary and each subkey', async () => {
    const mallory = await readPublicKey(await readFile(file('mallory.asc')))
    expect(mallory.keyFingerprints[0]).toBe(mallory.fingerprint)
    expect(mallory.keyFingerprints).toContain(subkeyShared)
    expect(mallory.keyFingerprints.length).toBe(3)
  })

  it('refuses a key with more subkeys than a keyset records', async () => {
    const { publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Many' }], subkeys: Array.from({ length: 33 }, () => ({})), format: 'armored' })
    await expect(readPublicKey(publicKey)).rejects.toThrow(/has 33 subkeys; Tessera takes keys with at most 32/)
  })

  it('refuses one key (armored and binary) for two holders, and writes no keyset', async () => {
    const keyset = file('same.json')
    const r = await runCli(['init', '--keyset', keyset, '--shares', '3', '--threshold', '2', '--holders', 'Alice,Bob,Al', '--pgp-keys', [file('alice.asc'), file('bob.asc'), file('alice.gpg')].join(',')])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/share 3 \(Al\) and share 1 \(Alice\) have the same PGP key \(fingerprint ([0-9A-F]{4} ){9}[0-9A-F]{4}\): one person would hold both shares; .*give --allow-shared-key/)
    expect(await exists(keyset)).toBe(false)
  })

  it('refuses two keys that share a subkey', async () => {
    const r = await runCli(['init', '--keyset', file('subkey.json'), '--shares', '2', '--threshold', '2', '--pgp-keys', `${file('bob.asc')},${file('mallory.asc')}`])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`share 2 and share 1 have the same PGP key (fingerprint ${subkeyShared.toUpperCase().match(/.{4}/g)!.join(' ')})`)
    expect(await exists(file('subkey.json'))).toBe(false)
  })

  it('with --allow-shared-key, creates the keyset, records each share\'s key, and the record says shared_key', async () => {
    const keyset = file('allowed.json')
    const record = file('allowed.jsonl')
    const r = await runCli(['init', '--keyset', keyset, '--shares', '3', '--threshold', '2', '--pgp-keys', [file('alice.asc'), file('bob.asc'), file('alice.gpg')].join(','), '--allow-shared-key', '--record', record])
    expect(r.code, r.stderr).toBe(0)
    const created = (await lines(record)).find((l) => l.type === 'keyset_created')
    expect(created.data.shared_key).toBe(true)
    const alice = await readPublicKey(await readFile(file('alice.asc')))
    const records = JSON.parse(await readFile(keyset, 'utf8')).issued_shares
    expect(records.map((s: { pgp_keys: string[] }) => s.pgp_keys[0])).toEqual([alice.fingerprint, expect.any(String), alice.fingerprint])
    expect(records[0].pgp_keys).toEqual(alice.keyFingerprints)
    // Distinct keys: no shared_key in the record.
    const plain = file('distinct.jsonl')
    const ok = await runCli(['init', '--keyset', file('distinct.json'), '--shares', '2', '--threshold', '2', '--pgp-keys', `${file('alice.asc')},${file('bob.asc')}`, '--allow-shared-key', '--record', plain])
    expect(ok.code, ok.stderr).toBe(0)
    expect((await lines(plain)).find((l) => l.type === 'keyset_created').data).not.toHaveProperty('shared_key')
  })
})

describe('the app', () => {
  const key = (uid: string) => readFile(file(`${uid}.asc`), 'utf8')

  it('refuses one key for two holders at create, unless allowSharedKey', async () => {
    const { call, refusal } = ipcCalls(() => createRouter(handlersFor(new Session())))
    const input = { path: file('app.json'), shares: 2, threshold: 2, pgpKeys: [await key('bob'), await key('mallory')], holders: ['Bob', 'Mallory'] }
    const refused = await refusal('backend.initKeyset', input)
    expect(refused.code).toBe('shared_pgp_key')
    expect(refused.message).toMatch(/share 2 \(Mallory\) and share 1 \(Bob\) have the same PGP key.*tick "One person holds several of these shares"/i)
    expect(await exists(input.path)).toBe(false)
    const summary = await call('backend.initKeyset', { ...input, allowSharedKey: true })
    expect(summary.shares).toBe(2)
  })

  it('refuses a new share for a key that already holds one, unless allowSharedKey; the record says so', async () => {
    const path = file('flow.json')
    await runCli(['init', '--keyset', path, '--shares', '3', '--threshold', '2', '--holders', 'Alice,Bob,Carol', '--pgp-keys', ['alice', 'bob', 'carol'].map((u) => file(`${u}.asc`)).join(','), '--format', 'json']).then((r) => expect(r.code, r.stderr).toBe(0))
    const session = new Session({ configDir: join(dir, 'config') })
    const { call, refusal } = ipcCalls(() => createRouter(handlersFor(session)))
    await call('backend.openKeyset', { path })
    // Mallory's key shares Bob's subkey: it already holds share 2.
    const refused = await refusal('attempt.start', { flow: 'share', pgpKey: await key('mallory') })
    expect(refused.code).toBe('shared_pgp_key')
    expect(refused.message).toContain('The new share and share 2 (Bob) have the same PGP key')
    expect((await call('attempt.status', { flow: 'share' })).started).toBe(false)
    const started = await call('attempt.start', { flow: 'share', pgpKey: await key('mallory'), allowSharedKey: true })
    expect(started.started).toBe(true)
    const record = (await call('session.state')).record.path
    expect((await lines(record)).find((l) => l.type === 'attempt_started').data).toMatchObject({ flow: 'share', shared_key: true })
    await call('attempt.cancel', { flow: 'share' })
  })

  it('records the new share\'s key, so that a second share for it is refused too (the engine, as tessera serve runs it)', async () => {
    const ks = await makeKeyset(dir, { shares: 3, threshold: 2 })
    const session = new Session()
    const { call, refusal } = ipcCalls(() => createRouter(handlersFor(session)))
    await call('backend.openKeyset', { path: ks.path })
    // A keyset without recorded keys (as every keyset made before) takes any key.
    const carol = await key('carol')
    const start = await call('attempt.start', { flow: 'share', pgpKey: carol })
    await call('attempt.update', { flow: 'share', key: ks.keys[0], nonce: start.nonce })
    const done = await call('attempt.update', { flow: 'share', key: ks.keys[1], nonce: start.nonce })
    expect(done.complete).toBe(true)
    const carolInfo = await readPublicKey(carol)
    const keyset = await Keyset.open(ks.path)
    expect(keyset.holderKeys()).toEqual([{ number: 4, holder: null, fingerprints: carolInfo.keyFingerprints }])
    await call('session.wipe')
    const again = await refusal('attempt.start', { flow: 'share', pgpKey: carol })
    expect(again.code).toBe('shared_pgp_key')
    expect(again.message).toContain('share 4 have the same PGP key')
  })
})
