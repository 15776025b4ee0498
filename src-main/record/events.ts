import * as v from 'valibot'
import { FLOWS, NONCE, NONCE_RULE } from '../backend'
import { HolderName } from '../engine/holders'
import type { ErrorCode } from '../support/error-codes'

/**
 * The closed set of events a ceremony record holds, one valibot schema per
 * type. Every object is strict, so an event carries only the fields its type
 * allows; text is either a bounded name, a code from a closed list, or hex of a
 * fixed length. Nothing here can hold a share, OTP, token, passphrase or key.
 */

/** 2: the first line is `backend_opened`, which names the tool. Format 1 put a `header` line before it. */
export const FORMAT_VERSION = 2

const flow = v.picklist(FLOWS)
const hex = (digits: number) => v.pipe(v.string(), v.regex(new RegExp(`^[0-9a-f]{${digits}}$`), `must be ${digits} lowercase hex digits`))
const count = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max))
/** A person's or a server's name as an operator typed it: one bounded line of printable text. */
const label = (max: number) =>
  v.pipe(v.string(), v.minLength(1), v.maxLength(max), v.regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u, 'must be one line of printable text'))

export const sha256Hex = hex(64)
export const nonce = v.pipe(v.string(), v.regex(NONCE, `must be ${NONCE_RULE}`))
/** A holder's name, by the one rule every entry of a name applies. */
export const holder = HolderName

/**
 * Why a share was refused or progress reset: the engine's and remote mode's
 * error codes, `reset_requested` for an operator's own reset, and `other`
 * for any code this list does not know.
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
  'share_replaced',
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
  'reset_requested',
  'other',
] as const satisfies ReadonlyArray<ErrorCode | 'reset_requested' | 'other'>
export type Reason = (typeof REASONS)[number]
const reason = v.picklist(REASONS)

export function reasonFor(code: ErrorCode | undefined): Reason {
  return (REASONS as readonly string[]).includes(code ?? '') ? (code as Reason) : 'other'
}

/** What a decoded result turned out to be, in the decode tool's words. */
export const DECODED_KINDS = ['root token', 'recovery token', 'token', 'legacy UUID token', 'unseal key share', 'secrets.js share'] as const
export type DecodedKind = (typeof DECODED_KINDS)[number]

const pgpFingerprint = v.union([hex(40), hex(64)])
const scheme = v.picklist(['vault', 'secretsjs'])
const shareNumber = count(1, 255)

const protection = v.variant('kind', [
  v.strictObject({ kind: v.literal('otp'), length: count(1, 128) }),
  // A new share without a PGP key comes back as the share itself.
  v.strictObject({ kind: v.literal('none') }),
  // A v4 key's fingerprint is 40 hex digits, a v6 key's 64.
  v.strictObject({ kind: v.literal('pgp'), fingerprint: pgpFingerprint }),
])

const event = <T extends string, D extends v.ObjectEntries>(type: T, data: D) =>
  v.strictObject({ type: v.literal(type), data: v.strictObject(data) })

/** What the ceremony runs on: a local keyset, or a server. */
const backendFacts = {
  backend: v.picklist(['local', 'remote']),
  /** Local: SHA-256 of the keyset's encrypted keyring, which names the root key without revealing it. */
  keyset_fingerprint: v.optional(sha256Hex),
  scheme: v.optional(scheme),
  shares: v.optional(count(1, 255)),
  threshold: count(1, 255),
  /** Remote: the server's address and the version it reports. */
  server: v.optional(label(300)),
  server_version: v.optional(label(80)),
  recovery_mode: v.boolean(),
}

/**
 * How a share left the hand-out: shown on screen, shown as its card, the card
 * printed (after the print dialog closed), its encrypted file saved, written
 * out by `tessera init`, or sent in the reply to PUT sys/init (`tessera serve --uninitialized`).
 */
export const HAND_OUTS = ['revealed', 'card_shown', 'card_printed', 'encrypted_file_saved', 'written_to_output', 'sent_in_reply'] as const
/** How a share reached its holder, as a `share_handed_out` line says. */
export type HandOutHow = (typeof HAND_OUTS)[number]

/**
 * A server as the record names it: its origin (scheme, host, port), as the
 * operator's profile already stores it. Host names may look random (a cloud
 * cluster's `vault-cluster-8f3a2b1c.5d6e7f80…`), so an origin passes the
 * secret guard; anything more (a path, a query) is judged like any text.
 */
/** What a server's rekey did to its server check file. */
export const CHECK_FILE_OUTCOMES = ['updated', 'retired', 'none', 'not_updated'] as const

export const SERVER_ORIGIN = /^https?:\/\/(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(?::\d{1,5})?$/

/** Nodes of one cluster an unseal reaches (a profile lists at most this many). */
export const MAX_UNSEAL_NODES = 16
/** What one node made of a share sent to it; `already_unsealed`: it was not sent, the node needs none. */
export const NODE_OUTCOMES = ['accepted', 'unsealed', 'already_unsealed', 'refused', 'failed'] as const
/** A node of the unseal, by its number in `unseal_nodes` (1 is the profile's own address). */
const node = count(1, MAX_UNSEAL_NODES)
const perNode = <D extends v.ObjectEntries>(entries: D) =>
  v.pipe(v.array(v.strictObject({ node, ...entries })), v.minLength(1), v.maxLength(MAX_UNSEAL_NODES))

export const EventSchema = v.variant('type', [
  /** Line 1, always: what wrote the file, and what the ceremony runs on. */
  event('backend_opened', { tool: v.literal('tessera'), version: label(40), format: v.literal(FORMAT_VERSION), ...backendFacts }),
  /** `shared_key`: the new share goes to a PGP key that already holds a share, as the operator confirmed. */
  event('attempt_started', { flow, nonce, protection, required: count(1, 255), shared_key: v.optional(v.literal(true)) }),
  event('nonce_confirmed', { holder, nonce }),
  event('share_accepted', {
    holder: v.optional(holder),
    share_number: v.optional(shareNumber),
    progress: count(0, 255),
    required: count(1, 255),
  }),
  event('share_refused', {
    holder: v.optional(holder),
    share_number: v.optional(shareNumber),
    reason,
    progress: v.optional(count(0, 255)),
  }),
  /**
   * A run of refusals past the first few recorded in full, as a count per
   * reason; written when the run ends (a share accepted, a cancel, the end).
   */
  event('refusals_summarized', {
    counts: v.pipe(v.array(v.strictObject({ reason, count: count(1, Number.MAX_SAFE_INTEGER) })), v.minLength(1), v.maxLength(REASONS.length)),
  }),
  event('progress_reset', { reason, from: count(0, 255) }),
  event('completed', { flow, nonce, result_sha256: sha256Hex }),
  /** The checksum the screen showed next to the decoded value (the start of its SHA-256). */
  event('decoded', { kind: v.picklist(DECODED_KINDS), checksum: hex(8) }),
  event('cancelled', { flow }),
  /** An init ceremony: the new keyset, its holders, and which shares were encrypted to which PGP key. */
  event('keyset_created', {
    keyset_fingerprint: sha256Hex,
    scheme,
    shares: count(1, 255),
    threshold: count(1, 255),
    holders: v.optional(v.pipe(v.array(holder), v.maxLength(255))),
    encrypted_to: v.optional(v.pipe(v.array(v.strictObject({ share_number: shareNumber, fingerprint: pgpFingerprint })), v.maxLength(255))),
    /** The operator confirmed that one person holds several shares: one PGP key was given for several holders. */
    shared_key: v.optional(v.literal(true)),
  }),
  /**
   * A server initialized through its profile (PUT sys/init): the new shares,
   * their holders and PGP keys as for a keyset, how the root token was
   * returned, and whether the server check file was written.
   */
  event('server_initialized', {
    shares: count(1, 255),
    threshold: count(1, 255),
    holders: v.optional(v.pipe(v.array(holder), v.maxLength(255))),
    encrypted_to: v.optional(v.pipe(v.array(v.strictObject({ share_number: shareNumber, fingerprint: pgpFingerprint })), v.maxLength(255))),
    shared_key: v.optional(v.literal(true)),
    /** The server encrypted the root token to this key (root_token_pgp_key); absent, it came back in the clear. */
    root_token_encrypted_to: v.optional(pgpFingerprint),
    check_file: v.boolean(),
  }),
  /** An init share, or the share flow's new share (whose number a server does not tell). */
  event('share_handed_out', { share_number: v.optional(shareNumber), holder: v.optional(holder), how: v.picklist(HAND_OUTS) }),
  /** The initial root token left the hand-out (never its value). */
  event('root_token_revealed', { how: v.picklist(['revealed', 'written_to_output', 'sent_in_reply']) }),
  event('init_finished', {}),
  /** An init hand-out ended with shares never handed out: by the operator's choice, because the output or the keyset file failed, because Tessera was stopped, or because the server refused its init (nothing was made). */
  event('init_abandoned', {
    reason: v.picklist(['operator', 'output_failed', 'keyset_not_written', 'stopped', 'server_refused']),
    not_handed_out: v.pipe(v.array(shareNumber), v.maxLength(255)),
  }),
  /** The barrier was sealed: at start (`serve --sealed`), by init (as Vault after init), or by PUT sys/seal. */
  event('sealed', { by: v.picklist(['start', 'init', 'sys_seal']) }),
  /** The first share toward an unseal was taken; its shares follow as share_accepted and share_refused. */
  event('unseal_started', { nonce, required: count(1, 255) }),
  /** The threshold of shares was reached and they open the keyset: the barrier is unsealed. */
  event('unsealed', {}),
  /** A rekey (sys/rekey/init): the new shares' count and threshold, how they are verified, their holders and PGP keys. */
  event('rekey_started', {
    nonce,
    shares: count(1, 255),
    threshold: count(1, 255),
    /** The current threshold: how many current shares the rekey needs. */
    required: count(1, 255),
    verification: v.picklist(['none', 'threshold', 'all']),
    holders: v.optional(v.pipe(v.array(holder), v.maxLength(255))),
    encrypted_to: v.optional(v.pipe(v.array(v.strictObject({ share_number: shareNumber, fingerprint: pgpFingerprint })), v.maxLength(255))),
    backup: v.optional(v.literal(true)),
  }),
  /** The new shares were made and returned in the reply (encrypted where a PGP key was given); never a share. */
  event('rekey_shares_issued', { shares: count(1, 255), verification: v.picklist(['none', 'threshold', 'all']) }),
  /** A new share entered back on sys/rekey/verify, checked against its check value. */
  event('new_share_verified', { holder: v.optional(holder), share_number: shareNumber, progress: count(1, 255), required: count(1, 255) }),
  /** The verification starts over under a new nonce: the shares entered did not combine, or the operator restarted it. */
  event('rekey_verification_restarted', { reason: v.picklist(['failed', 'operator']) }),
  /**
   * The new shares took effect: on a keyset, its new fingerprint and
   * generation; on a server, its origin and what became of the server check
   * file (`updated` to `check_generation`, `retired` (moved aside: the server
   * encrypted the new shares), `none` (there was none), or `not_updated` (it
   * could not be written; its pending generation stays)).
   */
  v.strictObject({
    type: v.literal('rekey_completed'),
    data: v.union([
      v.strictObject({ keyset_fingerprint: sha256Hex, generation: count(2, Number.MAX_SAFE_INTEGER), shares: count(1, 255), threshold: count(1, 255) }),
      v.strictObject({
        server: v.pipe(label(300), v.regex(SERVER_ORIGIN, 'must be an http(s) origin')),
        shares: count(1, 255),
        threshold: count(1, 255),
        check_file: v.picklist(CHECK_FILE_OUTCOMES),
        check_generation: v.optional(count(1, Number.MAX_SAFE_INTEGER)),
      }),
    ]),
  }),
  event('rekey_cancelled', {}),
  /**
   * A server's rekey started here that this window no longer follows, and so
   * cannot say how it ended: the server no longer runs it (completed or
   * cancelled by another client, or the server sealed or restarted), or this
   * window connected again or opened another backend while the server keeps it.
   */
  event('rekey_not_followed', { reason: v.picklist(['not_running', 'other_connection']) }),
  /**
   * The server check file held a pending generation (a rekey not seen to
   * finish) and this ceremony proved which generation is in effect: the
   * pending one was made current, or dropped.
   */
  event('check_file_settled', { generation: count(1, Number.MAX_SAFE_INTEGER), pending: v.picklist(['made_current', 'dropped']) }),
  /** An unseal of a cluster run by the app: its nodes, numbered, by their origins. */
  event('unseal_nodes', { nodes: perNode({ server: v.pipe(label(300), v.regex(SERVER_ORIGIN, 'must be an http(s) origin')) }) }),
  /**
   * One holder's share, sent once to every node still sealed: which share it
   * was where the server check file knew it, and what each node made of it
   * (never the share). A share that file refused is a `share_refused`, once.
   */
  event('unseal_share', {
    holder: v.optional(holder),
    share_number: v.optional(shareNumber),
    results: perNode({ outcome: v.picklist(NODE_OUTCOMES), progress: v.optional(count(0, 255)), reason: v.optional(reason) }),
  }),
  /** The operator reset the shares given toward an unseal, on these nodes. */
  event('unseal_reset', { results: perNode({ outcome: v.picklist(['reset', 'refused', 'failed']), reason: v.optional(reason) }) }),
  /** The unseal ceremony ended: each node's state as last read. */
  event('unseal_ended', { nodes: perNode({ state: v.picklist(['unsealed', 'sealed', 'unknown']) }) }),
  /** Tessera was stopped holding a finished result that was never decoded nor handed out: nobody may hold it now. */
  event('result_dropped', { flow }),
  event('wiped', {}),
  /** The last line of a record that was closed in order; nothing may follow it. */
  event('closed', {}),
])

/**
 * Format 1 (files written before format 2): a `header` line first, then a
 * `backend_opened` without the tool's name and version. Verified, never written.
 */
export const LegacySchema = v.variant('type', [
  event('header', { format: v.literal(1), tool: v.literal('tessera'), version: label(40) }),
  event('backend_opened', backendFacts),
])
export type LegacyEvent = v.InferOutput<typeof LegacySchema>

export type RecordEvent = v.InferOutput<typeof EventSchema>
export type EventType = RecordEvent['type'] | LegacyEvent['type']
/** An event as callers give it: the writer makes the first line and the closing one. */
export type CeremonyEvent = Exclude<RecordEvent, { type: 'backend_opened' | 'closed' }>
/** What the first line records beside the tool's name and version. */
export type BackendFacts = Omit<Extract<RecordEvent, { type: 'backend_opened' }>['data'], 'tool' | 'version' | 'format'>

/** Fields whose schema admits only hex or a nonce: the secret guard skips them, the schema already fixed their shape. */
export const SHAPED_FIELDS = new Set(['keyset_fingerprint', 'nonce', 'fingerprint', 'result_sha256', 'checksum', 'root_token_encrypted_to'])


/** A recorded line: the event and where it sits in the chain. */
export interface Line {
  seq: number
  time: string
  type: EventType
  data: RecordEvent['data'] | LegacyEvent['data']
  prev: string
}

export const LineSchema = v.strictObject({
  seq: count(0, Number.MAX_SAFE_INTEGER),
  time: v.pipe(v.string(), v.isoTimestamp('must be an ISO time')),
  type: v.string(),
  data: v.unknown(),
  prev: sha256Hex,
})
