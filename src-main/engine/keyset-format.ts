import { createHash } from 'node:crypto'
import * as v from 'valibot'
import { TesseraError } from '../support/errors'
import { describeIssue } from '../support/issues'
import { MAX_SUBKEYS } from '../crypto/pgp'
import { MAX_SHARE_ID } from './share-codec'
import { HolderName } from './holders'
import { SCHEMES } from './schemes'

/**
 * The keyset file holds what Vault itself persists — the threshold
 * configuration, a keyring encrypted under the combined key (which is how a
 * wrong set of shares is told from the right one) and token hashes — and, from
 * format 2 on, one record per issued share: its number, its holder's name and a
 * salted check value that recognizes it (format 2: HMAC; format 3: scrypt, so
 * that completing a partly known share costs hours). Format 4 is a keyset
 * rekeyed at least once: format 3 with its generation, and per earlier
 * generation only what recognizes its shares when one is entered afterwards.
 * Never a share, the combined key or a token.
 */
export const KEYSET_FORMAT_VERSION = 4
/**
 * A keyset is a few KB, but one at every limit at once (255 shares with the
 * longest names and most PGP keys, every earlier generation, the most root
 * tokens) is about 5.4 MB, and what Tessera writes it must read again.
 */
export const KEYSET_LIMIT = { bytes: 6 * 1024 * 1024, what: 'a keyset file' }

export const b64 = v.pipe(v.string(), v.maxLength(4096, 'is too long'), v.regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64'))
const shortText = v.pipe(v.string(), v.maxLength(256, 'is too long'))
export const count = v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(1, 'must be at least 1'), v.maxValue(255, 'must be at most 255'))
export const shareNumber = v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(0, 'must be at least 0'), v.maxValue(MAX_SHARE_ID, 'must be at most 255'))

/** A v4 key's fingerprint is 40 hex digits, a v6 key's 64. */
const pgpFingerprint = v.pipe(v.string(), v.regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, 'must be a PGP fingerprint (40 or 64 lowercase hex digits)'))

/** The most root tokens a keyset records: Tessera refuses to make another past it (revoke unused ones). */
export const MAX_TOKENS = 10_000

const TokenRecord = v.strictObject({
  accessor: shortText,
  hash: b64,
  policies: v.pipe(v.array(shortText), v.maxLength(16, 'has too many entries')),
  creation_time: v.number(),
})
export type TokenRecord = v.InferOutput<typeof TokenRecord>

/** Listed in the order issued: a share's number is its place in this list, from 1. */
export const ShareRecord = v.strictObject({
  /** The share's x coordinate (a Vault share's last byte, a secrets.js share's id). */
  x: shareNumber,
  holder: v.nullable(HolderName),
  /** Format 2: HMAC-SHA256 under `share_salt` of the share's canonical bytes; format 3: its scrypt under `share_check`. */
  check: b64,
  /** The PGP key the share was encrypted to: its primary and subkey fingerprints (absent: not recorded, or not encrypted). */
  pgp_keys: v.optional(v.pipe(v.array(pgpFingerprint), v.minLength(1, 'is empty'), v.maxLength(MAX_SUBKEYS + 1, 'has too many entries'))),
})
export type ShareRecord = v.InferOutput<typeof ShareRecord>

/**
 * Format 3's check derivation as Tessera writes it: scrypt, memory-hard and
 * slow on purpose. A holder waits for one check; whoever holds the file and a
 * card with a few unreadable digits pays it once per candidate.
 */
export const SCRYPT_WRITTEN = { kdf: 'scrypt', n: 2 ** 14, r: 8, p: 1 } as const
/** What a file may ask for: at most 16× the cost and 8× the memory Tessera writes, so a hostile file cannot exhaust the machine. */
export const ScryptParams = v.strictObject({
  kdf: v.literal('scrypt'),
  n: v.pipe(
    v.number(),
    v.integer('must be a whole number'),
    v.minValue(SCRYPT_WRITTEN.n, `must be at least ${SCRYPT_WRITTEN.n}`),
    v.maxValue(2 ** 16, 'must be at most 65536'),
    v.check((n) => (n & (n - 1)) === 0, 'must be a power of two'),
  ),
  r: v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(1, 'must be at least 1'), v.maxValue(16, 'must be at most 16')),
  p: v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(1, 'must be at least 1'), v.maxValue(2, 'must be at most 2')),
  salt: b64,
})
export type ScryptParams = v.InferOutput<typeof ScryptParams>

const common = {
  scheme: v.picklist(SCHEMES, 'must be "vault" or "secretsjs"'),
  secret_shares: count,
  secret_threshold: count,
  keyring: v.strictObject({ cipher: v.literal('aes-256-gcm'), iv: b64, tag: b64, ciphertext: b64 }),
  token_salt: b64,
  tokens: v.pipe(v.array(TokenRecord), v.maxLength(MAX_TOKENS, 'has too many entries')),
  created_at: shortText,
}
const KeysetV1 = v.strictObject({
  tessera_keyset: v.literal(1),
  ...common,
  issued_share_ids: v.pipe(v.array(shareNumber), v.maxLength(255, 'has too many entries')),
})

/** What formats 2 and 3 record beyond format 1: each share issued, and a checksum of the file. */
const sharesAndIntegrity = {
  issued_shares: v.pipe(v.array(ShareRecord), v.maxLength(255, 'has too many entries')),
  integrity: v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" and 64 hex digits')),
}

const KeysetV2 = v.strictObject({ tessera_keyset: v.literal(2), ...common, share_salt: b64, ...sharesAndIntegrity })

const KeysetV3 = v.strictObject({ tessera_keyset: v.literal(3), ...common, share_check: ScryptParams, ...sharesAndIntegrity })

/** How many earlier generations a keyset remembers: each is up to 255 check values, and the file stays small. */
export const MAX_EARLIER_GENERATIONS = 32

/**
 * A generation replaced by a rekey: its shares' check values (format 3's
 * scrypt or format 2's HMAC; a format-1 keyset had none) and when it ended,
 * so that one of its shares entered later is told apart from a foreign one.
 */
export const EarlierGeneration = v.strictObject({
  generation: v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(1, 'must be at least 1')),
  replaced_at: shortText,
  share_check: v.optional(ScryptParams),
  share_salt: v.optional(b64),
  shares: v.pipe(v.array(v.strictObject({ x: shareNumber, holder: v.nullable(HolderName), check: b64 })), v.maxLength(255, 'has too many entries')),
})
export type EarlierGeneration = v.InferOutput<typeof EarlierGeneration>

const KeysetV4 = v.strictObject({
  tessera_keyset: v.literal(4),
  ...common,
  share_check: ScryptParams,
  ...sharesAndIntegrity,
  /** 1 at init; each completed rekey adds one. */
  generation: v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(2, 'must be at least 2')),
  earlier_generations: v.pipe(v.array(EarlierGeneration), v.maxLength(MAX_EARLIER_GENERATIONS, 'has too many entries')),
})

const KeysetFile = v.pipe(
  v.variant('tessera_keyset', [KeysetV1, KeysetV2, KeysetV3, KeysetV4]),
  v.forward(v.partialCheck([['secret_shares'], ['secret_threshold']], (k) => k.secret_threshold <= k.secret_shares, 'exceeds secret_shares'), ['secret_threshold']),
)

type KeysetV1 = v.InferOutput<typeof KeysetV1>
type KeysetV2 = v.InferOutput<typeof KeysetV2>
type KeysetV3 = v.InferOutput<typeof KeysetV3>
export type KeysetV4 = v.InferOutput<typeof KeysetV4>
/** A keyset that records a check value per share. */
export type CheckedKeyset = KeysetV2 | KeysetV3 | KeysetV4
export type KeysetData = KeysetV1 | CheckedKeyset

/** Vault's sys/init limits, with its own wording. */
export function checkShareConfig(shares: number, threshold: number): void {
  if (!Number.isInteger(shares) || shares < 1 || shares > 255) {
    throw new TesseraError('keyset', 'shares must be a whole number from 1 to 255')
  }
  if (!Number.isInteger(threshold) || threshold < 1) throw new TesseraError('keyset', 'threshold must be a whole number of at least 1')
  if (threshold > shares) throw new TesseraError('keyset', 'threshold cannot be larger than the number of shares')
  if (shares > 1 && threshold === 1) throw new TesseraError('keyset', 'threshold must be greater than one for multiple shares')
}

/** A holder's name as the file's schema takes it; `what` names the name in the error ("holder name 3"). */
export function checkHolderName(name: unknown, what: string): void {
  const parsed = v.safeParse(HolderName, name)
  if (!parsed.success) throw new TesseraError('keyset', describeIssue(parsed.issues, what))
}

/** Holder names: one per share, each valid and told apart from the others regardless of case. */
export function checkHolders(holders: readonly string[], shares: number): void {
  if (holders.length !== shares) throw new TesseraError('keyset', `${holders.length} holder names for ${shares} shares: give one name per share`)
  const seen = new Set<string>()
  for (const [i, name] of holders.entries()) {
    checkHolderName(name, `holder name ${i + 1}`)
    const folded = name.toLowerCase()
    if (seen.has(folded)) throw new TesseraError('keyset', `holder name ${i + 1} repeats an earlier one: each holder needs their own name`)
    seen.add(folded)
  }
}

/** JSON with sorted keys: the integrity hash must not depend on how a file orders its fields. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

function integrityOf(json: Record<string, unknown>): string {
  const { integrity: _ignored, ...content } = json
  return `sha256:${createHash('sha256').update(canonical(content)).digest('hex')}`
}

/** What is wrong with a file's integrity check, in words ("has lost its integrity check"); null when it matches. */
export function integrityProblem(record: Record<string, unknown>): string | null {
  if (typeof record.integrity !== 'string') return 'has lost its integrity check'
  if (record.integrity !== integrityOf(record)) return 'does not match its integrity check (a changed byte or an edit)'
  return null
}

/**
 * Format-2 or 3 content with its integrity check filled in. The check finds damage
 * (a flipped bit, a truncated copy); it is no signature: whoever may write the
 * file may also recompute it. What an edit cannot fake is the keyring.
 */
export function withIntegrity<T extends object>(content: T): T & { integrity: string } {
  return { ...content, integrity: integrityOf(content as Record<string, unknown>) }
}

/** A keyset's file text and what that text reads back as. */
export interface KeysetText {
  text: string
  data: KeysetData
}

/** The file content for `data`, and `data` as that content reads back (its integrity check filled in). */
export function serialize(data: KeysetData): KeysetText {
  const stored = data.tessera_keyset === 1 ? data : withIntegrity(data)
  return { text: `${JSON.stringify(stored, null, 2)}\n`, data: stored }
}

/** A keyset file's text, validated; damage is reported before anything else is. `path` only names the file in errors. */
export function parseKeysetText(path: string, text: string): KeysetData {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new TesseraError('keyset', `${path} is corrupt: not valid JSON`)
  }
  const record = json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : null
  const version = record?.tessera_keyset
  if (typeof version === 'number' && version > KEYSET_FORMAT_VERSION) {
    throw new TesseraError('keyset', `${path} uses keyset format ${version}; this Tessera reads formats 1 to ${KEYSET_FORMAT_VERSION}: upgrade Tessera`)
  }
  if (record && (version === 2 || version === 3 || version === 4)) {
    const problem = integrityProblem(record)
    if (problem) throw new TesseraError('keyset_damaged', `the keyset file is damaged: ${path} ${problem}; restore it from a backup`)
  }
  const parsed = v.safeParse(KeysetFile, json)
  if (!parsed.success) throw new TesseraError('keyset', `${path} is not a valid Tessera keyset: ${describeIssue(parsed.issues, 'file')}`)
  return parsed.output
}
