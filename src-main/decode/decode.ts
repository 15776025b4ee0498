import { xorBytes } from '../crypto/otp'
import { TesseraError } from '../support/errors'
import { decryptWith, type PrivateKeyInfo } from '../crypto/pgp'
import { decryptWithGpg, type GpgOptions } from '../crypto/gpg'
import { wipe } from '../crypto/wipe'
import { decodeBase64Text } from '../crypto/base64'
import { base64Bytes as strictBase64Bytes, trimBytes } from '../crypto/text-bytes'

/** What a decoded value looks like: bytes of no such shape are refused (a wrong OTP of plausible shape is caught only by verify.ts). */
export type ValueKind = 'root token' | 'recovery token' | 'token' | 'legacy UUID token' | 'unseal key share' | 'secrets.js share'

export interface Decoded {
  /** The decoded characters; the caller wipes them once shown. */
  value: Buffer
  kind: ValueKind
  /** What decoded it: a wrong OTP gives a plausible wrong value, a wrong PGP key none. */
  method: 'otp' | 'pgp'
  /** Said of a value no check can confirm: a legacy 16-byte OTP turns any 16 bytes into a UUID. */
  note?: string
}

const decodeError = (message: string) => new TesseraError('decode', message)

/** Vault's legacy OTP: base64 of 16 bytes, 24 characters ending in "==". */
const LEGACY_OTP_CHARS = 24
const LEGACY_OTP_BYTES = 16

/** Vault's TokenLength: the random base62 characters after a token's prefix. */
const TOKEN_CHARS = 24
/** A secrets.js share of this codebase's 8-bit field: "8", a 2-digit id, then data padded to whole blocks. */
const SECRETS_SHARE = /^8(?!00)[0-9a-f]{2}[0-9a-f]{32,192}$/
/** A Vault share: the key's 16 to 32 bytes and one x-coordinate byte, as lowercase hex. */
const MIN_SHARE_BYTES = 17
const MAX_SHARE_BYTES = 33
/** Longer plaintext than any token or share cannot be one. */
const MAX_VALUE_BYTES = 256

const LEGACY_NOTE =
  'a legacy 16-byte OTP turns any encoded value into a UUID, so this one cannot be checked: ' +
  'a wrong OTP gives a wrong UUID without an error; confirm the token works before relying on it'

/** Line breaks and spaces are ignored, as `base64 -d` and Go's decoder ignore them (`base64` wraps at 76). */
function base64Bytes(text: string, what: string): Buffer {
  const bytes = decodeBase64Text(text)
  if (!bytes) throw decodeError(`${what} is not base64`)
  return bytes
}

function isBase62(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) return false
  }
  return true
}

const TOKEN_PREFIXES: Record<string, ValueKind> = {
  'hvs.': 'root token',
  's.': 'root token',
  'hvr.': 'recovery token',
  'r.': 'recovery token',
  'hvb.': 'token',
  'b.': 'token',
}

/** The kind of a value of exactly a token's or a share's shape; undefined for anything else. */
export function kindOf(text: string): ValueKind | undefined {
  const dot = text.indexOf('.')
  if (dot > 0) {
    const kind = TOKEN_PREFIXES[text.slice(0, dot + 1)]
    return kind && text.length === dot + 1 + TOKEN_CHARS && isBase62(text, dot + 1) ? kind : undefined
  }
  // A token without prefix: Vault's own decode test vector has this shape.
  if (text.length === TOKEN_CHARS && isBase62(text, 0)) return 'token'
  if (/^[0-9a-f]+$/.test(text)) {
    const bytes = text.length / 2
    if (text.length % 2 === 0 && bytes >= MIN_SHARE_BYTES && bytes <= MAX_SHARE_BYTES) return 'unseal key share'
    if (SECRETS_SHARE.test(text)) return 'secrets.js share'
  }
  return undefined
}

/** The plaintext as a value of a known kind, or an error (the plaintext is then wiped). */
function recognise(value: Buffer, refusal: string): { value: Buffer; kind: ValueKind } {
  const kind = value.length <= MAX_VALUE_BYTES ? kindOf(value.toString('latin1')) : undefined
  if (!kind) {
    wipe(value)
    throw decodeError(refusal)
  }
  return { value, kind }
}

/** Formats 16 bytes as Vault's legacy root tokens were: a UUID. */
function uuid(bytes: Buffer): Buffer {
  const hex = bytes.toString('hex')
  return Buffer.from(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`)
}

/**
 * Reverses Vault's OTP protection, for results of every Vault version: base62
 * OTPs of any length (24, 26, 28 …) and the legacy base64 16-byte OTP whose
 * result is a UUID. The result must have the exact shape of a token or a share
 * and must not be the OTP itself (an encoded value of zero bytes hides nothing).
 */
export function decodeWithOtp(encoded: string, otp: Buffer): Decoded {
  const enc = base64Bytes(encoded, 'the encoded value')
  if (enc.every((b) => b === 0)) {
    throw decodeError('the encoded value is all zero bytes: it hides no result (decoding it would only give back the OTP)')
  }
  // A view of the caller's bytes, which the caller wipes: the OTP is never a string here.
  const key = trimBytes(otp)
  if (key.length === LEGACY_OTP_CHARS && enc.length === LEGACY_OTP_BYTES) {
    const legacy = strictBase64Bytes(key)
    if (legacy?.length === LEGACY_OTP_BYTES) {
      const raw = xorBytes(enc, legacy)
      const value = uuid(raw)
      wipe(raw, legacy)
      return { value, kind: 'legacy UUID token', method: 'otp', note: LEGACY_NOTE }
    }
    wipe(legacy)
  }
  if (key.length !== enc.length) {
    // A mistyped OTP is far likelier than one of another attempt: say what is wrong with it.
    throw decodeError(
      `the OTP has ${key.length} characters, the wrong length for this encoded value (it needs ${enc.length}): ` +
        'a character is missing or extra',
    )
  }
  const value = xorBytes(enc, key)
  if (value.equals(key)) {
    wipe(value)
    throw decodeError('decoding gave back the OTP itself: the encoded value hides no result')
  }
  return { ...recognise(value, 'decoding gave no token or share: this OTP belongs to another attempt'), method: 'otp' }
}

const NOT_A_RESULT = 'the decrypted message is not a token or a share'

/** Decrypts a PGP-protected result (base64 of a binary OpenPGP message) with an unlocked key. */
export async function decodeWithPgp(encoded: string, key: PrivateKeyInfo): Promise<Decoded> {
  const data = await decryptWith(key, base64Bytes(encoded, 'the encoded value'))
  const plain = Buffer.from(data)
  wipe(data)
  return { ...recognise(plain, NOT_A_RESULT), method: 'pgp' }
}

/** Decrypts a PGP-protected result with the system's gpg: the private key stays in its agent or on its card. */
export async function decodeWithGpg(encoded: string, opts?: GpgOptions): Promise<Decoded> {
  const plain = await decryptWithGpg(base64Bytes(encoded, 'the encoded value'), opts)
  return { ...recognise(plain, NOT_A_RESULT), method: 'pgp' }
}
