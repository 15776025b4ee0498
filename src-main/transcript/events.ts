import * as v from 'valibot'
import { FLOWS } from '../backend'

/**
 * The closed set of events a ceremony transcript holds, one valibot schema per
 * type. Every object is strict, so an event carries only the fields its type
 * allows; text is either a bounded name, a code from a closed list, or hex of a
 * fixed length. Nothing here can hold a share, OTP, token, passphrase or key.
 */

export const FORMAT_VERSION = 1

const flow = v.picklist(FLOWS)
const hex = (digits: number) => v.pipe(v.string(), v.regex(new RegExp(`^[0-9a-f]{${digits}}$`), `must be ${digits} lowercase hex digits`))
const count = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max))
/** A person's or a server's name as an operator typed it: one bounded line of printable text. */
const label = (max: number) =>
  v.pipe(v.string(), v.minLength(1), v.maxLength(max), v.regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u, 'must be one line of printable text'))

export const sha256Hex = hex(64)
export const nonce = v.pipe(v.string(), v.uuid('must be a UUID'))
export const holder = label(80)

/**
 * Why a share was refused or progress reset: the engine's and remote mode's
 * error codes, and `other` for any code this list does not know.
 */
export const REASONS = [
  'wrong_nonce',
  'wrong_flow',
  'duplicate_key',
  'invalid_key',
  'missing_key',
  'share_length',
  'share_unknown',
  'share_mismatch',
  'share_other_holder',
  'card_line',
  'combine_failed',
  'authentication_failed',
  'no_attempt',
  'token_required',
  'server_refused',
  'server_error',
  'sealed',
  'standby',
  'unavailable',
  'unreachable',
  'timeout',
  'bad_reply',
  'other',
] as const
export type Reason = (typeof REASONS)[number]
const reason = v.picklist(REASONS)

export function reasonFor(code: string | undefined): Reason {
  return (REASONS as readonly string[]).includes(code ?? '') ? (code as Reason) : 'other'
}

/** What a decoded result turned out to be, in the decode tool's words. */
export const DECODED_KINDS = ['root token', 'recovery token', 'token', 'legacy UUID token', 'unseal key share', 'secrets.js share'] as const
export type DecodedKind = (typeof DECODED_KINDS)[number]

const protection = v.variant('kind', [
  v.strictObject({ kind: v.literal('otp'), length: count(1, 128) }),
  // A new share without a PGP key comes back as the share itself.
  v.strictObject({ kind: v.literal('none') }),
  // A v4 key's fingerprint is 40 hex digits, a v6 key's 64.
  v.strictObject({ kind: v.literal('pgp'), fingerprint: v.union([hex(40), hex(64)]) }),
])

const event = <T extends string, D extends v.ObjectEntries>(type: T, data: D) =>
  v.strictObject({ type: v.literal(type), data: v.strictObject(data) })

export const EventSchema = v.variant('type', [
  /** Line 1, always: what wrote the file. */
  event('header', { format: v.literal(FORMAT_VERSION), tool: v.literal('tessera'), version: label(40) }),
  event('backend_opened', {
    backend: v.picklist(['local', 'remote']),
    /** Local: SHA-256 of the keyset's encrypted keyring, which names the root key without revealing it. */
    keyset_fingerprint: v.optional(sha256Hex),
    scheme: v.optional(v.picklist(['vault', 'secretsjs'])),
    shares: v.optional(count(1, 255)),
    threshold: count(1, 255),
    /** Remote: the server's address and the version it reports. */
    server: v.optional(label(300)),
    server_version: v.optional(label(80)),
    recovery_mode: v.boolean(),
  }),
  event('attempt_started', { flow, nonce, protection, required: count(1, 255) }),
  event('nonce_confirmed', { holder, nonce }),
  event('share_accepted', {
    holder: v.optional(holder),
    share_number: v.optional(count(1, 255)),
    progress: count(0, 255),
    required: count(1, 255),
  }),
  event('share_refused', {
    holder: v.optional(holder),
    share_number: v.optional(count(1, 255)),
    reason,
    progress: v.optional(count(0, 255)),
  }),
  event('progress_reset', { reason, from: count(0, 255) }),
  event('completed', { flow, nonce, result_sha256: sha256Hex }),
  /** The checksum the screen showed next to the decoded value (the start of its SHA-256). */
  event('decoded', { kind: v.picklist(DECODED_KINDS), checksum: hex(8) }),
  event('cancelled', { flow }),
  event('wiped', {}),
  /** The last line of a transcript that was closed in order; nothing may follow it. */
  event('closed', {}),
])

export type TranscriptEvent = v.InferOutput<typeof EventSchema>
export type EventType = TranscriptEvent['type']
/** An event as callers give it: anything but the header, which the writer makes. */
export type CeremonyEvent = Exclude<TranscriptEvent, { type: 'header' | 'closed' }>

/** Fields whose schema admits only hex or a UUID: the secret guard skips them, the schema already fixed their shape. */
export const SHAPED_FIELDS = new Set(['keyset_fingerprint', 'nonce', 'fingerprint', 'result_sha256', 'checksum'])

/** A recorded line: the event and where it sits in the chain. */
export interface Line {
  seq: number
  time: string
  type: EventType
  data: TranscriptEvent['data']
  prev: string
}

export const LineSchema = v.strictObject({
  seq: count(0, Number.MAX_SAFE_INTEGER),
  time: v.pipe(v.string(), v.isoTimestamp('must be an ISO time')),
  type: v.string(),
  data: v.unknown(),
  prev: sha256Hex,
})

/**
 * The first issue of a failed parse, as "field: problem". Built from what was
 * expected, never from valibot's message, which quotes the value received.
 */
export function firstIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0]!
  const where = issue.path?.map((p) => String(p.key)).join('.') || 'event'
  if (issue.expected === 'never') return `${where}: not allowed here`
  if (issue.type === 'regex' || issue.type === 'uuid') return `${where}: ${issue.message}`
  return `${where}: expected ${issue.expected ?? issue.type}`
}
