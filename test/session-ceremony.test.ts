import { readFile, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as openpgp from 'openpgp'
import { createRouter, type Dispatch } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { ipcCalls } from './helpers/ipc'
import { Session } from '../src-main/session/session'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'

let dir: string
let cleanup: () => Promise<void>
let ks: TestKeyset
let dispatch: Dispatch

const { call, refusal } = ipcCalls(() => dispatch)

/** One root ceremony through the IPC channels, as the page runs it. */
async function finishRoot(): Promise<string> {
  const start = await call('attempt.start', { flow: 'root' })
  await call('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce, holder: 'Alice' })
  const done = await call('attempt.update', { flow: 'root', key: ks.keys[1], nonce: start.nonce, holder: 'Bob' })
  expect(done.complete).toBe(true)
  return done.encoded_token
}

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
  ks = await makeKeyset(dir, { shares: 3, threshold: 2 })
  dispatch = createRouter(handlersFor(new Session({ configDir: join(dir, 'config') })))
  await call('backend.openKeyset', { path: ks.path })
})
afterEach(() => cleanup())

describe('a finished result is kept by main until wiped', () => {
  it('survives another keyset being opened, decodes as often as needed, and blocks a new attempt', async () => {
    const encoded = await finishRoot()
    const other = await makeKeyset(dir, { shares: 2, threshold: 2 })
    await call('backend.openKeyset', { path: other.path })
    const state = await call('session.state')
    expect(state.result).toEqual({ flow: 'root', encoded, pgp_fingerprint: '', otp_held: true, backend: ks.path, share: null })
    const first = await call('decode.held', { flow: 'root', encoded })
    const second = await call('decode.held', { flow: 'root', encoded })
    expect(second.value).toBe(first.value)
    // Checked against the keyset that minted it, not the one open now.
    expect(first.verified).toBe(true)
    expect((await refusal('attempt.start', { flow: 'root' })).code).toBe('result_held')
    await call('session.wipe')
    expect((await call('session.state')).result).toBeNull()
    expect((await refusal('decode.held', { flow: 'root', encoded })).code).toBe('no_held_otp')
  })

  it('gives the first screen in one answer: version, backend, shares, state and each flow\'s attempt', async () => {
    const start = await call('attempt.start', { flow: 'root' })
    const snapshot = await call('session.snapshot')
    expect(snapshot.version).toBe((await call('app.info')).version)
    expect(snapshot.backend).toEqual({ info: await call('backend.describe'), shares: await call('shares.list') })
    expect(snapshot.state).toEqual(await call('session.state'))
    expect(Object.keys(snapshot.statuses).sort()).toEqual([...snapshot.backend.info.seal.flows].sort())
    expect(snapshot.statuses.root).toEqual(await call('attempt.status', { flow: 'root' }))
    expect(snapshot.statuses.root.nonce).toBe(start.nonce)
    expect(snapshot.statuses.share).toEqual(await call('attempt.status', { flow: 'share' }))
    // With no backend open, the snapshot says so and reads no attempt.
    dispatch = createRouter(handlersFor(new Session()))
    expect(await call('session.snapshot')).toMatchObject({ backend: { info: { kind: 'none' }, shares: null }, statuses: {} })
  })

  it('answers an update with the state after it, as session.state gives it: one share, one call', async () => {
    const start = await call('attempt.start', { flow: 'root' })
    const first = await call('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce, holder: 'Alice' })
    expect(first.progress).toBe(1)
    expect(first.last_share).toEqual({ number: 1, holder: null, checked: true })
    expect(first.state).toEqual(await call('session.state'))
    expect(first.state.log.map((e: any) => e.outcome)).toEqual(['accepted share 1 (1 of 2)'])
    expect(first.state.result).toBeNull()
    expect(first.backend).toBeUndefined()
    const done = await call('attempt.update', { flow: 'root', key: ks.keys[1], nonce: start.nonce, holder: 'Bob' })
    expect(done.state).toEqual(await call('session.state'))
    expect(done.state.result).toMatchObject({ flow: 'root', encoded: done.encoded_token, otp_held: true })
    expect(done.state.record.open).toBe(true)
  })

  it('keeps the holder log (names, outcomes, times; no share) for a reloaded page', async () => {
    const start = await call('attempt.start', { flow: 'root' })
    await call('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce, holder: 'Alice' })
    await refusal('attempt.update', { flow: 'root', key: ks.keys_base64[0], nonce: start.nonce, holder: 'Alice again' })
    const { log } = await call('session.state')
    expect(log.map((e: any) => [e.operator, e.ok])).toEqual([['Alice', true], ['Alice again', false]])
    expect(log[0].outcome).toBe('accepted share 1 (1 of 2)')
    expect(log[1].outcome).toBe('This share was already entered in this attempt: progress is unchanged, and the next holder enters theirs.')
    expect(new Date(log[0].at).getTime()).toBeGreaterThan(0)
    expect(JSON.stringify(log)).not.toContain(ks.keys[0])
  })
})

describe('a new share is held by main until its holder reveals it', () => {
  it('never crosses IPC with the status or the session state; revealed on request, then wiped', async () => {
    const start = await call('attempt.start', { flow: 'share' })
    await call('attempt.update', { flow: 'share', key: ks.keys[0], nonce: start.nonce, holder: 'Alice' })
    const done = await call('attempt.update', { flow: 'share', key: ks.keys[2], nonce: start.nonce, holder: 'Carol' })
    expect(done.complete).toBe(true)
    expect(done).not.toHaveProperty('key')
    expect(done).not.toHaveProperty('key_base64')
    expect(done.encoded_token).toBe('')
    const state = await call('session.state')
    expect(state.result).toMatchObject({ flow: 'share', encoded: '', share: { encrypted: false, handedOut: false, number: 4 } })

    const shown = await call('result.revealShare')
    expect(shown).toMatchObject({ encrypted: false })
    expect(shown.key).toMatch(/^[0-9a-f]{66}$/)
    expect(Buffer.from(shown.key_base64, 'base64').toString('hex')).toBe(shown.key)
    expect(JSON.stringify([done, state])).not.toContain(shown.key)
    expect(await call('shares.check', { share: shown.key })).toMatchObject({ number: 4, valid: true })
    expect((await call('session.state')).result.share.handedOut).toBe(true)

    await call('session.wipe')
    expect((await refusal('result.revealShare')).code).toBe('no_share')
  })
})

describe("the share flow's new share and its holder", () => {
  /** A share ceremony for a new holder named at its start, as the page runs it. */
  async function newShareFor(newHolder: string, pgpKey?: string) {
    const start = await call('attempt.start', { flow: 'share', newHolder, ...(pgpKey ? { pgpKey } : {}) })
    await call('attempt.update', { flow: 'share', key: ks.keys[0], nonce: start.nonce, holder: 'Alice' })
    const done = await call('attempt.update', { flow: 'share', key: ks.keys[1], nonce: start.nonce, holder: 'Bob' })
    expect(done.complete).toBe(true)
    return done
  }
  const recordLines = async () => {
    const { path } = (await call('session.state')).record
    return (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l))
  }

  it('counts the new share everywhere, names its holder, and records how it was handed out', async () => {
    const done = await newShareFor('Dana')
    // The last share's reply already carries the backend as it stands: the page asks nothing more.
    expect(done.backend).toEqual({ info: await call('backend.describe'), shares: await call('shares.list') })
    const { result } = await call('session.state')
    expect(result.share).toEqual({ encrypted: false, handedOut: false, number: 4, holder: 'Dana', card: true })
    // Seal status, the keyset's list and the card agree: four shares are out, any two open the keyset.
    expect((await call('backend.describe')).seal).toMatchObject({ n: 4, t: 2 })
    expect((await call('shares.list')).shares).toEqual([
      { number: 1, holder: null },
      { number: 2, holder: null },
      { number: 3, holder: null },
      { number: 4, holder: 'Dana' },
    ])
    // Nothing is recorded as handed out before the holder got it.
    expect((await recordLines()).map((l) => l.type)).not.toContain('share_handed_out')

    // A card never shown was never printed.
    expect((await refusal('result.cardPrinted')).code).toBe('no_card')
    const card = await call('result.shareCard')
    expect(card).toMatchObject({ holder: 'Dana', number: 4, shares: 4, threshold: 2, path: ks.path })
    expect(await call('shares.check', { share: card.lines.join('\n') })).toMatchObject({ number: 4, holder: 'Dana', valid: true })
    expect((await call('session.state')).result.share.handedOut).toBe(true)
    await call('result.cardPrinted')
    const handed = (await recordLines()).filter((l) => l.type === 'share_handed_out').map((l) => l.data)
    expect(handed).toEqual([
      { share_number: 4, holder: 'Dana', how: 'card_shown' },
      { share_number: 4, holder: 'Dana', how: 'card_printed' },
    ])
    await call('session.wipe')
    expect((await refusal('result.shareCard')).code).toBe('no_card')
  })

  it('hands out an encrypted new share when its file is saved, not when it is fetched', async () => {
    const { publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Dana' }], format: 'armored' })
    await newShareFor('Dana', publicKey)
    expect((await call('session.state')).result.share).toMatchObject({ encrypted: true, handedOut: false, number: 4, holder: 'Dana' })
    const file = await call('result.revealShare')
    expect(file.encrypted).toBe(true)
    // Fetching the PGP message hands nothing out: nobody holds the share until its file is saved.
    expect((await recordLines()).map((l) => l.type)).not.toContain('share_handed_out')
    expect((await call('session.state')).result.share.handedOut).toBe(false)
    expect(await call('result.shareSaved')).toEqual({ recorded: true })
    expect((await call('session.state')).result.share.handedOut).toBe(true)
    const handed = (await recordLines()).filter((l) => l.type === 'share_handed_out').map((l) => l.data)
    expect(handed).toEqual([{ share_number: 4, holder: 'Dana', how: 'encrypted_file_saved' }])
    await call('session.wipe')
    expect((await refusal('result.shareSaved')).code).toBe('no_share')
  })

  it('refuses to record a file saved for a share in the clear', async () => {
    await newShareFor('Dana')
    expect((await refusal('result.shareSaved')).code).toBe('share_not_encrypted')
    expect((await call('session.state')).result.share.handedOut).toBe(false)
  })

  it('records a share shown on screen as revealed, and refuses a name that is not a name', async () => {
    const refused = await refusal('attempt.start', { flow: 'share', newHolder: 'hvs.ABCD;rm -rf' })
    expect(refused.message).toMatch(/newHolder/)
    await newShareFor('Erin O\'Neil')
    await call('result.revealShare')
    const handed = (await recordLines()).filter((l) => l.type === 'share_handed_out').map((l) => l.data)
    expect(handed).toEqual([{ share_number: 4, holder: "Erin O'Neil", how: 'revealed' }])
    const text = JSON.stringify(await recordLines())
    expect(text).not.toContain((await call('result.revealShare')).key)
  })
})

describe('a decoded token is checked against the keyset', () => {
  it('refuses a token decoded with a mistyped OTP, and says when nothing could check it', async () => {
    const encoded = await finishRoot()
    const token = (await call('decode.held', { flow: 'root', encoded })).value as string
    // An OTP one character off still decodes to a plausible token: recover the OTP, then
    // change one character so that both the OTP and the token stay alphanumeric.
    const raw = Buffer.from(encoded, 'base64')
    const otp = Buffer.from(raw.map((b, i) => b ^ token.charCodeAt(i))).toString('latin1')
    const alnum = /[0-9A-Za-z]/
    const swap = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'].find(
      (c) => c !== otp[10] && alnum.test(String.fromCharCode(c.charCodeAt(0) ^ raw[10]!)),
    )!
    const wrong = otp.slice(0, 10) + swap + otp.slice(11)
    const mismatch = await refusal('decode.otp', { encoded, otp: wrong })
    expect(mismatch.code).toBe('token_mismatch')
    expect(mismatch.message).toContain('probably mistyped')
    expect(mismatch.message).not.toContain(wrong)
    expect(await call('decode.otp', { encoded, otp })).toMatchObject({ value: token, verified: true })
    expect(await call('decode.otp', { encoded, otp: wrong, verify: false })).toMatchObject({ verified: false })
  })
})

describe('an init hand-out cannot lose a share silently', () => {
  it('refuses to finish while a share was never revealed, unless abandoning is confirmed', async () => {
    const path = join(dir, 'created.json')
    await call('backend.initKeyset', { path, shares: 3, threshold: 2 })
    const first = await call('handout.revealShare', { index: 0 })
    // Its base64 form is Vault's (sys/init's keys_base64: the share's bytes), which the keyset takes.
    expect(first.key_base64).toBe(Buffer.from(first.key, 'hex').toString('base64'))
    expect(await call('shares.check', { share: first.key_base64 })).toMatchObject({ number: 1, valid: true })
    const refused = await refusal('handout.finish')
    expect(refused).toEqual({
      code: 'shares_not_handed_out',
      message: 'Share 2 and share 3 were never handed out: finishing now loses them for good. Hand them out, or confirm abandoning them.',
    })
    expect((await call('session.state')).handOut.handedOut).toEqual([true, false, false])
    await call('handout.revealShare', { index: 1 })
    expect((await refusal('handout.finish')).message).toMatch(/^Share 3 was never handed out: finishing now loses it for good/)
    expect(await call('handout.finish', { abandon: true })).toEqual({ wiped: true })
    expect((await call('session.state')).handOut).toBeNull()
  })
})

describe('recently opened keysets', () => {
  it('are remembered by path and mode only, newest first', async () => {
    const other = await makeKeyset(dir, { shares: 2, threshold: 2 })
    await call('backend.openKeyset', { path: other.path, recovery: true })
    await call('backend.openKeyset', { path: ks.path })
    expect((await call('backend.recent')).recent).toEqual([
      { path: ks.path, recovery: false },
      { path: other.path, recovery: true },
    ])
    const file = await readFile(join(dir, 'config', 'recent-keysets.json'), 'utf8')
    expect(Object.keys(JSON.parse(file)[0]).sort()).toEqual(['path', 'recovery'])
    // A keyset deleted since is not offered.
    await rm(other.path)
    expect((await call('backend.recent')).recent).toEqual([{ path: ks.path, recovery: false }])
  })

  it('a relative path that finds no keyset says where it looked, and points to the form beside', async () => {
    const refused = await refusal('backend.openKeyset', { path: 'no-such-keyset.json' })
    expect(refused).toEqual({
      code: 'keyset_missing',
      message: `There is no keyset at ${resolve('no-such-keyset.json')} (no-such-keyset.json, read from the folder Tessera was started in): check the path, or create a new keyset with "Create a keyset".`,
    })
  })
})

describe('what closing the app would destroy', () => {
  it('is the held result until it is wiped, and the unhanded shares of a new keyset', async () => {
    const session = new Session({ configDir: join(dir, 'config-held') })
    const route = createRouter(handlersFor(session))
    const ask = async (channel: string, input?: unknown) => {
      const r = await route(channel, input)
      expect(r.ok, JSON.stringify(r)).toBe(true)
      return (r as { value: any }).value
    }
    await ask('backend.openKeyset', { path: ks.path })
    expect(session.heldSecret).toBeNull()
    const start = await ask('attempt.start', { flow: 'root' })
    await ask('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce })
    expect(session.heldSecret).toBeNull()
    await ask('attempt.update', { flow: 'root', key: ks.keys[1], nonce: start.nonce })
    expect(session.heldSecret).toBe('result')
    await ask('session.wipe')
    expect(session.heldSecret).toBeNull()
    await ask('backend.initKeyset', { path: join(dir, 'fresh.json'), shares: 2, threshold: 2 })
    expect(session.heldSecret).toBe('hand-out')
  })
})
