import { describe, expect, it } from 'vitest'
import secrets from 'secrets.js-grempe'
import { xorBytes } from '../src-main/crypto/otp'
import { randomBase62 } from '../src-main/crypto/base62'
import { decodeWithOtp } from '../src-main/decode/decode'
import { createRouter } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'
import { runCli } from './helpers/cli'
import { makeKeyset, tempDir } from './helpers/keysets'

/**
 * A decoded value is printed only when it has the exact shape of what it claims
 * to be, and is never the OTP itself: an encoded value of zero bytes (38 or 88
 * "A"s) would otherwise "decode" to the OTP, and any printable bytes of a
 * token-like alphabet would pass for a token.
 */

const otp28 = () => randomBase62(28).toString()
/** The encoded value that decodes to `value` under `otp`, as Vault would send it (unpadded base64). */
const encodedOf = (value: string, otp: string) => xorBytes(Buffer.from(value), Buffer.from(otp)).toString('base64').replace(/=+$/, '')

describe('tessera decode refuses what is not a result', () => {
  it('38 "A"s (28 zero bytes) with a 28-character OTP is an error, not the OTP printed as a token', async () => {
    const otp = otp28()
    const r = await runCli(['decode', '--encoded', 'A'.repeat(38), '--otp', otp])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/all zero bytes/)
    expect(r.stderr).not.toContain(otp)
  })

  it('88 "A"s (66 zero bytes) with a 66-character OTP is an error, not the OTP printed as a share', async () => {
    const otp = Buffer.alloc(33, 0xab).toString('hex')
    const r = await runCli(['decode', '--encoded', 'A'.repeat(88), '--otp', otp, '--format', 'json'])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).not.toContain(otp)
  })
})

describe('the shape of a decoded value', () => {
  const accepted: Array<[string, string]> = [
    ['hvs.' + 'aB3dE5fG7hJ9kL1mN2pQ4rS6', 'root token'],
    ['s.' + 'aB3dE5fG7hJ9kL1mN2pQ4rS6', 'root token'],
    ['hvr.' + 'aB3dE5fG7hJ9kL1mN2pQ4rS6', 'recovery token'],
    ['r.' + 'aB3dE5fG7hJ9kL1mN2pQ4rS6', 'recovery token'],
    ['hvb.' + 'aB3dE5fG7hJ9kL1mN2pQ4rS6', 'token'],
    ['4RUmoevJ3lsLni9sTXcNnRE1', 'token'],
    [Buffer.alloc(33, 0x5a).toString('hex'), 'unseal key share'],
    [Buffer.alloc(17, 0x5a).toString('hex'), 'unseal key share'],
    [secrets.share('ab'.repeat(32), 3, 2)[0]!, 'secrets.js share'],
  ]
  for (const [value, kind] of accepted) {
    it(`accepts a ${kind} of ${value.length} characters`, () => {
      const otp = randomBase62(value.length).toString()
      const decoded = decodeWithOtp(encodedOf(value, otp), Buffer.from(otp))
      expect(decoded.value.toString()).toBe(value)
      expect(decoded.kind).toBe(kind)
      expect(decoded.method).toBe('otp')
    })
  }

  const refused: Array<[string, string]> = [
    ['x'.repeat(28), 'base62 of a token length but no prefix'],
    ['hvs.' + 'aB3dE5fG7hJ9kL1mN2pQ4rS', 'a prefix and 23 characters'],
    ['hvs.' + 'aB3dE5fG7hJ9kL1mN2pQ4rS67', 'a prefix and 25 characters'],
    ['hvs.' + 'aB3dE5fG7hJ9kL1mN2pQ4r-6', 'a character outside base62'],
    ['hvx.' + 'aB3dE5fG7hJ9kL1mN2pQ4rS6', 'an unknown prefix'],
    [Buffer.alloc(33, 0x5a).toString('hex').toUpperCase(), 'uppercase hex'],
    [Buffer.alloc(16, 0x5a).toString('hex'), 'hex of 16 bytes (no x byte)'],
    [Buffer.alloc(34, 0x5a).toString('hex'), 'hex of 34 bytes'],
    [Buffer.alloc(33, 0x5a).toString('hex').slice(1), 'odd-length hex'],
    ['800' + 'ab'.repeat(32), 'a secrets.js share with id 00'],
  ]
  for (const [value, what] of refused) {
    it(`refuses ${what}`, () => {
      const otp = randomBase62(value.length).toString()
      expect(() => decodeWithOtp(encodedOf(value, otp), Buffer.from(otp))).toThrow(expect.objectContaining({ code: 'decode' }))
    })
  }
})

describe("the app's decode", () => {
  it('refuses the zero-byte value instead of showing the OTP as the token', async () => {
    const dispatch = createRouter(handlersFor(new Session()))
    const otp = otp28()
    const r = await dispatch('decode.otp', { encoded: 'A'.repeat(38), otp })
    expect(r.ok).toBe(false)
    expect(JSON.stringify(r)).not.toContain(otp)
  })

  it('refuses a zero-byte result against the OTP it holds (what a hostile server could send back)', async () => {
    const { dir, cleanup } = await tempDir('tessera-held-')
    try {
      const ks = await makeKeyset(dir, { shares: 3, threshold: 2 })
      const session = new Session()
      await session.ceremony.openKeyset(ks.path)
      const dispatch = createRouter(handlersFor(session))
      const start = await dispatch('attempt.start', { flow: 'root' })
      expect(start).toMatchObject({ ok: true, value: { otp_held: true } })
      const r = await dispatch('decode.held', { flow: 'root', encoded: 'A'.repeat(38) })
      expect(r).toEqual({ ok: false, error: { code: 'decode', message: expect.stringMatching(/all zero bytes/) } })
      // The OTP is still held for the real result.
      expect(await dispatch('attempt.status', { flow: 'root' })).toMatchObject({ ok: true, value: { otp_held: true } })
      await dispatch('attempt.cancel', { flow: 'root' })
    } finally {
      await cleanup()
    }
  })

  it('says plainly that a legacy UUID result cannot be checked', async () => {
    const dispatch = createRouter(handlersFor(new Session()))
    const otp = Buffer.alloc(16, 7).toString('base64')
    const encoded = Buffer.alloc(16, 9).toString('base64')
    const r = await dispatch('decode.otp', { encoded, otp })
    expect(r).toEqual({
      ok: true,
      value: { value: expect.stringMatching(/^[0-9a-f]{8}-/), kind: 'legacy UUID token', checksum: expect.any(String), note: expect.stringMatching(/cannot be checked/), verified: false },
    })
  })
})
