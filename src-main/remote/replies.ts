import * as v from 'valibot'
import { NONCE, NONCE_RULE } from '../backend'
import { TesseraError } from '../support/errors'
import { describeIssue } from '../support/issues'
import { looksSecret } from '../support/redact'

/**
 * What Tessera accepts from a server, checked before any field is used or shown.
 * Each message says what the field should be: an error names the field and
 * that, never the value the server sent.
 */
export const int = (max: number) => {
  const m = `should be an integer from 0 to ${max}`
  return v.pipe(v.number(m), v.integer(m), v.minValue(0, m), v.maxValue(max, m))
}
export const text = (max: number) => {
  const m = `should be a string of at most ${max} characters`
  return v.pipe(v.string(m), v.maxLength(max, m))
}
export const flag = v.boolean('should be true or false')
export const object = <T extends v.ObjectEntries>(entries: T) => v.object(entries, 'should be a JSON object')

/** Empty when no attempt runs; otherwise taken as the server made it, within NONCE's bounds. */
export const nonce = v.optional(v.pipe(v.string(`should be ${NONCE_RULE}`), v.check((s) => s === '' || NONCE.test(s), `should be ${NONCE_RULE}`)), '')

/** Longest server version shown and recorded: Vault's longest ("1.15.6+ent.hsm.fips1402") is 23. */
const MAX_VERSION_CHARS = 40

/**
 * A server's version as Tessera shows and records it: printable ASCII, bounded,
 * and cut before the first part the record's secret guard would take for a
 * secret (a build hash, a random-looking suffix), so that an odd version can
 * never block a ceremony. Cut at a separator, so what stays is the server's own.
 */
function recordableVersion(version: string): string {
  // One character more than is kept is enough to know where to cut.
  const parts = version.slice(0, MAX_VERSION_CHARS + 1).replace(/[^\x21-\x7e]+/g, ' ').trim().split(/(?=[ .+_~-])/)
  let kept = ''
  for (const part of parts) {
    const next = kept + part
    if (next.length > MAX_VERSION_CHARS || looksSecret(next)) break
    kept = next
  }
  return kept.replace(/[ .+_~-]+$/, '')
}

/** PGP messages of large keys run to a few KiB; nothing legitimate comes near this. */
export const MAX_RESULT_CHARS = 64 * 1024

export const SealStatusReply = object({
  type: v.optional(text(64), ''),
  initialized: flag,
  sealed: flag,
  t: v.optional(int(255), 0),
  n: v.optional(int(255), 0),
  progress: v.optional(int(255), 0),
  nonce,
  version: v.optional(v.pipe(v.string('a string'), v.transform(recordableVersion)), ''),
})

/** generate-root, generate-root-token, generate-recovery-token and generate-share alike. */
export const AttemptReply = object({
  nonce,
  started: v.optional(flag, false),
  progress: v.optional(int(255), 0),
  required: v.optional(int(255), 0),
  complete: v.optional(flag, false),
  encoded_token: v.optional(text(MAX_RESULT_CHARS), ''),
  encoded_root_token: v.optional(text(MAX_RESULT_CHARS), ''),
  pgp_fingerprint: v.optional(text(128), ''),
  otp_length: v.optional(int(128), 0),
  key: v.optional(text(MAX_RESULT_CHARS)),
  key_base64: v.optional(text(MAX_RESULT_CHARS)),
})

/** PUT sys/init without pgp_keys: each share's hex, in Vault's order, and the root token (base64 of a PGP message when root_token_pgp_key was sent). */
export const InitReply = object({
  keys: v.pipe(
    v.array(v.pipe(v.string('should be hex strings'), v.regex(/^(?:[0-9a-f]{2}){16,33}$/, 'should be the hex of shares'))),
    v.minLength(1, 'should hold the shares'),
    v.maxLength(255, 'should hold at most 255 shares'),
  ),
  root_token: v.pipe(text(MAX_RESULT_CHARS), v.minLength(1, 'should be the root token')),
})

export const LookupSelfReply = object({ data: object({}) })

/** The reply's body as the schema has it, or a sentence naming what the server got wrong. */
export function parseReply<S extends v.GenericSchema>(schema: S, body: unknown, what: string): v.InferOutput<S> {
  const wrong = (problem: string) => new TesseraError('bad_reply', `The server's reply to ${what} is not what Vault sends: ${problem}.`)
  if (body === undefined) throw new TesseraError('bad_reply', `The server's reply to ${what} is not JSON.`)
  // valibot takes an array for an object with optional fields.
  if (Array.isArray(body)) throw wrong('it should be a JSON object')
  const parsed = v.safeParse(schema, body)
  if (parsed.success) return parsed.output
  throw wrong(describeIssue(parsed.issues, 'it'))
}
