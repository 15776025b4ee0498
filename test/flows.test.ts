import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as openpgp from 'openpgp'
import { decodeWithOtp, decodeWithPgp } from '../src-main/decode/decode'
import { readPrivateKey } from '../src-main/crypto/pgp'
import { makeKeyset, SCHEMES, tempDir, type TestKeyset } from './helpers/keysets'
import { FLOW_PATH, startApi, type Api } from './helpers/server'

let tmp: Awaited<ReturnType<typeof tempDir>>
let pgp: { publicB64: string; armoredPublic: string; privateArmored: string }

beforeAll(async () => {
  tmp = await tempDir()
  const { publicKey, privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Holder One', email: 'one@example.org' }],
    format: 'armored',
  })
  const binary = (await openpgp.readKey({ armoredKey: publicKey })).write()
  pgp = { publicB64: Buffer.from(binary).toString('base64'), armoredPublic: publicKey, privateArmored: privateKey }
})
afterAll(() => tmp.cleanup())

/** Feeds shares one by one and returns the last response. */
async function feed(api: Api, flow: keyof typeof FLOW_PATH, nonce: string, keys: string[]) {
  let last: Awaited<ReturnType<Api['call']>> | undefined
  for (const key of keys) {
    last = await api.call('PUT', `${FLOW_PATH[flow]}/update`, { key, nonce })
    expect(last.status, last.text).toBe(200)
  }
  return last!.json
}

describe.each(SCHEMES)('%s keyset', (scheme) => {
  let ks: TestKeyset
  let api: Api
  beforeAll(async () => {
    ks = await makeKeyset(tmp.dir, { scheme })
    api = await startApi(ks.path)
  })
  afterAll(() => api.close())

  it('generates a root token protected by a server OTP', async () => {
    const status = await api.call('GET', 'sys/generate-root/attempt')
    expect(status.json).toEqual({
      nonce: '', started: false, progress: 0, required: 3, complete: false,
      encoded_token: '', encoded_root_token: '', pgp_fingerprint: '', otp: '', otp_length: 28,
    })
    const start = await api.call('PUT', 'sys/generate-root/attempt', {})
    expect(start.status).toBe(200)
    const { otp, nonce } = start.json
    expect(otp).toMatch(/^[0-9A-Za-z]{28}$/)
    expect(nonce).toMatch(/^[0-9a-f-]{36}$/)
    // The OTP is shown once: a later status never repeats it.
    const again = await api.call('GET', 'sys/generate-root/attempt')
    expect(again.json).toMatchObject({ started: true, nonce, otp: '', otp_length: 28, progress: 0 })

    const first = await api.call('POST', 'sys/generate-root/update', { key: ks.keys[0], nonce })
    expect(first.json).toMatchObject({ started: true, nonce, progress: 1, required: 3, complete: false, encoded_token: '' })
    const done = await feed(api, 'root', nonce, [ks.keys_base64[2]!, ks.keys[4]!])
    expect(done).toMatchObject({ complete: true, progress: 3, required: 3 })
    expect(done.encoded_root_token).toBe(done.encoded_token)
    expect(done.encoded_token).not.toMatch(/=$/)

    const token = decodeWithOtp(done.encoded_token, Buffer.from(otp)).value.toString()
    expect(token).toMatch(/^hvs\.[0-9A-Za-z]{24}$/)
    const lookup = await api.call('GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': token })
    expect(lookup.status).toBe(200)
    expect(lookup.json.data.policies).toEqual(['root'])
    // The attempt ended with the result.
    expect((await api.call('GET', 'sys/generate-root/attempt')).json.started).toBe(false)
  })

  it('generates a root token encrypted to a PGP key', async () => {
    const start = await api.call('PUT', 'sys/generate-root/attempt', { pgp_key: pgp.publicB64 })
    expect(start.status, start.text).toBe(200)
    const key = await openpgp.readKey({ armoredKey: pgp.armoredPublic })
    expect(start.json.pgp_fingerprint).toBe(key.getFingerprint())
    expect(start.json.otp).toBe('')
    const done = await feed(api, 'root', start.json.nonce, ks.keys.slice(1, 4))
    expect(done.encoded_token).toMatch(/^[A-Za-z0-9+/]+={0,2}$/)
    expect(done.pgp_fingerprint).toBe(start.json.pgp_fingerprint)
    const priv = await readPrivateKey(pgp.privateArmored)
    const token = (await decodeWithPgp(done.encoded_token, priv)).value.toString()
    expect(token).toMatch(/^hvs\./)
    expect((await api.call('GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': token })).status).toBe(200)
  })

  it('accepts an armored PGP key too', async () => {
    const start = await api.call('PUT', 'sys/generate-root/attempt', { pgp_key: pgp.armoredPublic })
    expect(start.status, start.text).toBe(200)
    expect(start.json.pgp_fingerprint).toMatch(/^[0-9a-f]{40}$/)
    expect((await api.call('DELETE', 'sys/generate-root/attempt')).status).toBe(204)
  })

  it('generates a new share encrypted to a PGP key', async () => {
    const start = await api.call('PUT', 'sys/generate-share/attempt', { pgp_key: pgp.publicB64 })
    expect(start.json.otp).toBe('')
    const done = await feed(api, 'share', start.json.nonce, ks.keys.slice(2, 5))
    expect(done.key_base64).toBe(done.encoded_token)
    expect(Buffer.from(done.key, 'hex').equals(Buffer.from(done.key_base64, 'base64'))).toBe(true)
    const share = (await decodeWithPgp(done.encoded_token, await readPrivateKey(pgp.privateArmored))).value.toString()
    expect(ks.keys).not.toContain(share)
    // The holder decrypts the share's own text, as sys/init's PGP-encrypted keys.
    expect(share.length).toBe(ks.keys[0]!.length)
  })

  it('generates a recovery token encrypted to a PGP key', async () => {
    const recovery = await startApi(ks.path, { recovery: true })
    try {
      const start = await recovery.call('PUT', 'sys/generate-recovery-token/attempt', { pgp_key: pgp.armoredPublic })
      expect(start.json.pgp_fingerprint).toMatch(/^[0-9a-f]{40}$/)
      const done = await feed(recovery, 'recovery', start.json.nonce, ks.keys.slice(0, 3))
      const token = (await decodeWithPgp(done.encoded_token, await readPrivateKey(pgp.privateArmored))).value.toString()
      expect(token).toMatch(/^hvr\.[0-9A-Za-z]{24}$/)
    } finally {
      await recovery.close()
    }
  })

  it('generates a new share as the generate-share document describes: no OTP, no nonce needed', async () => {
    const out = (await api.call('GET', 'sys/seal-status')).json.n as number
    const before = await api.call('GET', 'sys/generate-share/attempt')
    expect(before.json).toMatchObject({ started: false, progress: 0, required: 3, key: '', key_base64: '', pgp_fingerprint: '', complete: false })
    const start = await api.call('PUT', 'sys/generate-share/attempt', {})
    expect(start.status, start.text).toBe(200)
    expect(start.json).toMatchObject({ started: true, otp: '', otp_length: 0, key: '', key_base64: '' })
    expect(start.json.nonce).toMatch(/^[0-9a-f-]{36}$/)
    // The document's update takes only `key`.
    let done: any
    for (const key of ks.keys.slice(0, 3)) {
      const r = await api.call('PUT', 'sys/generate-share/update', { key })
      expect(r.status, r.text).toBe(200)
      done = r.json
    }
    expect(done).toMatchObject({ complete: true, progress: 3, required: 3, nonce: start.json.nonce, pgp_fingerprint: '' })
    // As sys/init's keys / keys_base64: the share itself, in both spellings.
    const fresh = done.key as string
    expect(done.key_base64).toBe(scheme === 'vault' ? Buffer.from(fresh, 'hex').toString('base64') : Buffer.from(fresh).toString('base64'))
    expect(ks.keys).not.toContain(fresh)
    // One count everywhere: seal status counts the new share among those out, as the keyset lists them; the threshold stays.
    expect((await api.call('GET', 'sys/seal-status')).json).toMatchObject({ t: 3, n: out + 1 })
    expect(api.engine.keyset.listShares()).toHaveLength(out + 1)

    // The new share works with two original ones.
    const root = await api.call('PUT', 'sys/generate-root/attempt', {})
    const result = await feed(api, 'root', root.json.nonce, [fresh, ks.keys[3]!, ks.keys[4]!])
    expect(result.complete).toBe(true)
    expect(decodeWithOtp(result.encoded_token, Buffer.from(root.json.otp)).value.toString()).toMatch(/^hvs\./)
  })
})
