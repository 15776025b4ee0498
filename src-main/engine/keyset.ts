import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, scrypt } from 'node:crypto'
import { needsGrammar, readShareText } from './share-card'
import { stat } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { promisify } from 'node:util'
import * as v from 'valibot'
import { clearLitter, withFileLock, writeFileAtomic } from '../support/files'
import { readFailure, readRegularFile } from '../support/bounded-read'
import { badRequest, systemReason, TesseraError } from '../support/errors'
import { codecFor, MAX_SHARE_ID, type ShareCodec } from './share-codec'
import { HolderName } from './holders'
import { SCHEMES, type Scheme } from './schemes'
import { shareLabel } from '../../src-shared/share-grammar'
import { hashToken, newAccessor, newSalt } from './tokens'
import { sameBytes } from '../crypto/same-bytes'
import { MAX_SUBKEYS } from '../crypto/pgp'
import { wipe } from '../crypto/wipe'
import { Serial } from './serial'

/**
 * The keyset file holds what Vault itself persists — the threshold
 * configuration, a keyring encrypted under the combined key (which is how a
 * wrong set of shares is told from the right one) and token hashes — and, from
 * format 2 on, one record per issued share: its number, its holder's name and a
 * salted check value that recognizes it (format 2: HMAC; format 3: scrypt, so
 * that completing a partly known share costs hours). Never a share, the
 * combined key or a token.
 */
export const KEYSET_FORMAT_VERSION = 3
export const ROOT_KEY_BYTES = 32
/** A keyset is a few KB; anything this large is not one. */
export const KEYSET_LIMIT = { bytes: 1024 * 1024, what: 'a keyset file' }

const b64 = v.pipe(v.string(), v.maxLength(4096, 'is too long'), v.regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64'))
const shortText = v.pipe(v.string(), v.maxLength(256, 'is too long'))
const count = v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(1, 'must be at least 1'), v.maxValue(255, 'must be at most 255'))
const shareNumber = v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(0, 'must be at least 0'), v.maxValue(MAX_SHARE_ID, 'must be at most 255'))

/** A v4 key's fingerprint is 40 hex digits, a v6 key's 64. */
const pgpFingerprint = v.pipe(v.string(), v.regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, 'must be a PGP fingerprint (40 or 64 lowercase hex digits)'))

const TokenRecord = v.strictObject({
  accessor: shortText,
  hash: b64,
  policies: v.pipe(v.array(shortText), v.maxLength(16, 'has too many entries')),
  creation_time: v.number(),
})
export type TokenRecord = v.InferOutput<typeof TokenRecord>

/** Listed in the order issued: a share's number is its place in this list, from 1. */
const ShareRecord = v.strictObject({
  /** The share's x coordinate (a Vault share's last byte, a secrets.js share's id). */
  x: shareNumber,
  holder: v.nullable(HolderName),
  /** Format 2: HMAC-SHA256 under `share_salt` of the share's canonical bytes; format 3: its scrypt under `share_check`. */
  check: b64,
  /** The PGP key the share was encrypted to: its primary and subkey fingerprints (absent: not recorded, or not encrypted). */
  pgp_keys: v.optional(v.pipe(v.array(pgpFingerprint), v.minLength(1, 'is empty'), v.maxLength(MAX_SUBKEYS + 1, 'has too many entries'))),
})
type ShareRecord = v.InferOutput<typeof ShareRecord>

/**
 * Format 3's check derivation: scrypt, memory-hard and slow on purpose. A
 * holder waits for one check; whoever holds the file and a card with a few
 * unreadable digits pays it once per candidate.
 */
const SCRYPT_N = 2 ** 14
const SCRYPT_R = 8
const SCRYPT_P = 1
const CHECK_BYTES = 32
/** What a file may ask for: at most 16× the cost and 8× the memory Tessera writes, so a hostile file cannot exhaust the machine. */
const ScryptParams = v.strictObject({
  kdf: v.literal('scrypt'),
  n: v.pipe(
    v.number(),
    v.integer('must be a whole number'),
    v.minValue(SCRYPT_N, `must be at least ${SCRYPT_N}`),
    v.maxValue(2 ** 16, 'must be at most 65536'),
    v.check((n) => (n & (n - 1)) === 0, 'must be a power of two'),
  ),
  r: v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(1, 'must be at least 1'), v.maxValue(16, 'must be at most 16')),
  p: v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(1, 'must be at least 1'), v.maxValue(2, 'must be at most 2')),
  salt: b64,
})
type ScryptParams = v.InferOutput<typeof ScryptParams>

const common = {
  scheme: v.picklist(SCHEMES, 'must be "vault" or "secretsjs"'),
  secret_shares: count,
  secret_threshold: count,
  keyring: v.strictObject({ cipher: v.literal('aes-256-gcm'), iv: b64, tag: b64, ciphertext: b64 }),
  token_salt: b64,
  tokens: v.pipe(v.array(TokenRecord), v.maxLength(10_000, 'has too many entries')),
  created_at: shortText,
}
const thresholdFits = <T extends { secret_shares: number; secret_threshold: number }>() =>
  v.check<T, string>((k) => k.secret_threshold <= k.secret_shares, 'secret_threshold exceeds secret_shares')

const KeysetV1 = v.pipe(
  v.strictObject({
    tessera_keyset: v.literal(1),
    ...common,
    issued_share_ids: v.pipe(v.array(shareNumber), v.maxLength(255, 'has too many entries')),
  }),
  thresholdFits(),
)

/** What formats 2 and 3 record beyond format 1: each share issued, and a checksum of the file. */
const sharesAndIntegrity = {
  issued_shares: v.pipe(v.array(ShareRecord), v.maxLength(255, 'has too many entries')),
  integrity: v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" and 64 hex digits')),
}

const KeysetV2 = v.pipe(v.strictObject({ tessera_keyset: v.literal(2), ...common, share_salt: b64, ...sharesAndIntegrity }), thresholdFits())

const KeysetV3 = v.pipe(v.strictObject({ tessera_keyset: v.literal(3), ...common, share_check: ScryptParams, ...sharesAndIntegrity }), thresholdFits())

type KeysetV1 = v.InferOutput<typeof KeysetV1>
type KeysetV2 = v.InferOutput<typeof KeysetV2>
type KeysetV3 = v.InferOutput<typeof KeysetV3>
/** A keyset that records a check value per share. */
type CheckedKeyset = KeysetV2 | KeysetV3
type KeysetData = KeysetV1 | CheckedKeyset

export class KeysetError extends TesseraError {
  constructor(message: string, status = 400, code = 'keyset') {
    super(status, message, code)
  }
}

/** Which share an entered share is, as far as the keyset can tell. */
export interface ShareIdentity {
  /** Its place among the keyset's shares, from 1 (Vault's "Unseal Key 3"); null when unknown (format 1). */
  number: number | null
  holder: string | null
  /** False for format-1 keysets, which record no check values. */
  checked: boolean
}

/** The answer to "is this share one of ours?" */
export interface ShareCheck extends ShareIdentity {
  valid: boolean
  /** Why not, in words; `code` is stable ('share_unknown', 'share_mismatch', 'share_length', …). */
  reason?: string
  code?: string
}

/** Vault's sys/init limits, with its own wording. */
export function checkShareConfig(shares: number, threshold: number): void {
  if (!Number.isInteger(shares) || shares < 1 || shares > 255) {
    throw new KeysetError('shares must be a whole number from 1 to 255')
  }
  if (!Number.isInteger(threshold) || threshold < 1) throw new KeysetError('threshold must be a whole number of at least 1')
  if (threshold > shares) throw new KeysetError('threshold cannot be larger than the number of shares')
  if (shares > 1 && threshold === 1) throw new KeysetError('threshold must be greater than one for multiple shares')
}

/** Holder names: one per share, each valid and told apart from the others regardless of case. */
export function checkHolders(holders: readonly string[], shares: number): void {
  if (holders.length !== shares) throw new KeysetError(`${holders.length} holder names for ${shares} shares: give one name per share`)
  const seen = new Set<string>()
  for (const [i, name] of holders.entries()) {
    const parsed = v.safeParse(HolderName, name)
    if (!parsed.success) throw new KeysetError(`holder name ${i + 1} ${parsed.issues[0].message}`)
    const folded = name.toLowerCase()
    if (seen.has(folded)) throw new KeysetError(`holder name ${i + 1} repeats an earlier one: each holder needs their own name`)
    seen.add(folded)
  }
}

function keyringKey(combined: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', combined, Buffer.alloc(0), 'tessera keyring v1', 32))
}

/**
 * The header fields are authenticated with the keyring, so editing them breaks
 * verification. The leading 1 is the keyring's own format, unchanged since file format 1.
 */
function keyringAad(d: Pick<KeysetData, 'scheme' | 'secret_shares' | 'secret_threshold'>): Buffer {
  return Buffer.from(JSON.stringify([1, d.scheme, d.secret_shares, d.secret_threshold]))
}

const scryptAsync = promisify(scrypt) as (password: Uint8Array, salt: Uint8Array, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>

/**
 * Two lanes for every scrypt of this process: each runs on libuv's thread pool
 * (off the event loop, so a server and the UI keep answering), and two at a
 * time leave the pool's other threads to file and network work even while a
 * 255-share init queues 255 of them.
 */
const scryptLanes = [new Serial(), new Serial()]
let nextLane = 0

function scryptCheck(params: ScryptParams, salt: Buffer, share: Uint8Array): Promise<Buffer> {
  const lane = scryptLanes[nextLane++ % scryptLanes.length]!
  const maxmem = 2 * 128 * params.n * params.r * params.p
  return lane.run(() => scryptAsync(share, salt, CHECK_BYTES, { N: params.n, r: params.r, p: params.p, maxmem }))
}

/**
 * A checked keyset's salt and check values as bytes, decoded once per keyset
 * content rather than on every share entered (the content is never changed in
 * place: a change makes a new object).
 */
const decodedChecks = new WeakMap<CheckedKeyset, { salt: Buffer; checks: Buffer[] }>()

function checksOf(data: CheckedKeyset): { salt: Buffer; checks: Buffer[] } {
  let decoded = decodedChecks.get(data)
  if (!decoded) {
    const salt = data.tessera_keyset === 2 ? data.share_salt : data.share_check.salt
    decoded = { salt: Buffer.from(salt, 'base64'), checks: data.issued_shares.map((r) => Buffer.from(r.check, 'base64')) }
    decodedChecks.set(data, decoded)
  }
  return decoded
}

/** The check value `data` records for `share` (canonical bytes): format 2's HMAC, format 3's scrypt. */
async function checkValue(data: CheckedKeyset, share: Uint8Array): Promise<Buffer> {
  const { salt } = checksOf(data)
  return data.tessera_keyset === 2 ? hashToken(salt, share) : scryptCheck(data.share_check, salt, share)
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

/** The first schema issue as field and problem; never the value found there (it may be a share). */
function describeIssue(issue: v.BaseIssue<unknown>): string {
  const keys = (issue.path ?? []).map((p) => String(p.key))
  if (issue.expected === 'never') {
    // An unknown field: its name came from the file and is not repeated.
    keys.pop()
    return `${keys.length ? `${keys.join('.')}: ` : ''}a field Tessera does not know`
  }
  const where = keys.length ? `${keys.join('.')}: ` : ''
  const problem = issue.kind === 'schema' ? `expected ${issue.expected ?? issue.type}` : issue.message
  return `${where}${problem}`.slice(0, 200)
}

async function readBounded(path: string): Promise<string> {
  try {
    return (await readRegularFile(path, KEYSET_LIMIT)).toString('utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KeysetError(`no keyset at ${path}; create one with tessera init`)
    throw new KeysetError(`could not read keyset ${path}: ${readFailure(err)}`)
  }
}

/** A keyset file's text, what it was validated into, and which file version it was read from. */
interface KeysetSource {
  text: string
  data: KeysetData
  stamp?: FileStamp
}

/** What changes whenever a file is replaced (Tessera's writes make a new inode) or written in place. */
type FileStamp = Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs' | 'ctimeMs'>

async function stampOf(path: string): Promise<FileStamp | undefined> {
  const s = await stat(path).catch(() => undefined)
  return s && { dev: s.dev, ino: s.ino, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs }
}

function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return !!a && !!b && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs
}

/**
 * Reads, bounds and validates a keyset file; damage is reported before anything
 * else is. The file is always read; text identical to `known` (what this
 * process last read or wrote there) is not parsed and checked again, since the
 * outcome of both is a function of the text alone. The stamp is taken before
 * the read, so a change made during it is seen as a change next time.
 */
async function readKeyset(path: string, known?: KeysetSource): Promise<KeysetSource> {
  const stamp = await stampOf(path)
  const text = await readBounded(path)
  if (known && text === known.text) return { ...known, stamp }
  return { text, data: parseKeysetText(path, text), stamp }
}

/**
 * `known` while the file is unchanged since it was read or written (one stat),
 * else the file read again: an unknown share or token, which any local caller
 * can send at will, costs no read of an unchanged keyset.
 */
async function readKeysetIfChanged(path: string, known?: KeysetSource): Promise<KeysetSource> {
  if (known && sameStamp(known.stamp, await stampOf(path))) return known
  return readKeyset(path, known)
}

function parseKeysetText(path: string, text: string): KeysetData {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new KeysetError(`${path} is corrupt: not valid JSON`)
  }
  const record = json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : null
  const version = record?.tessera_keyset
  if (typeof version === 'number' && version > KEYSET_FORMAT_VERSION) {
    throw new KeysetError(
      `${path} uses keyset format ${version}; this Tessera reads formats 1 to ${KEYSET_FORMAT_VERSION}: upgrade Tessera`,
    )
  }
  if (record && (version === 2 || version === 3)) {
    if (typeof record.integrity !== 'string') {
      throw new KeysetError(`the keyset file is damaged: ${path} has lost its integrity check; restore it from a backup`, 400, 'keyset_damaged')
    }
    if (record.integrity !== integrityOf(record)) {
      throw new KeysetError(
        `the keyset file is damaged: ${path} does not match its integrity check (a changed byte or an edit); restore it from a backup`,
        400,
        'keyset_damaged',
      )
    }
  }
  const parsed = v.safeParse(version === 3 ? KeysetV3 : version === 2 ? KeysetV2 : KeysetV1, json)
  if (!parsed.success) throw new KeysetError(`${path} is not a valid Tessera keyset: ${describeIssue(parsed.issues[0])}`)
  return parsed.output
}

/**
 * Format-2 or 3 content with its integrity check filled in. The check finds damage
 * (a flipped bit, a truncated copy); it is no signature: whoever may write the
 * file may also recompute it. What an edit cannot fake is the keyring.
 */
export function withIntegrity<T extends object>(content: T): T & { integrity: string } {
  return { ...content, integrity: integrityOf(content as Record<string, unknown>) }
}

/** The file content for `data`, and `data` as that content reads back (its integrity check filled in). */
function serialize(data: KeysetData): KeysetSource {
  const stored = data.tessera_keyset === 1 ? data : withIntegrity(data)
  return { text: `${JSON.stringify(stored, null, 2)}\n`, data: stored }
}

function writeError(path: string, err: unknown): KeysetError {
  return new KeysetError(`could not write the keyset ${path}: ${systemReason(err)}`, 500, 'keyset_write')
}

function sameKeyring(a: KeysetData, b: KeysetData): boolean {
  return a.keyring.ciphertext === b.keyring.ciphertext && a.keyring.iv === b.keyring.iv && a.keyring.tag === b.keyring.tag
}

/** One share as the keyset creates it: canonical bytes (wiped by the caller) and its record. */
export interface NewShare {
  /** Its place among the keyset's shares, from 1. */
  number: number
  holder: string | null
  share: Buffer
}

export class Keyset {
  readonly codec: ShareCodec

  private constructor(
    readonly path: string,
    private data: KeysetData,
    /** The file as this process last read or wrote it: `data` came from, or became, this text. */
    private source?: KeysetSource,
  ) {
    this.codec = codecFor(data.scheme, data.secret_threshold)
  }

  get scheme(): Scheme {
    return this.data.scheme
  }
  /**
   * How many shares are out: those made with the keyset and every one the share
   * flow issued since (the threshold stays). Seal status reports it as `n`.
   */
  get shares(): number {
    return Math.max(this.data.secret_shares, this.listShares().length)
  }
  get threshold(): number {
    return this.data.secret_threshold
  }
  /** The encrypted keyring, bound to the root key: its SHA-256 names the keyset in a ceremony record. */
  get keyringCiphertext(): string {
    return this.data.keyring.ciphertext
  }
  /** Formats 2 and 3 record a check value per share; format 1 can check shares only by combining them. */
  get canCheckShares(): boolean {
    return this.data.tessera_keyset !== 1
  }

  /**
   * Splits a new root key into the keyset's shares and builds its file content
   * in memory; nothing is written until `write` is called, so a caller can hand
   * the shares out first. The caller wipes the returned shares.
   */
  static async prepare(
    path: string,
    opts: {
      shares: number
      threshold: number
      scheme: Scheme
      rootToken: Uint8Array
      holders?: readonly string[]
      /** Per share, the fingerprints of the PGP key it is encrypted to. */
      holderKeys?: ReadonlyArray<readonly string[]>
    },
  ): Promise<{ keyset: Keyset; shares: NewShare[]; write: () => Promise<void> }> {
    checkShareConfig(opts.shares, opts.threshold)
    if (opts.holders) checkHolders(opts.holders, opts.shares)
    const rootKey = randomBytes(ROOT_KEY_BYTES)
    const keyring = randomBytes(32)
    const key = keyringKey(rootKey)
    try {
      const codec = codecFor(opts.scheme, opts.threshold)
      const parts = await codec.split(rootKey, opts.shares, opts.threshold)
      const header = { scheme: opts.scheme, secret_shares: opts.shares, secret_threshold: opts.threshold }
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      cipher.setAAD(keyringAad(header))
      const ciphertext = Buffer.concat([cipher.update(keyring), cipher.final()])
      const tokenSalt = newSalt()
      const checkSalt = newSalt()
      const params: ScryptParams = { kdf: 'scrypt', n: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, salt: checkSalt.toString('base64') }
      const shares = parts.map((share, i) => ({ number: i + 1, holder: opts.holders?.[i] ?? null, share }))
      const checks = await Promise.all(shares.map((s) => scryptCheck(params, checkSalt, s.share))).catch((err: unknown) => {
        wipe(...parts)
        throw err
      })
      const stored = serialize({
        tessera_keyset: 3,
        ...header,
        keyring: {
          cipher: 'aes-256-gcm',
          iv: iv.toString('base64'),
          tag: cipher.getAuthTag().toString('base64'),
          ciphertext: ciphertext.toString('base64'),
        },
        token_salt: tokenSalt.toString('base64'),
        tokens: [rootTokenRecord(tokenSalt, opts.rootToken)],
        created_at: new Date().toISOString(),
        share_check: params,
        issued_shares: shares.map((s, i) => ({
          x: codec.id(s.share),
          holder: s.holder,
          check: checks[i]!.toString('base64'),
          ...keysField(opts.holderKeys?.[i]),
        })),
        integrity: '',
      })
      const keyset = new Keyset(path, stored.data)
      const write = async () => {
        try {
          await writeFileAtomic(path, stored.text, { overwrite: false })
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
            throw new KeysetError(`${path} already exists; Tessera never overwrites a keyset`, 409, 'keyset_exists')
          }
          throw writeError(path, err)
        }
        keyset.source = { ...stored, stamp: await stampOf(path) }
      }
      return { keyset, shares, write }
    } finally {
      wipe(rootKey, keyring, key)
    }
  }

  static async open(path: string): Promise<Keyset> {
    // What a killed process left on this path goes before this run starts using it.
    await clearLitter(path)
    const source = await readKeyset(path)
    return new Keyset(path, source.data, source)
  }

  /** True when `combined` is this keyset's root key: the keyring decrypts and authenticates. */
  verify(combined: Uint8Array): boolean {
    if (combined.length !== ROOT_KEY_BYTES) return false
    const key = keyringKey(combined)
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(this.data.keyring.iv, 'base64'))
      decipher.setAAD(keyringAad(this.data))
      decipher.setAuthTag(Buffer.from(this.data.keyring.tag, 'base64'))
      const plain = Buffer.concat([decipher.update(Buffer.from(this.data.keyring.ciphertext, 'base64')), decipher.final()])
      wipe(plain)
      return true
    } catch {
      return false
    } finally {
      wipe(key)
    }
  }

  /**
   * Tells which issued share `share` (canonical bytes) is, or refuses it with the
   * reason: a wrong length, a number this keyset never issued, or a check value
   * that does not match (a typing mistake). Format 1 checks only the length. A
   * number unknown here is looked up again in the file when it changed since:
   * another program on this keyset may have issued that share.
   */
  async recognize(share: Buffer): Promise<ShareIdentity> {
    let found: ReturnType<Keyset['locate']>
    try {
      found = this.locate(share)
    } catch (err) {
      if (!(err instanceof TesseraError) || err.code !== 'share_unknown') throw err
      await this.refresh()
      found = this.locate(share)
    }
    if (!('at' in found)) return found
    const { data, at, identity } = found
    // The share's number is in the share: only that one share's check value is derived.
    if (!sameBytes(checksOf(data).checks[at]!, await checkValue(data, share))) {
      throw badRequest(`this does not match ${shareLabel(identity)} — probably a typing mistake`, 'share_mismatch')
    }
    return { ...identity, checked: true }
  }

  /** The record a share's number points to, without its check; format 1 answers at once. */
  private locate(share: Buffer): ShareIdentity | { data: CheckedKeyset; at: number; identity: { number: number; holder: string | null } } {
    const expected = this.codec.shareLength(ROOT_KEY_BYTES)
    if (share.length !== expected) {
      throw badRequest(
        `this share is ${share.length < expected ? 'too short' : 'too long'} for this keyset (${share.length} bytes; its shares have ${expected}): a character is missing or extra`,
        'share_length',
      )
    }
    const x = this.codec.id(share)
    const data = this.data
    if (data.tessera_keyset === 1) {
      const at = data.issued_share_ids.indexOf(x)
      return { number: at >= 0 ? at + 1 : null, holder: null, checked: false }
    }
    const at = data.issued_shares.findIndex((r) => r.x === x)
    if (at < 0) throw badRequest('this share is not from this keyset: it carries a share number this keyset never issued', 'share_unknown')
    return { data, at, identity: { number: at + 1, holder: data.issued_shares[at]!.holder } }
  }

  /**
   * A share as typed: hex, base64 or a secrets.js share, or a share card typed
   * back, read by the share grammar that the share field uses. A share pasted
   * as it stands is read from its bytes; one with spaces or line breaks is read
   * as text, as it already arrived (an IPC message or an HTTP body is a string).
   * The caller wipes `typed`.
   */
  parseShare(typed: Buffer): Buffer {
    if (!needsGrammar(typed)) return this.codec.parse(typed)
    const text = Buffer.from(readShareText(typed.toString('utf8'), this.scheme, this.codec.textLength(ROOT_KEY_BYTES)), 'utf8')
    try {
      return this.codec.parse(text)
    } finally {
      wipe(text)
    }
  }

  /**
   * Checks one share typed or pasted, with no attempt and nothing combined:
   * which share it is, or why it is not one of this keyset's. The caller wipes `typed`.
   */
  async check(typed: Buffer): Promise<ShareCheck> {
    let share: Buffer | undefined
    try {
      share = this.parseShare(typed)
      const known = await this.recognize(share)
      if (!known.checked) {
        return { ...known, valid: false, code: 'cannot_check', reason: 'this keyset (format 1) records no check values: its shares can be checked only by a ceremony' }
      }
      return { ...known, valid: true }
    } catch (err) {
      if (!(err instanceof TesseraError) || err.status !== 400) throw err
      return { number: null, holder: null, checked: false, valid: false, code: err.code, reason: err.message }
    } finally {
      if (share) wipe(share)
    }
  }

  /** The issued shares, numbered from 1 in the order issued (format 1: as recorded, without holders). */
  listShares(): Array<{ number: number; holder: string | null }> {
    const data = this.data
    if (data.tessera_keyset === 1) return data.issued_share_ids.map((_, i) => ({ number: i + 1, holder: null }))
    return data.issued_shares.map(({ holder }, i) => ({ number: i + 1, holder }))
  }

  /** The shares whose holder's PGP key is recorded, with its fingerprints (format 1 records none). */
  holderKeys(): Array<{ number: number; holder: string | null; fingerprints: readonly string[] }> {
    const data = this.data
    if (data.tessera_keyset === 1) return []
    return data.issued_shares.flatMap((r, i) => (r.pgp_keys ? [{ number: i + 1, holder: r.holder, fingerprints: r.pgp_keys }] : []))
  }

  /** Finds the stored record for a presented token, comparing hashes in constant time. */
  findToken(token: Uint8Array | string): TokenRecord | undefined {
    const hash = hashToken(Buffer.from(this.data.token_salt, 'base64'), token)
    return this.data.tokens.find((t) => sameBytes(Buffer.from(t.hash, 'base64'), hash))
  }

  /**
   * findToken, re-reading the file when the token is unknown here and the file
   * changed since: another program on this keyset (a second serve, the app) may
   * have minted it.
   */
  async findTokenCurrent(token: Uint8Array | string): Promise<TokenRecord | undefined> {
    const found = this.findToken(token)
    if (found) return found
    await this.refresh().catch(() => undefined)
    return this.findToken(token)
  }

  async addRootToken(token: Uint8Array): Promise<void> {
    await this.change((d) => ({ ...d, tokens: [...d.tokens, rootTokenRecord(Buffer.from(d.token_salt, 'base64'), token)] }))
  }

  async removeToken(accessor: string): Promise<void> {
    await this.change((d) => ({ ...d, tokens: d.tokens.filter((t) => t.accessor !== accessor) }))
  }

  /** True while some x coordinate is still free, as far as this process knows. */
  hasFreeShareNumber(): boolean {
    return freeX(this.data, []) !== undefined
  }

  /**
   * Issues a new share under the keyset's lock: its x coordinate is chosen from
   * the file as it is now (so two processes never issue the same one), `make`
   * derives the share there, and its record is written before the share is
   * returned, with its holder's name when given and `pgpKeys` (the fingerprints
   * of the key it is encrypted to). The caller wipes the share.
   */
  async issueShare(
    exclude: number[],
    make: (x: number) => Promise<Buffer>,
    to: { holder?: string | null; pgpKeys?: readonly string[] } = {},
  ): Promise<NewShare> {
    const holder = to.holder ?? null
    // A name the file's own schema refuses would leave a keyset nobody can open.
    const named = holder === null ? null : v.safeParse(HolderName, holder)
    if (named && !named.success) throw new KeysetError(`the new holder's name ${named.issues[0].message}`)
    let issued: NewShare | undefined
    await this.change(async (d) => {
      const x = freeX(d, exclude)
      if (x === undefined) throw badRequest('all 255 share numbers of this keyset are in use; no new share can be made', 'no_share_slot')
      const share = await make(x)
      if (d.tessera_keyset === 1) {
        issued = { number: d.issued_share_ids.length + 1, holder: null, share }
        return { ...d, issued_share_ids: [...d.issued_share_ids, x] }
      }
      issued = { number: d.issued_shares.length + 1, holder, share }
      const check = (await checkValue(d, share)).toString('base64')
      return { ...d, issued_shares: [...d.issued_shares, { x, holder, check, ...keysField(to.pgpKeys) }] }
    }).catch((err) => {
      if (issued) wipe(issued.share)
      throw err
    })
    return issued!
  }

  /**
   * Read-modify-write under an exclusive cross-process lock: another program on
   * the same keyset (the app and `tessera serve`) may have changed it since it
   * was opened, and its change must survive ours.
   */
  private async change(apply: (fresh: KeysetData) => KeysetData | Promise<KeysetData>): Promise<void> {
    // Through a symlink, the lock, the read and the write are all the target's:
    // a program using the link and one using the target exclude each other.
    await withFileLock(this.path, async (target) => {
      const fresh = await readKeyset(target, this.source)
      if (!sameKeyring(fresh.data, this.data)) {
        throw new KeysetError(`${this.path} now holds another keyset than the one opened; open it again`, 409, 'keyset_replaced')
      }
      const next = serialize(await apply(fresh.data))
      try {
        await writeFileAtomic(target, next.text, { overwrite: true })
      } catch (err) {
        throw writeError(this.path, err)
      }
      this.data = next.data
      this.source = { ...next, stamp: await stampOf(target) }
    })
  }

  /** Takes another program's changes, reading the file only when it changed since this process last read or wrote it. */
  private async refresh(): Promise<void> {
    this.adopt(await readKeysetIfChanged(this.path, this.source))
  }

  /** Takes another program's changes to this keyset; a file now holding another keyset is left alone. */
  private adopt(fresh: KeysetSource): void {
    if (!sameKeyring(fresh.data, this.data)) return
    this.data = fresh.data
    this.source = fresh
  }
}

/** A share record's optional key field: absent rather than empty, so that files without keys read as before. */
function keysField(fingerprints: readonly string[] | undefined): { pgp_keys?: string[] } {
  return fingerprints?.length ? { pgp_keys: [...fingerprints] } : {}
}

function freeX(d: KeysetData, exclude: number[]): number | undefined {
  const issued = d.tessera_keyset === 1 ? d.issued_share_ids : d.issued_shares.map((r) => r.x)
  const used = new Set([...issued, ...exclude])
  for (let n = 1; n <= MAX_SHARE_ID; n++) if (!used.has(n)) return n
  return undefined
}

function rootTokenRecord(salt: Uint8Array, token: Uint8Array): TokenRecord {
  return {
    accessor: newAccessor(),
    hash: hashToken(salt, token).toString('base64'),
    policies: ['root'],
    creation_time: Math.floor(Date.now() / 1000),
  }
}
