import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeWithOtp } from '../src-main/decode/decode'
import { createRouter } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'
import { Gpg } from './helpers/gnupg'
import { downgradeToV1, makeKeyset, mistypeAt, SCHEMES, tempDir, type TestKeyset } from './helpers/keysets'
import { startApi, type Api } from './helpers/server'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

const errorOf = (r: { json: any }) => r.json?.errors?.[0] as string

/** One character changed, as a holder mistypes: still a well-formed share of the right length. */
const mistype = (key: string) => mistypeAt(key, key.length - 5)

describe.each(SCHEMES)('a %s keyset refuses a bad share as it is entered', (scheme) => {
  let ks: TestKeyset
  let foreign: TestKeyset
  let api: Api
  beforeAll(async () => {
    ks = await makeKeyset(tmp.dir, { scheme, holders: ['Alice', 'Bob', 'Carol', 'Dan', 'Erin'] })
    foreign = await makeKeyset(tmp.dir, { scheme, shares: 3, threshold: 2 })
    api = await startApi(ks.path)
  })
  afterAll(() => api.close())

  it('names the share a typing mistake was made in, keeps progress and nonce, and takes the right share at once', async () => {
    await api.call('DELETE', 'sys/generate-root/attempt')
    const start = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
    const nonce = start.nonce
    expect((await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce })).status).toBe(200)

    const typo = await api.call('PUT', 'sys/generate-root/update', { key: mistype(ks.keys[2]!), nonce })
    expect(typo.status).toBe(400)
    expect(errorOf(typo)).toBe('this does not match share 3 (Carol) — probably a typing mistake')
    expect(typo.text).not.toContain(ks.keys[2]!.slice(0, 12))
    expect((await api.call('GET', 'sys/generate-root/attempt')).json).toMatchObject({ started: true, nonce, progress: 1 })

    const short = await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[2]!.slice(0, -2), nonce })
    expect(short.status).toBe(400)
    expect(errorOf(short)).toMatch(/^this share is too short for this keyset \(\d+ bytes; its shares have \d+\): a character is missing or extra$/)

    const other = foreign.keys.find((k) => !ks.keys.includes(k))!
    const stranger = await api.call('PUT', 'sys/generate-root/update', { key: other, nonce })
    expect(stranger.status).toBe(400)
    expect(errorOf(stranger)).toMatch(/^(this share is not from this keyset|this does not match share \d \(\w+\) — probably a typing mistake)/)

    expect((await api.call('GET', 'sys/generate-root/attempt')).json).toMatchObject({ started: true, nonce, progress: 1 })
    expect((await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[2], nonce })).status).toBe(200)
    const done = await api.call('PUT', 'sys/generate-root/update', { key: ks.keys_base64[4], nonce })
    expect(done.json).toMatchObject({ complete: true, progress: 3 })
    expect(decodeWithOtp(done.json.encoded_token, Buffer.from(start.otp)).value.toString()).toMatch(/^hvs\./)
  })

  it('says a share whose number this keyset never issued is not from this keyset', async () => {
    await api.call('DELETE', 'sys/generate-root/attempt')
    const { nonce } = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
    // A share of another keyset at a number this one never issued (Vault numbers are random bytes).
    const candidates = [...foreign.keys, ...(await makeKeyset(tmp.dir, { scheme, shares: 20, threshold: 2 })).keys]
    const numberOf = (k: string) => (scheme === 'vault' ? Buffer.from(k, 'hex').at(-1)! : parseInt(k.slice(1, 3), 16))
    const ours = new Set(ks.keys.map(numberOf))
    const outsider = candidates.find((k) => !ours.has(numberOf(k)))!
    const r = await api.call('PUT', 'sys/generate-root/update', { key: outsider, nonce })
    expect(r.status).toBe(400)
    expect(errorOf(r)).toBe('this share is not from this keyset: it carries a share number this keyset never issued')
    await api.call('DELETE', 'sys/generate-root/attempt')
  })
})

describe('the share flow, exactly as its API document describes', () => {
  let ks: TestKeyset
  let api: Api
  let gpg: Gpg
  beforeAll(async () => {
    ks = await makeKeyset(tmp.dir, { shares: 5, threshold: 3 })
    api = await startApi(ks.path)
    gpg = new Gpg()
    gpg.generate('Frank <frank@example.org>')
  })
  afterAll(async () => {
    gpg.close()
    await api.close()
  })

  it('answers GET with the documented fields, takes no OTP, and makes a share that works in a root ceremony', async () => {
    const idle = (await api.call('GET', 'sys/generate-share/attempt')).json
    expect(idle).toMatchObject({ started: false, progress: 0, required: 3, key: '', key_base64: '', pgp_fingerprint: '', complete: false })

    const withOtp = await api.call('PUT', 'sys/generate-share/attempt', { otp: 'A'.repeat(28) })
    expect(withOtp.status).toBe(400)
    expect(errorOf(withOtp)).toBe('share generation takes no otp: the result is returned as sys/init returns keys, or encrypted to a pgp_key')
    expect((await api.call('GET', 'sys/generate-share/attempt')).json.started).toBe(false)

    const start = await api.call('POST', 'sys/generate-share/attempt')
    expect(start.status, start.text).toBe(200)
    expect(start.json).toMatchObject({ started: true, otp: '', otp_length: 0, key: '', key_base64: '' })
    const nonce = start.json.nonce
    // A given nonce is still checked.
    const wrong = await api.call('PUT', 'sys/generate-share/update', { key: ks.keys[0], nonce: 'nope' })
    expect(errorOf(wrong)).toBe(`incorrect nonce supplied; nonce for this share generation operation is "${nonce}"`)
    let done: any
    for (const key of [ks.keys[0], ks.keys[1], ks.keys[3]]) {
      const r = await api.call('PUT', 'sys/generate-share/update', { key })
      expect(r.status, r.text).toBe(200)
      done = r.json
    }
    expect(done).toMatchObject({ started: true, nonce, progress: 3, required: 3, pgp_fingerprint: '', complete: true })
    expect(done.key).toMatch(/^[0-9a-f]{66}$/)
    expect(Buffer.from(done.key_base64, 'base64').toString('hex')).toBe(done.key)

    // The new share with two old ones makes a root token.
    const root = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
    for (const key of [done.key, ks.keys[2]]) await api.call('PUT', 'sys/generate-root/update', { key, nonce: root.nonce })
    const result = await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[4], nonce: root.nonce })
    expect(result.json.complete, result.text).toBe(true)
    const token = decodeWithOtp(result.json.encoded_token, Buffer.from(root.otp)).value.toString()
    expect((await api.call('GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': token })).status).toBe(200)

    // The keyset now knows the new share: a fresh engine recognizes it as share 6.
    const again = await startApi(ks.path)
    try {
      expect(await again.engine.keyset.check(Buffer.from(done.key))).toEqual({ number: 6, holder: null, checked: true, valid: true })
    } finally {
      await again.close()
    }
  })

  it('encrypts the new share to a gpg-made pgp_key: key_base64 decrypts with gpg to a working share', async () => {
    const pgpKey = gpg.exportPublic('frank@example.org').toString('base64')
    const start = await api.call('PUT', 'sys/generate-share/attempt', { pgp_key: pgpKey })
    expect(start.status, start.text).toBe(200)
    expect(start.json.pgp_fingerprint).toMatch(/^[0-9a-f]{40}$/)
    let done: any
    for (const key of [ks.keys[1], ks.keys[2], ks.keys[4]]) done = (await api.call('PUT', 'sys/generate-share/update', { key })).json
    expect(done.complete).toBe(true)
    expect(Buffer.from(done.key, 'hex').equals(Buffer.from(done.key_base64, 'base64'))).toBe(true)
    const share = gpg.decryptBase64(done.key_base64).trim()
    expect(share).toMatch(/^[0-9a-f]{66}$/)

    const root = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
    await api.call('PUT', 'sys/generate-root/update', { key: share, nonce: root.nonce })
    await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce: root.nonce })
    const result = await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[3], nonce: root.nonce })
    expect(result.json.complete, result.text).toBe(true)
  })
})

describe('the app checks shares through IPC', () => {
  let ks: TestKeyset
  let dispatch: ReturnType<typeof createRouter>
  beforeAll(async () => {
    ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] })
    dispatch = createRouter(handlersFor(new Session()))
    expect((await dispatch('backend.openKeyset', { path: ks.path })).ok).toBe(true)
  })

  it('lists the shares and checks one with no attempt started', async () => {
    expect(await dispatch('shares.list', undefined)).toEqual({
      ok: true,
      value: { canCheck: true, shares: [{ number: 1, holder: 'Alice' }, { number: 2, holder: 'Bob' }, { number: 3, holder: 'Carol' }] },
    })
    expect(await dispatch('shares.check', { share: ks.keys_base64[2] })).toEqual({ ok: true, value: { number: 3, holder: 'Carol', valid: true } })
    const typo = await dispatch('shares.check', { share: mistype(ks.keys[1]!) })
    expect(typo).toEqual({
      ok: true,
      value: { number: null, holder: null, valid: false, code: 'share_mismatch', reason: 'this does not match share 2 (Bob) — probably a typing mistake' },
    })
    expect((await dispatch('attempt.status', { flow: 'root' })) as any).toMatchObject({ ok: true, value: { started: false } })
  })

  it('says which share was recognized, refuses another holder\'s share, and keeps the progress', async () => {
    const start = (await dispatch('attempt.start', { flow: 'root' })) as any
    const nonce = start.value.nonce
    const first = (await dispatch('attempt.update', { flow: 'root', key: ks.keys[2], nonce, holder: 'Carol' })) as any
    expect(first).toMatchObject({ ok: true, value: { progress: 1, last_share: { number: 3, holder: 'Carol', checked: true } } })

    const swapped = await dispatch('attempt.update', { flow: 'root', key: ks.keys[1], nonce, holder: 'Alice' })
    expect(swapped).toEqual({ ok: false, error: { code: 'share_other_holder', message: "This is share 2 (Bob), not Alice's: each holder enters their own share." } })
    // A share already given is refused as such before anything else of it, as Vault orders its checks.
    const again = (await dispatch('attempt.update', { flow: 'root', key: ks.keys[2], nonce, holder: 'Alice' })) as any
    expect(again).toMatchObject({ ok: false, error: { code: 'duplicate_key' } })
    const typo = await dispatch('attempt.update', { flow: 'root', key: mistype(ks.keys[0]!), nonce, holder: 'Alice' })
    expect(typo).toEqual({ ok: false, error: { code: 'share_mismatch', message: 'This does not match share 1 (Alice) — probably a typing mistake.' } })
    expect((await dispatch('attempt.status', { flow: 'root' })) as any).toMatchObject({ value: { progress: 1, nonce } })

    const done = (await dispatch('attempt.update', { flow: 'root', key: ks.keys[0], nonce, holder: 'alice' })) as any
    expect(done).toMatchObject({ ok: true, value: { complete: true, last_share: { number: 1, holder: 'Alice' } } })
  })

  it('creates a keyset with named holders and hands their shares out', async () => {
    const session = createRouter(handlersFor(new Session()))
    const path = `${tmp.dir}/ipc-init.json`
    const init = await session('backend.initKeyset', { path, shares: 2, threshold: 2, holders: ['Dana', 'Eve'] })
    expect(init).toMatchObject({ ok: true, value: { ceremony: 'init', place: { kind: 'keyset', name: path }, shares: 2, threshold: 2, rootToken: true } })
    expect(await session('shares.list', undefined)).toMatchObject({ value: { canCheck: true, shares: [{ number: 1, holder: 'Dana' }, { number: 2, holder: 'Eve' }] } })
    const second = (await session('handout.revealShare', { index: 1 })) as any
    expect(await session('shares.check', { share: second.value.key })).toEqual({ ok: true, value: { number: 2, holder: 'Eve', valid: true } })
    const fresh = createRouter(handlersFor(new Session()))
    const twice = await fresh('backend.initKeyset', { path: `${tmp.dir}/ipc-init-2.json`, shares: 2, threshold: 2, holders: ['Dana', 'dana'] })
    expect(twice).toMatchObject({ ok: false, error: { code: 'invalid_input', message: 'Holder name 2 repeats an earlier one: each holder needs their own name.' } })
  })

  it('refuses an overlong holder name at the boundary', async () => {
    const r = await dispatch('attempt.update', { flow: 'root', key: ks.keys[0], nonce: 'n', holder: 'x'.repeat(65) })
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid_input' } })
  })
})

describe('a format-1 keyset', () => {
  let ks: TestKeyset
  let api: Api
  beforeAll(async () => {
    ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    await downgradeToV1(ks.path)
    api = await startApi(ks.path)
  })
  afterAll(() => api.close())

  it('still runs ceremonies, finds a foreign share only at the threshold, and stays format 1 when written', async () => {
    const foreign = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const { nonce } = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
    await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce })
    const r = await api.call('PUT', 'sys/generate-root/update', { key: foreign.keys[1], nonce })
    expect(errorOf(r)).toMatch(/^(root generation aborted: the shares given do not reconstruct|failed to compute root key)/)
    expect((await api.call('GET', 'sys/generate-root/attempt')).json).toMatchObject({ started: true, progress: 0 })
    await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce })
    expect((await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[2], nonce })).json.complete).toBe(true)

    const { readFile } = await import('node:fs/promises')
    const json = JSON.parse(await readFile(ks.path, 'utf8'))
    expect(json.tessera_keyset).toBe(1)
    expect(json.tokens).toHaveLength(2)
    expect(json).not.toHaveProperty('integrity')
  })

  it('says it cannot check a share on its own', async () => {
    expect(api.engine.keyset.canCheckShares).toBe(false)
    expect(await api.engine.keyset.check(Buffer.from(ks.keys[1]!))).toMatchObject({ valid: false, code: 'cannot_check', number: 2 })
  })
})
