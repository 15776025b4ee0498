import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import * as openpgp from 'openpgp'
import { xorBytes } from '../src-main/crypto/otp'
import { randomBase62 } from '../src-main/crypto/base62'
import { createRouter } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'
import { runCli } from './helpers/cli'
import { ipcCalls } from './helpers/ipc'
import { downgradeToV1, makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'

/**
 * "verified" means checked against what can tell: one OTP character changed
 * XORs into another token or share of exactly the right shape, which only the
 * keyset that made the value can tell from the real one.
 */

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** An OTP for `value`, the encoded value, and the OTP with one character changed that still decodes to a well-formed value. */
function protect(value: string, alphabet: RegExp): { otp: string; encoded: string; wrongOtp: string; wrongValue: string } {
  const otp = randomBase62(value.length).toString()
  const raw = xorBytes(Buffer.from(value), Buffer.from(otp))
  const at = value.length - 3
  const swap = [...BASE62].find((c) => c !== otp[at] && alphabet.test(String.fromCharCode(c.charCodeAt(0) ^ raw[at]!)))!
  const wrongOtp = otp.slice(0, at) + swap + otp.slice(at + 1)
  const wrongValue = xorBytes(raw, Buffer.from(wrongOtp)).toString()
  return { otp, encoded: raw.toString('base64'), wrongOtp, wrongValue }
}

let dir: string
let cleanup: () => Promise<void>
let ks: TestKeyset
let other: TestKeyset
beforeAll(async () => {
  ;({ dir, cleanup } = await tempDir('tessera-decode-verify-'))
  ks = await makeKeyset(dir, { shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] })
  other = await makeKeyset(dir, { shares: 3, threshold: 2 })
})
afterAll(() => cleanup())

describe('tessera decode --keyset', () => {
  it('says a token decoded with a mistyped OTP is not verified without a keyset, and how to check it', async () => {
    const p = protect(ks.rootToken, /[0-9A-Za-z]/)
    const json = await runCli(['decode', '--encoded', p.encoded, '--otp', p.wrongOtp, '--format', 'json'])
    expect(json.code, json.stderr).toBe(0)
    const out = JSON.parse(json.stdout)
    expect(out).toMatchObject({ value: p.wrongValue, kind: 'root token', verified: false })
    expect(out.note).toMatch(/mistyped OTP .* plausible but wrong token/)
    expect(out.note).toContain('--keyset FILE')
    expect(out.note).toContain('vault token lookup')
    const text = await runCli(['decode', '--encoded', p.encoded, '--otp', p.wrongOtp])
    expect(text.stdout).toBe(`${p.wrongValue}\n`)
    expect(text.stderr).toMatch(/^note: not verified .*mistyped OTP.*--keyset FILE/)
  })

  it('refuses a token decoded with a mistyped OTP (exit 1, nothing printed) and verifies the right one', async () => {
    const p = protect(ks.rootToken, /[0-9A-Za-z]/)
    const wrong = await runCli(['decode', '--encoded', p.encoded, '--otp', p.wrongOtp, '--keyset', ks.path, '--format', 'json'])
    expect(wrong.code).toBe(1)
    expect(wrong.stdout).toBe('')
    expect(wrong.stderr).toContain('not a token of this keyset')
    expect(wrong.stderr).not.toContain(p.wrongValue)
    expect(wrong.stderr).not.toContain(p.wrongOtp)
    const right = await runCli(['decode', '--encoded', p.encoded, '--otp-file', '-', '--keyset', ks.path, '--format', 'json'], { stdin: p.otp })
    expect(right.code, right.stderr).toBe(0)
    expect(JSON.parse(right.stdout)).toEqual({ value: ks.rootToken, kind: 'root token', verified: true })
    const text = await runCli(['decode', '--encoded', p.encoded, '--otp', p.otp, '--keyset', ks.path])
    expect([text.stdout, text.stderr]).toEqual([`${ks.rootToken}\n`, ''])
  })

  it("checks a share against the keyset's check values: a mistyped OTP's share and another keyset's share are refused", async () => {
    const p = protect(ks.keys[1]!, /[0-9a-f]/)
    const right = await runCli(['decode', '--encoded', p.encoded, '--otp', p.otp, '--keyset', ks.path, '--format', 'json'])
    expect(right.code, right.stderr).toBe(0)
    expect(JSON.parse(right.stdout)).toEqual({ value: ks.keys[1], kind: 'unseal key share', verified: true })
    const wrong = await runCli(['decode', '--encoded', p.encoded, '--otp', p.wrongOtp, '--keyset', ks.path])
    expect(wrong.code).toBe(1)
    expect(wrong.stdout).toBe('')
    expect(wrong.stderr).toMatch(/not a share of this keyset .*share 2 \(Bob\)/)
    expect(wrong.stderr).not.toContain(p.wrongValue)
    const foreign = protect(other.keys[0]!, /[0-9a-f]/)
    const stranger = await runCli(['decode', '--encoded', foreign.encoded, '--otp', foreign.otp, '--keyset', ks.path])
    expect(stranger.code).toBe(1)
    expect(stranger.stderr).toContain('not a share of this keyset')
    const unchecked = await runCli(['decode', '--encoded', p.encoded, '--otp', p.wrongOtp, '--format', 'json'])
    expect(JSON.parse(unchecked.stdout)).toMatchObject({ verified: false, note: expect.stringContaining('tessera verify-share') })
  })

  it('verifies a PGP-decrypted share against the keyset', async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Holder' }], format: 'armored' })
    const keyFile = join(dir, 'holder.asc')
    await writeFile(keyFile, privateKey)
    const encrypt = async (text: string) =>
      Buffer.from(
        (await openpgp.encrypt({
          message: await openpgp.createMessage({ binary: Buffer.from(text) }),
          encryptionKeys: await openpgp.readKey({ armoredKey: publicKey }),
          format: 'binary',
        })) as Uint8Array,
      ).toString('base64')
    const ours = await runCli(['decode', '--encoded', '-', '--pgp-key', keyFile, '--keyset', ks.path, '--format', 'json'], { stdin: await encrypt(ks.keys[2]!) })
    expect(JSON.parse(ours.stdout)).toEqual({ value: ks.keys[2], kind: 'unseal key share', verified: true })
    const theirs = await runCli(['decode', '--encoded', '-', '--pgp-key', keyFile, '--keyset', ks.path], { stdin: await encrypt(other.keys[2]!) })
    expect(theirs.code).toBe(1)
    expect(theirs.stderr).toMatch(/not a share of this keyset.*another keyset/)
  })

  it('says what a keyset cannot check: a recovery token (kept by its server only), a share of a format-1 keyset', async () => {
    const recovery = protect(`hvr.${randomBase62(24)}`, /[0-9A-Za-z]/)
    const r = await runCli(['decode', '--encoded', recovery.encoded, '--otp', recovery.otp, '--keyset', ks.path, '--format', 'json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'recovery token', verified: false, note: expect.stringContaining('does not keep recovery tokens') })
    const v1 = await makeKeyset(dir, { shares: 2, threshold: 2 })
    await downgradeToV1(v1.path)
    const share = protect(v1.keys[0]!, /[0-9a-f]/)
    const old = await runCli(['decode', '--encoded', share.encoded, '--otp', share.otp, '--keyset', v1.path, '--format', 'json'])
    expect(old.code, old.stderr).toBe(0)
    expect(JSON.parse(old.stdout)).toMatchObject({ verified: false, note: expect.stringContaining('format 1') })
  })

  it('fails on an unreadable keyset before reading any secret from standard input', async () => {
    const r = await runCli(['decode', '--encoded', '-', '--otp', 'x', '--keyset', join(dir, 'missing.json')], { stdin: 'never read' })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('no keyset at')
  })
})

describe("the app's decode tool", () => {
  it('checks a share against the open keyset, and without one says it is not verified and how to check it', async () => {
    let session = new Session()
    const { call, refusal } = ipcCalls(() => createRouter(handlersFor(session)))
    const p = protect(ks.keys[0]!, /[0-9a-f]/)
    const alone = await call('decode.otp', { encoded: p.encoded, otp: p.wrongOtp })
    expect(alone).toMatchObject({ value: p.wrongValue, verified: false, note: expect.stringMatching(/mistyped OTP.*open the keyset that made it/) })
    const token = protect(ks.rootToken, /[0-9A-Za-z]/)
    expect((await call('decode.otp', { encoded: token.encoded, otp: token.otp })).note).toContain('vault token lookup')

    session = new Session()
    await call('backend.openKeyset', { path: ks.path })
    expect(await call('decode.otp', { encoded: p.encoded, otp: p.otp })).toMatchObject({ value: ks.keys[0], verified: true })
    expect((await call('decode.otp', { encoded: p.encoded, otp: p.otp })).note).toBeUndefined()
    const mismatch = await refusal('decode.otp', { encoded: p.encoded, otp: p.wrongOtp })
    expect(mismatch.code).toBe('share_mismatch')
    expect(mismatch.message).toMatch(/not a share of this keyset/i)
    expect(mismatch.message).not.toContain(p.wrongValue)
  })
})
