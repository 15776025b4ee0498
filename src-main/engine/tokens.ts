import { createHmac, randomBytes } from 'node:crypto'
import { randomBase62 } from '../crypto/base62'
import { sameBytes } from '../crypto/same-bytes'
import { TesseraError } from '../support/errors'
import { MAX_TOKENS, type TokenRecord } from './keyset-format'

/** Vault's TokenLength: random characters after the prefix. */
export const TOKEN_LENGTH = 24
export const ROOT_TOKEN_PREFIX = 'hvs.'
export const RECOVERY_TOKEN_PREFIX = 'hvr.'

/** A fresh token as bytes ("hvs." + 24 base62), so that it can be wiped after use. */
export function newToken(prefix: string): Buffer {
  const random = randomBase62(TOKEN_LENGTH)
  const token = Buffer.concat([Buffer.from(prefix, 'ascii'), random])
  random.fill(0)
  return token
}

export function newSalt(): Buffer {
  return randomBytes(32)
}

/** What the keyset stores instead of a token: a salted HMAC, as Vault's token store does. */
export function hashToken(salt: Uint8Array, token: Uint8Array | string): Buffer {
  return createHmac('sha256', salt).update(token).digest()
}

/** A public, non-secret handle for a token (Vault's accessor). */
export function newAccessor(): string {
  return randomBase62(24).toString('ascii')
}

/** The record kept of a token made now, a root or a recovery token (both carry the root policy): its accessor and salted hash, never the token. */
export function newTokenRecord(salt: Uint8Array, token: Uint8Array): TokenRecord {
  return {
    accessor: newAccessor(),
    hash: hashToken(salt, token).toString('base64'),
    policies: ['root'],
    creation_time: Math.floor(Date.now() / 1000),
  }
}

/** The record of a presented token among `records` hashed under `salt`, comparing hashes in constant time. */
export function findTokenRecord(salt: Uint8Array, records: readonly TokenRecord[], token: Uint8Array | string): TokenRecord | undefined {
  const hash = hashToken(salt, token)
  return records.find((t) => sameBytes(Buffer.from(t.hash, 'base64'), hash))
}

/** The refusal of a root token the keyset has no room left to record. */
export function tokenLimit(): TesseraError {
  return new TesseraError('token_limit', `this keyset already records ${MAX_TOKENS.toLocaleString('en')} root tokens, the most it holds: revoke tokens no longer used, then start again`)
}
