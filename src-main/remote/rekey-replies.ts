import * as v from 'valibot'
import { flag, int, MAX_RESULT_CHARS, nonce, object } from './replies'

/**
 * What Tessera accepts from sys/rekey/* and sys/rotate/root/* (inside its
 * `data`), checked before any field is used. As in replies.ts, a message says
 * what a field should be, never what the server sent: a field may hold a share.
 */

/** A share count, a threshold or a progress: Shamir's limit. */
const count = int(255)

/** A hex or base64 share or PGP message; an encrypted one is a few KiB, its hex twice that. */
const encoded = (pattern: RegExp, what: string) => {
  const m = `should be ${what} of at most ${2 * MAX_RESULT_CHARS} characters`
  return v.pipe(v.string(m), v.maxLength(2 * MAX_RESULT_CHARS, m), v.regex(pattern, m))
}
const hexText = encoded(/^(?:[0-9a-fA-F]{2})+$/, 'hex')
const base64Text = encoded(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'base64')

/** A v4 (40 hex) or v6 (64 hex) key fingerprint, as Vault prints them. */
const fingerprint = v.pipe(
  v.string('should be a key fingerprint in hex'),
  v.regex(/^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/, 'should be a key fingerprint in hex'),
  v.toLowerCase(),
)
const list = <T extends v.GenericSchema>(item: T, min = 0) => {
  const m = `should be a list of 0 to 255 items`
  return v.pipe(v.array(item, m), v.minLength(min, `should be a list of ${min} to 255 items`), v.maxLength(255, m))
}
const fingerprints = v.optional(v.nullable(list(fingerprint)), null)

/** GET/PUT sys/rekey/init, an update short of the threshold; OpenBao's idle rotate status omits what it does not know. */
export const RekeyStatusReply = object({
  nonce,
  started: flag,
  t: count,
  n: count,
  progress: v.optional(count, 0),
  required: count,
  pgp_fingerprints: fingerprints,
  backup: v.optional(flag, false),
  verification_required: v.optional(flag, false),
  /** '' (OpenBao) or absent (Vault) until the new shares are made. */
  verification_nonce: nonce,
  tessera_verify_all: v.optional(flag, false),
})

/** The update that made the new shares: `keys` in hex (of the share, or of its PGP message), `keys_base64` the same bytes. */
export const NewSharesReply = object({
  nonce,
  complete: v.literal(true, 'should be true'),
  keys: list(hexText, 1),
  keys_base64: v.optional(list(base64Text)),
  pgp_fingerprints: fingerprints,
  backup: v.optional(flag, false),
  verification_required: v.optional(flag, false),
  verification_nonce: nonce,
})

/** GET/DELETE sys/rekey/verify, a verify short of its count; `tessera_required` is Tessera's (`t`, or `n` when every share is verified). */
export const VerifyStatusReply = object({
  nonce,
  started: flag,
  t: count,
  n: count,
  progress: v.optional(count, 0),
  tessera_required: v.optional(count),
})

export const VerifyDoneReply = object({ nonce, complete: v.literal(true, 'should be true') })

/** sys/rekey/backup's data: per fingerprint, the encrypted new shares in hex. */
export const BackupReply = object({
  nonce,
  keys: v.pipe(
    v.record(fingerprint, list(hexText), 'should be an object of fingerprints'),
    v.check((keys) => Object.keys(keys).length <= 255, 'should hold at most 255 fingerprints'),
  ),
})

/** The SealStatus field that tells `tessera serve` (and so its rekey extensions) apart. */
export const StorageTypeReply = object({ storage_type: v.optional(v.pipe(v.string(), v.maxLength(64)), '') })

/** OpenBao's logical answers (sys/rotate/root/*, and every backup) carry their fields in `data`. */
export const envelope = <T extends v.GenericSchema>(inner: T) => object({ data: inner })
