import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as openpgp from 'openpgp'
import { createRouter, type Dispatch } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { LocalEngine } from '../src-main/engine/local-engine'
import { verifyRecord } from '../src-main/record/verify'
import { Session } from '../src-main/session/session'
import { ipcCalls } from './helpers/ipc'
import { keysOpen, makeKeyset, mistypeAt, type TestKeyset } from './helpers/keysets'
import { keysetToRekey } from './helpers/rekeys'
import { leaks, secret } from './helpers/secret-forms'

// The rekey ceremony as the page runs it, through the IPC router: current
// shares one at a time, the new shares into the hand-out, their verification,
// the backup, and one record.

let dir: string
let cleanup: () => Promise<void>
let ks: TestKeyset
let session: Session
let dispatch: Dispatch

const { call, refusal } = ipcCalls(() => dispatch)
const NEW_HOLDERS = ['Dana', 'Eve', 'Frank', 'Gina', 'Hal']

beforeEach(async () => {
  ;({ dir, cleanup, ks } = await keysetToRekey('tessera-session-rekey-'))
  session = new Session({ configDir: join(dir, 'config') })
  dispatch = createRouter(handlersFor(session))
  await call('backend.openKeyset', { path: ks.path })
})
afterEach(() => cleanup())

/** Enters the first two current shares; resolves the reply of the one that made the new shares. */
async function enterCurrent(nonce: string) {
  const first = await call('rekey.update', { key: ks.keys[0], nonce, holder: 'Alice' })
  expect(first.status.progress).toBe(1)
  expect(first.last_share).toEqual({ number: 1, holder: 'Alice', checked: true })
  return call('rekey.update', { key: ks.keys[1], nonce, holder: 'Bob' })
}

/** Reveals every new share through the hand-out, as the holders see them. */
async function handOutAll(n: number): Promise<string[]> {
  const shown: string[] = []
  for (let i = 0; i < n; i++) shown.push((await call('handout.revealShare', { index: i })).key)
  return shown
}

describe('a rekey through the app', () => {
  it('offers a keyset a rekey with every verification; none with no backend or in recovery mode', async () => {
    const view = await call('rekey.status')
    expect(view.offered).toEqual({ api: 'keyset', verifyAll: true, verificationNone: true, backupInMemory: true, checkFile: null })
    expect(view.status).toMatchObject({ started: false, required: 2 })
    // The first screen's one answer carries it: the Rekey panel costs no call of its own.
    expect((await call('session.snapshot')).rekey).toEqual(view)
    await call('backend.openKeyset', { path: ks.path, recovery: true })
    expect((await call('rekey.status')).offered).toBeNull()
    expect((await refusal('rekey.start', { shares: 3, threshold: 2, verification: 'none' })).code).toBe('unsupported_flow')
  })

  it('3-of-5 verified by a threshold: new shares only through the hand-out, verified, then in effect; the old ones replaced; one record', async () => {
    const started = await call('rekey.start', { shares: 5, threshold: 3, holders: NEW_HOLDERS, verification: 'threshold' })
    expect(started.status).toMatchObject({ started: true, t: 3, n: 5, progress: 0, required: 2, verification_required: true })
    expect(started.asked).toEqual({ verification: 'threshold', holders: NEW_HOLDERS })
    const { nonce } = started.status
    expect(await call('rekey.confirmNonce', { nonce, holder: 'Alice' })).toEqual({ recorded: true })
    expect(await call('rekey.confirmNonce', { nonce: 'another-nonce', holder: 'Alice' })).toEqual({ recorded: false })

    const made = await enterCurrent(nonce)
    // The new shares never cross in the reply: they wait in the hand-out.
    expect(made.state.handOut).toEqual({
      summary: { ceremony: 'rekey', place: { kind: 'keyset', name: ks.path }, shares: 5, threshold: 3, scheme: 'vault', recipients: [], holders: NEW_HOLDERS, rootToken: false },
      handedOut: [false, false, false, false, false],
    })
    expect(made.verify).toMatchObject({ started: true, progress: 0, required: 3 })
    // A rekey hand-out has no root token; the rekey cannot be cancelled while its shares are handed out.
    expect((await refusal('handout.revealRootToken')).code).toBe('no_share')
    expect((await refusal('rekey.cancel')).code).toBe('init_running')
    const fresh = await handOutAll(5)
    expect(JSON.stringify(made)).not.toContain(fresh[0])
    // Until verified, the current shares still open the keyset.
    expect(await keysOpen(ks.path, ks.keys.slice(0, 2))).toBe(true)
    await call('handout.finish')
    expect((await call('session.state')).record.open).toBe(true)

    const verifying = await call('rekey.status')
    const vnonce = verifying.verify.nonce
    expect(vnonce).toBe(verifying.status.verification_nonce)
    await call('rekey.verify', { key: fresh[4], nonce: vnonce, holder: 'Hal' })
    // Starting the verification over takes a new nonce; what was entered no longer counts.
    const over = await call('rekey.restartVerification')
    expect(over.verify).toMatchObject({ progress: 0 })
    expect(over.verify.nonce).not.toBe(vnonce)
    const wrong = await refusal('rekey.verify', { key: mistypeAt(fresh[0]!, 6), nonce: over.verify.nonce, holder: 'Dana' })
    expect(wrong.code).toBe('share_mismatch')
    await call('rekey.verify', { key: fresh[0], nonce: over.verify.nonce, holder: 'Dana' })
    await call('rekey.verify', { key: fresh[1], nonce: over.verify.nonce, holder: 'Eve' })
    const done = await call('rekey.verify', { key: fresh[2], nonce: over.verify.nonce, holder: 'Frank' })
    expect(done.complete).toBe(true)
    expect(done.last_share).toEqual({ number: 3, holder: 'Frank', checked: true })
    expect(done.backend.info.seal).toMatchObject({ t: 3, n: 5 })
    expect(done.backend.shares.shares.map((s: any) => s.holder)).toEqual(NEW_HOLDERS)
    expect(done.status.started).toBe(false)
    expect(done.log.at(-1).outcome).toBe('the new shares are in effect: the earlier shares no longer open it')

    // The old shares are refused by name; the new ones make a root token.
    const root = await call('attempt.start', { flow: 'root' })
    const old = await refusal('attempt.update', { flow: 'root', key: ks.keys[0], nonce: root.nonce, holder: 'Alice' })
    expect(old.code).toBe('share_replaced')
    expect(old.message).toMatch(/generation 1 of this keyset; it was replaced/)
    for (const key of fresh.slice(0, 3)) await call('attempt.update', { flow: 'root', key, nonce: root.nonce })
    expect((await call('session.state')).result).toMatchObject({ flow: 'root' })
    await call('session.wipe')

    const { record } = await call('session.state')
    const text = await readFile(record.path.replace(/[^/]+$/, '') + (await rekeyRecordName()), 'utf8')
    const v = verifyRecord(text)
    expect(v.ok).toBe(true)
    if (!v.ok) return
    expect(v.lines.map((l) => l.type)).toEqual([
      'backend_opened', 'rekey_started', 'nonce_confirmed', 'share_accepted', 'share_accepted', 'rekey_shares_issued',
      'share_handed_out', 'share_handed_out', 'share_handed_out', 'share_handed_out', 'share_handed_out',
      'new_share_verified', 'rekey_verification_restarted', 'share_refused', 'new_share_verified', 'new_share_verified', 'new_share_verified',
      'rekey_completed', 'wiped', 'closed',
    ])
    expect(v.lines[1]!.data).toMatchObject({ shares: 5, threshold: 3, required: 2, verification: 'threshold', holders: NEW_HOLDERS })
    expect(v.lines[6]!.data).toEqual({ share_number: 1, holder: 'Dana', how: 'revealed' })
    expect(v.lines[17]!.data).toMatchObject({ generation: 2, shares: 5, threshold: 3 })
    const secrets = [...ks.keys.map((k, i) => secret(`old share ${i + 1}`, k)), ...fresh.map((k, i) => secret(`new share ${i + 1}`, k))]
    expect(leaks(secrets, [{ name: 'record', content: text }])).toEqual([])
  })

  it('verification none: abandoning the hand-out cancels the rekey and the old shares keep working; finishing it puts the new ones in effect', async () => {
    let { status } = await call('rekey.start', { shares: 3, threshold: 2, verification: 'none' })
    await enterCurrent(status.nonce)
    await call('handout.revealShare', { index: 0 })
    expect(await refusal('handout.finish')).toMatchObject({
      code: 'shares_not_handed_out',
      message: 'Share 2 and share 3 were never handed out: finishing now cancels the rekey (the current shares stay in effect). Hand them out, or confirm abandoning them.',
    })
    await call('handout.finish', { abandon: true })
    const after = await call('rekey.status')
    expect(after.status.started).toBe(false)
    expect(after.log.at(-1).outcome).toBe('rekey cancelled: nothing changed, the current shares stay in effect')
    expect(await keysOpen(ks.path, ks.keys.slice(1, 3))).toBe(true)
    expect((await call('backend.describe')).seal).toMatchObject({ t: 2, n: 3 })

    ;({ status } = await call('rekey.start', { shares: 2, threshold: 2, verification: 'none' }))
    await enterCurrent(status.nonce)
    const fresh = await handOutAll(2)
    // Held until the hand-out ends: the new shares are not in effect yet.
    expect(await keysOpen(ks.path, fresh)).toBe(false)
    await call('handout.finish')
    expect(await keysOpen(ks.path, fresh)).toBe(true)
    expect((await call('backend.describe')).seal).toMatchObject({ t: 2, n: 2 })
    // The rekey's record is the one left to print: its hand-out and its completion.
    const printed = await call('record.printable')
    expect(printed.verified).toBe(true)
    expect(printed.path).toContain('-rekey-')
    expect(printed.html).toContain('Rekey complete: the new shares are in effect')
    expect(printed.html).toContain('Share 2, shown on screen')
  })

  it('verification all needs every new share; a wrong or foreign share is refused by name, a refused one never counts', async () => {
    const { status } = await call('rekey.start', { shares: 3, threshold: 2, verification: 'all' })
    const wrong = await refusal('rekey.update', { key: mistypeAt(ks.keys[0]!, 8), nonce: status.nonce, holder: 'Alice' })
    expect(wrong).toMatchObject({ code: 'share_mismatch', message: 'This does not match share 1 (Alice) — probably a typing mistake.' })
    const other = await makeKeyset(dir, { shares: 2, threshold: 2 })
    expect((await refusal('rekey.update', { key: other.keys[1], nonce: status.nonce, holder: 'Bob' })).code).toMatch(/share_(unknown|mismatch)/)
    expect((await call('rekey.status')).status.progress).toBe(0)
    await enterCurrent(status.nonce)
    const fresh = await handOutAll(3)
    await call('handout.finish')
    const { verify } = await call('rekey.status')
    expect(verify.required).toBe(3)
    await call('rekey.verify', { key: fresh[0], nonce: verify.nonce })
    const two = await call('rekey.verify', { key: fresh[1], nonce: verify.nonce })
    expect(two.complete).toBe(false)
    expect(await keysOpen(ks.path, fresh.slice(0, 2))).toBe(false)
    expect((await call('rekey.verify', { key: fresh[2], nonce: verify.nonce })).complete).toBe(true)
    expect(await keysOpen(ks.path, fresh.slice(0, 2))).toBe(true)
  })

  it('refuses a named holder who enters another\'s share, current or new, before it counts; an unnamed holder is not checked', async () => {
    const { status } = await call('rekey.start', { shares: 3, threshold: 2, holders: ['Dana', 'Eve', 'Frank'], verification: 'threshold' })
    const swapped = await refusal('rekey.update', { key: ks.keys[1], nonce: status.nonce, holder: 'Alice' })
    // The attempts' words and code.
    expect(swapped).toEqual({ code: 'share_other_holder', message: "This is share 2 (Bob), not Alice's: each holder enters their own share." })
    expect((await call('rekey.status')).status.progress).toBe(0)
    // A name no share carries is a spelling, not a claim; no name is not checked.
    const spelled = await call('rekey.update', { key: ks.keys[0], nonce: status.nonce, holder: 'alice s.' })
    expect(spelled.status.progress).toBe(1)
    expect(spelled.last_share).toEqual({ number: 1, holder: 'Alice', checked: true })
    await call('rekey.update', { key: ks.keys[1], nonce: status.nonce, holder: 'bob' })
    const fresh = await handOutAll(3)
    await call('handout.finish')

    const { verify } = await call('rekey.status')
    const other = await refusal('rekey.verify', { key: fresh[1], nonce: verify.nonce, holder: 'Dana' })
    expect(other).toEqual({ code: 'share_other_holder', message: "This is share 2 (Eve), not Dana's: each holder enters their own share." })
    expect((await call('rekey.status')).verify.progress).toBe(0)
    const eve = await call('rekey.verify', { key: fresh[1], nonce: verify.nonce, holder: 'Eve' })
    expect(eve.verify.progress).toBe(1)
    expect(eve.last_share).toEqual({ number: 2, holder: 'Eve', checked: true })
    const done = await call('rekey.verify', { key: fresh[2], nonce: verify.nonce })
    expect(done.complete).toBe(true)
    expect(done.log.map((e: any) => [e.operator, e.ok])).toEqual([
      ['Alice', false], ['alice s.', true], ['bob', true], ['Tessera', true], ['Tessera', true],
      ['Dana', false], ['Eve', true], ['unnamed holder', true], ['Tessera', true],
    ])
    expect(done.log[0].outcome).toBe("This is share 2 (Bob), not Alice's: each holder enters their own share.")

    const v = verifyRecord(await readFile(done.state.record.path, 'utf8'))
    expect(v.ok).toBe(true)
    if (!v.ok) return
    const refused = v.lines.filter((l) => l.type === 'share_refused').map((l) => l.data)
    expect(refused).toEqual([{ reason: 'share_other_holder', progress: 0 }, { reason: 'share_other_holder', progress: 0 }])
    // Each refused share is wiped: neither it nor any other share is in the record.
    const text = await readFile(done.state.record.path, 'utf8')
    expect(leaks([...ks.keys.map((k, i) => secret(`old share ${i + 1}`, k)), ...fresh.map((k, i) => secret(`new share ${i + 1}`, k))], [{ name: 'record', content: text }])).toEqual([])
  })

  it('keeps a PGP backup in memory to read as Vault gives it, and deletes it', async () => {
    const keys = await Promise.all(['Dana', 'Eve'].map(async (name) => (await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name }], format: 'armored' })).publicKey))
    const started = await call('rekey.start', { shares: 2, threshold: 2, pgpKeys: keys, backup: true, verification: 'none' })
    expect(started.status.backup).toBe(true)
    expect((await refusal('rekey.backup')).code).toBe('no_backup')
    await enterCurrent(started.status.nonce)
    const { state } = await call('session.state').then((s) => ({ state: s }))
    expect(state.handOut.summary.recipients.map((r: any) => r.userIds)).toEqual([['Dana'], ['Eve']])
    const files = [0, 1].map(async (i) => (await call('handout.revealShare', { index: i })).key_base64)
    const saved = await Promise.all(files)
    for (const i of [0, 1]) await call('handout.shareSaved', { index: i })
    await call('handout.finish')
    const backup = await call('rekey.backup')
    const fps = started.status.pgp_fingerprints
    expect(Object.keys(backup.keys)).toEqual(fps)
    expect(backup.keys_base64[fps[1]]).toEqual([saved[1]])
    expect(Buffer.from(backup.keys[fps[0]][0], 'hex').toString('base64')).toBe(saved[0])
    expect((await call('rekey.status')).backup).toBe(true)
    expect((await call('rekey.deleteBackup')).backup).toBe(false)
    expect((await refusal('rekey.backup')).code).toBe('no_backup')
  })

  it('refuses a bad request with the engine\'s sentence, and a second start; cancel leaves the current shares', async () => {
    const bad = await refusal('rekey.start', { shares: 3, threshold: 4, verification: 'none' })
    expect(bad.message).toContain('threshold')
    expect((await refusal('rekey.start', { shares: 2, threshold: 2, backup: true, verification: 'none' })).message).toBe('Cannot request a backup of the new keys without providing PGP keys for encryption.')
    expect((await refusal('rekey.start', { shares: 2, threshold: 2, verification: 'sometimes' })).code).toBe('invalid_input')
    const { status } = await call('rekey.start', { shares: 2, threshold: 2, verification: 'none' })
    expect((await refusal('rekey.start', { shares: 2, threshold: 2, verification: 'none' })).code).toBe('rekey_in_progress')
    await call('rekey.update', { key: ks.keys[0], nonce: status.nonce })
    // The same share twice (a double submit) counts once.
    expect((await refusal('rekey.update', { key: ks.keys[0], nonce: status.nonce })).code).toBe('duplicate_key')
    const cancelled = await call('rekey.cancel')
    expect(cancelled.status.started).toBe(false)
    expect((await call('session.state')).record.open).toBe(false)
    expect(await keysOpen(ks.path, ks.keys.slice(0, 2))).toBe(true)
  })

  it('cancels a rekey when Tessera stops in its hand-out, says so, and its record too', async () => {
    const { status } = await call('rekey.start', { shares: 2, threshold: 2, verification: 'threshold' })
    const made = await enterCurrent(status.nonce)
    await call('handout.revealShare', { index: 0 })
    const path = made.state.record.path
    expect(await session.close()).toEqual({ cancelled: null, dropped: ['share 2 was never handed out: the rekey is cancelled, and the current shares stay in effect'] })
    const v = verifyRecord(await readFile(path, 'utf8'))
    expect(v.ok && v.lines.map((l) => l.type).slice(-3)).toEqual(['rekey_cancelled', 'wiped', 'closed'])
  })
})

describe('a rekey another program overtook', () => {
  it('says so at the hand-out\'s end, ends its record as cancelled, and a new rekey can start', async () => {
    const { status } = await call('rekey.start', { shares: 2, threshold: 2, verification: 'none' })
    const made = await enterCurrent(status.nonce)
    const path = made.state.record.path
    await handOutAll(2)
    // Another program rekeys the same keyset file first.
    const other = await LocalEngine.open(ks.path)
    try {
      const { nonce } = await other.rekey.start(await other.rekey.check({ shares: 3, threshold: 2, pgpKeys: [], backup: false, requireVerification: false, verifyAll: false }))
      for (const key of ks.keys.slice(1)) await other.rekey.update(other.rekey.parse(Buffer.from(key)), nonce)
    } finally {
      await other.close()
    }
    expect((await refusal('handout.finish')).code).toBe('rekey_superseded')
    const view = await call('rekey.status')
    expect(view.status.started).toBe(false)
    expect(view.log.at(-1).outcome).toBe('rekey cancelled: nothing changed, the current shares stay in effect')
    const v = verifyRecord(await readFile(path, 'utf8'))
    expect(v.ok && v.lines.map((l) => l.type).slice(-3)).toEqual(['rekey_cancelled', 'wiped', 'closed'])
    await call('handout.finish', { abandon: true })
    expect((await call('rekey.start', { shares: 2, threshold: 2, verification: 'none' })).status.started).toBe(true)
  })
})

async function rekeyRecordName(): Promise<string> {
  const { readdir } = await import('node:fs/promises')
  const names = (await readdir(join(dir, 'config', 'records'))).filter((n) => n.includes('rekey-'))
  expect(names).toHaveLength(1)
  return names[0]!
}
