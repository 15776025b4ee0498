import { randomInt } from 'node:crypto'

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/**
 * Random base62 characters as bytes (Vault's OTP and token alphabet). randomInt
 * draws without modulo bias. Returned as a Buffer so the caller can wipe it.
 */
export function randomBase62(length: number): Buffer {
  if (!Number.isInteger(length) || length < 1 || length > 4096) {
    throw new RangeError('length must be an integer from 1 to 4096')
  }
  const out = Buffer.alloc(length)
  for (let i = 0; i < length; i++) out[i] = ALPHABET.charCodeAt(randomInt(62))
  return out
}
