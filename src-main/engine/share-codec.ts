import * as shamir from 'shamir-secret-sharing'
import secrets from 'secrets.js-grempe'
import { hasCode, TesseraError } from '../support/errors'
import { wipe } from '../crypto/wipe'
import { base64Bytes, hexBytes } from '../crypto/text-bytes'

import type { Scheme } from './schemes'
import { SHARE_MAX_BYTES, SHARE_MIN_BYTES } from '../../src-shared/share-grammar'

export type { Scheme }

/**
 * How one keyset's shares look and combine. Shares travel as canonical bytes:
 * two spellings of one share (hex and base64) decode to the same bytes, which is
 * what duplicate detection compares.
 */
export interface ShareCodec {
  /** Splits the secret into `n` shares of threshold `t` (canonical bytes). */
  split(secret: Uint8Array, n: number, t: number): Promise<Buffer[]>
  /**
   * Parses what an operator typed, whitespace removed, from its bytes (never a
   * string, which could not be wiped); throws Vault's 400 errors on a malformed
   * share. The caller keeps and wipes `input`; the result is a new Buffer.
   */
  parse(input: Uint8Array): Buffer
  /** Recombines `threshold` shares into the secret. */
  combine(shares: Buffer[]): Promise<Buffer>
  /** The share's public index (Shamir x coordinate). */
  id(share: Buffer): number
  /** A new share of the same secret at index `id`, computed from `threshold` shares. */
  derive(shares: Buffer[], id: number): Promise<Buffer>
  /** The string a holder is given; this is what OTP or PGP protection covers. */
  text(share: Buffer): Buffer
  /** Characters in `text` for a secret of `secretBytes`. */
  textLength(secretBytes: number): number
  /** Canonical bytes of one share of a secret of `secretBytes`: any other length is a mistyped share. */
  shareLength(secretBytes: number): number
  /** Vault's two spellings of a share, as in sys/init's keys and keys_base64. */
  forms(share: Buffer): { key: string; key_base64: string }
}

/**
 * Vault's decoding of an update's `key`: hex first; if that fails or the length is
 * out of bounds, padded standard base64. Bounds are then enforced by the caller.
 */
function decodeHexOrBase64(input: Uint8Array): Buffer {
  const hex = hexBytes(input)
  if (hex) {
    if (hex.length >= SHARE_MIN_BYTES && hex.length <= SHARE_MAX_BYTES) return hex
    wipe(hex)
  }
  const base64 = base64Bytes(input)
  if (base64) return base64
  throw new TesseraError('invalid_key', "'key' must be a valid hex or base64 string")
}

/** A key that decoded but whose length is out of Vault's bounds: sys/unseal checks that later than the rest, and in other words. */
export const isKeyBoundsError = (err: unknown): err is TesseraError => hasCode(err, 'key_bounds')

function checkBounds(key: Buffer): Buffer {
  if (key.length < SHARE_MIN_BYTES) {
    wipe(key)
    throw new TesseraError('key_bounds', `key is shorter than minimum ${SHARE_MIN_BYTES} bytes`)
  }
  if (key.length > SHARE_MAX_BYTES) {
    wipe(key)
    throw new TesseraError('key_bounds', `key is longer than maximum ${SHARE_MAX_BYTES} bytes`)
  }
  return key
}

/** shamir-secret-sharing checks `constructor === Uint8Array`, which a Buffer fails: hand it views. */
const view = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
const own = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

/** Vault's own format: the y bytes followed by one x-coordinate byte, GF(2^8) mod x^8+x^4+x^3+x+1. */
const vaultShamir: ShareCodec = {
  async split(secret, n, t) {
    return (await shamir.split(view(secret), n, t)).map(own)
  },
  parse: (input) => checkBounds(decodeHexOrBase64(input)),
  async combine(shares) {
    // Two different shares of one number cannot both be this keyset's: Vault's
    // words for it, with what they mean for the operator.
    const ids = shares.map((s) => s[s.length - 1])
    if (new Set(ids).size < ids.length) {
      throw new TesseraError('combine_failed', 'failed to compute root key: duplicate part detected (two of the shares given have the same share number: one of them is foreign or mistyped)')
    }
    try {
      return own(await shamir.combine(shares.map(view)))
    } catch (err) {
      throw new TesseraError('combine_failed', `failed to compute root key: ${(err as Error).message}`)
    }
  },
  id: (share) => share[share.length - 1]!,
  async derive(shares, id) {
    // P(id) is the secret of the shifted polynomial Q(z) = P(z + id), whose shares
    // are (x + id, y): in GF(2^8) addition is XOR, so the library's combine
    // (interpolation at zero) evaluates the original polynomial at `id`.
    const shifted = shares.map((s) => {
      const copy = Buffer.from(s)
      copy[copy.length - 1] = copy[copy.length - 1]! ^ id
      return copy
    })
    try {
      const y = await shamir.combine(shifted.map(view))
      const share = Buffer.concat([y, Buffer.of(id)])
      wipe(y)
      return share
    } finally {
      wipe(...shifted)
    }
  },
  text: (share) => Buffer.from(share.toString('hex'), 'ascii'),
  textLength: (secretBytes) => 2 * (secretBytes + 1),
  shareLength: (secretBytes) => secretBytes + 1,
  forms: (share) => ({ key: share.toString('hex'), key_base64: share.toString('base64') }),
}

/** Threshold 1: the single key is the secret itself, as Vault hands it out. */
const singleKey: ShareCodec = {
  async split(secret, n, t) {
    if (n !== 1 || t !== 1) throw new TesseraError('internal', 'internal error: a single key cannot be split')
    return [Buffer.from(secret)]
  },
  parse: vaultShamir.parse,
  async combine(shares) {
    return Buffer.from(shares[0]!)
  },
  // The one share is share 1, as holders and the keyset's records count.
  id: () => 1,
  async derive(shares) {
    return Buffer.from(shares[0]!)
  },
  text: vaultShamir.text,
  textLength: (secretBytes) => 2 * secretBytes,
  shareLength: (secretBytes) => secretBytes,
  forms: vaultShamir.forms,
}

/**
 * A share of secrets.js in this codebase's 8-bit field, as secrets.js reads one:
 * "8", a 2-hex-digit id from 1 to 255, then hex data. Returned lowercased, as a
 * new Buffer; null for anything else.
 */
function secretsShareBytes(input: Uint8Array): Buffer | null {
  if (input.length < 4 || input[0] !== 0x38) return null
  const share = Buffer.from(input)
  for (let i = 1; i < share.length; i++) {
    const c = share[i]!
    const upper = c >= 0x41 && c <= 0x46
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || upper)) {
      wipe(share)
      return null
    }
    if (upper) share[i] = c | 0x20
  }
  if (share[1] === 0x30 && share[2] === 0x30) {
    wipe(share)
    return null
  }
  return share
}

/**
 * secrets.js-grempe shares ("8" + 2-hex-digit id + data): another field (0x11d)
 * and a padded bit layout, not interchangeable with Vault's. Canonical bytes are
 * the lowercased share string; its base64 (keys_base64) is accepted as well.
 */
const secretsTextLengths = new Map<number, number>()

const secretsJs: ShareCodec = {
  async split(secret, n, t) {
    const hex = Buffer.from(secret).toString('hex')
    return secrets.share(hex, n, t).map((s) => Buffer.from(s, 'ascii'))
  },
  parse(input) {
    let share = secretsShareBytes(input)
    if (share === null) {
      const decoded = base64Bytes(input)
      if (decoded) share = secretsShareBytes(decoded)
      wipe(decoded)
    }
    if (share === null) {
      throw new TesseraError('invalid_key', "'key' must be a valid secrets.js share or its base64")
    }
    return share
  },
  async combine(shares) {
    try {
      return Buffer.from(secrets.combine(shares.map((s) => s.toString('ascii'))), 'hex')
    } catch (err) {
      throw new TesseraError('combine_failed', `failed to compute root key: ${(err as Error).message}`)
    }
  },
  id: (share) => secrets.extractShareComponents(share.toString('ascii')).id,
  async derive(shares, id) {
    return Buffer.from(secrets.newShare(id, shares.map((s) => s.toString('ascii'))), 'ascii')
  },
  text: (share) => Buffer.from(share),
  // The padded bit layout makes the length awkward to derive; measure it once per size.
  textLength(secretBytes) {
    let length = secretsTextLengths.get(secretBytes)
    if (length === undefined) {
      length = secrets.share('00'.repeat(secretBytes), 2, 2)[0]!.length
      secretsTextLengths.set(secretBytes, length)
    }
    return length
  },
  // The canonical bytes are the share string itself.
  shareLength: (secretBytes) => secretsJs.textLength(secretBytes),
  forms: (share) => ({ key: share.toString('ascii'), key_base64: share.toString('base64') }),
}

export function codecFor(scheme: Scheme, threshold: number): ShareCodec {
  if (threshold === 1) return singleKey
  return scheme === 'vault' ? vaultShamir : secretsJs
}

/** Share indexes a scheme can hand out: x coordinates 1..255 (secrets.js: 2^8 - 1 ids). */
export const MAX_SHARE_ID = 255
