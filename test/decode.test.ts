import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { decodeWithOtp } from '../src-main/decode/decode'
import { xorBytes } from '../src-main/crypto/otp'

describe('OTP decoding', () => {
  it("decodes Vault's own test vector", () => {
    const { value, kind } = decodeWithOtp('Bxg9JQQqOCNKBRICNwMIRzo2J3cWCBRi', Buffer.from('3JhHkONiyiaNYj14nnD9xZQS'))
    expect(value.toString()).toBe('4RUmoevJ3lsLni9sTXcNnRE1')
    expect(kind).toBe('token')
  })

  it('accepts the encoded value padded or unpadded, wrapped, with surrounding whitespace', () => {
    const token = Buffer.from('hvs.' + 'a1B2c3D4e5F6g7H8i9J0kLmN')
    const otp = Buffer.from('Q'.repeat(28))
    const padded = xorBytes(token, otp).toString('base64')
    expect(padded.endsWith('=')).toBe(true)
    for (const encoded of [padded, padded.replace(/=+$/, ''), ` ${padded}\n`, padded.replace(/(.{8})/g, '$1\n')]) {
      expect(decodeWithOtp(encoded, otp).value.toString()).toBe(token.toString())
    }
  })

  it('decodes legacy results (base64 16-byte OTP) into a UUID token', () => {
    const raw = randomBytes(16)
    const otp = randomBytes(16)
    const encoded = xorBytes(raw, otp).toString('base64')
    const { value, kind } = decodeWithOtp(encoded, Buffer.from(otp.toString('base64')))
    const hex = raw.toString('hex')
    expect(value.toString()).toBe(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`)
    expect(kind).toBe('legacy UUID token')
  })

  it('takes the OTP as bytes, as read from a file (trailing newline), and leaves the caller\'s Buffer as it was', () => {
    const otp = Buffer.from('3JhHkONiyiaNYj14nnD9xZQS\n')
    const before = Buffer.from(otp)
    const { value } = decodeWithOtp('Bxg9JQQqOCNKBRICNwMIRzo2J3cWCBRi', otp)
    expect(value.toString()).toBe('4RUmoevJ3lsLni9sTXcNnRE1')
    // The caller owns the OTP: it may decode again with it, and wipes it when done.
    expect(otp.equals(before)).toBe(true)
    const legacy = randomBytes(16)
    const raw = randomBytes(16)
    expect(decodeWithOtp(xorBytes(raw, legacy).toString('base64'), Buffer.from(` ${legacy.toString('base64')}\r\n`)).kind).toBe('legacy UUID token')
  })

  it('never passes a wrong OTP off as a result', () => {
    expect(() => decodeWithOtp('Bxg9JQQqOCNKBRICNwMIRzo2J3cWCBRi', Buffer.from('3JhHkONiyiaNYj14nnD9xZQ'))).toThrow('the OTP has 23 characters, the wrong length for this encoded value (it needs 24): a character is missing or extra')
    expect(() => decodeWithOtp('Bxg9JQQqOCNKBRICNwMIRzo2J3cWCBRi', Buffer.from('zzzzzzzzzzzzzzzzzzzzzzzz'))).toThrow(expect.objectContaining({ code: 'decode' }))
    expect(() => decodeWithOtp('not base64!', Buffer.from('3JhHkONiyiaNYj14nnD9xZQS'))).toThrow(/not base64/)
    expect(() => decodeWithOtp('', Buffer.from('3JhHkONiyiaNYj14nnD9xZQS'))).toThrow(/not base64/)
  })
})
