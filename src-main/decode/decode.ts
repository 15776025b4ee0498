import { xorBytes } from '../crypto/otp'
import { TesseraError } from '../support/errors'
import { decryptWith, type PrivateKeyInfo } from '../crypto/pgp'

/** What a decoded value looks like, so that a wrong OTP never passes for a result. */
export type ValueKind = 'root token' | 'recovery token' | 'token' | 'legacy UUID token' | 'unseal key share' | 'secrets.js share'

export interface Decoded {
  /** The decoded characters; the caller wipes them once shown. */
  value: Buffer
  kind: ValueKind
}

export class DecodeError extends TesseraError {
  constructor(message: string) {
    super(400, message, 'decode')
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const LEGACY_OTP = /^[A-Za-z0-9+/]{22}==$/

/** Line breaks and spaces are ignored, as `base64 -d` and Go's decoder ignore them (`base64` wraps at 76). */
function base64Bytes(text: string, what: string): Buffer {
  const clean = text.replace(/\s+/g, '')
  if (clean === '' || !BASE64.test(clean) || clean.replace(/=+$/, '').length % 4 === 1) {
    throw new DecodeError(`${what} is not base64`)
  }
  return Buffer.from(clean, 'base64')
}

function kindOf(text: string): ValueKind | undefined {
  if (/^(hvs|s)\.[A-Za-z0-9]+$/.test(text)) return 'root token'
  if (/^(hvr|r)\.[A-Za-z0-9]+$/.test(text)) return 'recovery token'
  if (/^[0-9a-f]{34,}$/.test(text) && text.length % 2 === 0) return 'unseal key share'
  if (/^8[0-9a-f]{2}[0-9a-f]+$/.test(text)) return 'secrets.js share'
  if (/^[A-Za-z0-9]{24,}$/.test(text)) return 'token'
  return undefined
}

function printable(bytes: Buffer): boolean {
  return bytes.every((b) => b >= 0x21 && b <= 0x7e)
}

/** Formats 16 bytes as Vault's legacy root tokens were: a UUID. */
function uuid(bytes: Buffer): Buffer {
  const hex = bytes.toString('hex')
  return Buffer.from(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`)
}

/**
 * Reverses Vault's OTP protection, for results of every Vault version: base62
 * OTPs of any length (24, 26, 28 …) and the legacy base64 16-byte OTP whose
 * result is a UUID.
 */
export function decodeWithOtp(encoded: string, otp: string): Decoded {
  const enc = base64Bytes(encoded, 'the encoded value')
  const trimmedOtp = otp.trim()
  if (LEGACY_OTP.test(trimmedOtp) && enc.length === 16) {
    const key = Buffer.from(trimmedOtp, 'base64')
    const raw = xorBytes(enc, key)
    const value = uuid(raw)
    raw.fill(0)
    key.fill(0)
    return { value, kind: 'legacy UUID token' }
  }
  const key = Buffer.from(trimmedOtp, 'utf8')
  if (key.length !== enc.length) {
    key.fill(0)
    throw new DecodeError(
      `the encoded value holds ${enc.length} bytes but the OTP has ${key.length} characters: ` +
        'this OTP belongs to another attempt',
    )
  }
  const value = xorBytes(enc, key)
  key.fill(0)
  const kind = printable(value) ? kindOf(value.toString('latin1')) : undefined
  if (!kind) {
    value.fill(0)
    throw new DecodeError('decoding gave no token or share: this OTP belongs to another attempt')
  }
  return { value, kind }
}

/** Decrypts a PGP-protected result (base64 of a binary OpenPGP message) with an unlocked key. */
export async function decodeWithPgp(encoded: string, key: PrivateKeyInfo): Promise<Decoded> {
  const message = base64Bytes(encoded, 'the encoded value')
  const plain = Buffer.from(await decryptWith(key, message))
  const kind = printable(plain) ? kindOf(plain.toString('latin1')) : undefined
  if (!kind) {
    plain.fill(0)
    throw new DecodeError('the decrypted message is not a token or a share')
  }
  return { value: plain, kind }
}
