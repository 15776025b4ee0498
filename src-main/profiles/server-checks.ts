import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import * as v from 'valibot'
import { wipe } from '../crypto/wipe'
import { sameBytes } from '../crypto/same-bytes'
import { withoutSpaces } from '../crypto/text-bytes'
import { count, integrityProblem, ScryptParams, ShareRecord, withIntegrity } from '../engine/keyset-format'
import { newRegistry, scryptCheck, type ShareFacts } from '../engine/share-registry'
import { codecFor } from '../engine/share-codec'
import { readFailure, readRegularFile } from '../support/bounded-read'
import { hasCode, systemReason, TesseraError } from '../support/errors'
import { describeIssue } from '../support/issues'
import { withFileLock, writeFileAtomic } from '../support/files'
import { shareLabel } from '../../src-shared/share-grammar'

/**
 * The server check file: what Tessera keeps of a server it initialized, so
 * that a share of that server can be checked as it is entered, as a keyset's
 * can. A server keeps no check values of its own. Per share: its number (the
 * order of sys/init's `keys`, Vault's "Unseal Key N"), its x coordinate, its
 * holder and a slow salted check value (scrypt, as keyset format 3). Never a
 * share, never a token.
 */
export const SERVER_CHECKS_FORMAT = 1
/** 255 shares' records are well under this. */
const CHECKS_LIMIT = { bytes: 256 * 1024, what: 'a server check file' }

const SharedRecord = v.strictObject({
  /** Vault's "Unseal Key N": the share's place in sys/init's `keys`, from 1. */
  number: count,
  ...ShareRecord.entries,
})

const ServerChecksFile = v.pipe(
  v.strictObject({
    tessera_server_checks: v.literal(SERVER_CHECKS_FORMAT),
    /** The server's origin, as the profile reached it. */
    server: v.pipe(v.string(), v.maxLength(300, 'is too long'), v.regex(/^https?:\/\/[^\s/?#]+$/, 'must be an http(s) origin')),
    /** Filled at the first unsealed seal status (a server is sealed right after init); null until then. */
    cluster_id: v.nullable(v.pipe(v.string(), v.regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be an identifier of at most 128 letters, digits or . _ : -'))),
    /** 1 at init; each rekey run through Tessera adds one. */
    generation: v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(1, 'must be at least 1')),
    created_at: v.pipe(v.string(), v.isoTimestamp('must be an ISO time')),
    secret_shares: count,
    secret_threshold: count,
    share_check: ScryptParams,
    shares: v.pipe(v.array(SharedRecord), v.minLength(1, 'is empty'), v.maxLength(255, 'has too many entries')),
    integrity: v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" and 64 hex digits')),
  }),
  v.check((f) => f.secret_threshold <= f.secret_shares, 'secret_threshold exceeds secret_shares'),
  v.check((f) => f.shares.length === f.secret_shares, 'shares does not hold one record per share'),
  v.check((f) => f.shares.every((s, i) => s.number === i + 1), 'shares is not numbered 1, 2, 3 … in order'),
  v.check((f) => new Set(f.shares.map((s) => s.x)).size === f.shares.length, 'shares repeats an x coordinate'),
)
export type ServerChecks = v.InferOutput<typeof ServerChecksFile>

/** Whose share an entered share is, as the check file proved it. */
export interface RecognizedServerShare {
  number: number
  holder: string | null
}

/** One share of a server just initialized: its bytes (wiped by the caller), holder and PGP key. */
export interface NewServerShare {
  share: Uint8Array
  holder: string | null
  pgpKeys?: readonly string[]
}

const checksError = (message: string) => new TesseraError('server_checks', message)

/** The check file of a server just initialized, its shares in sys/init's order. */
export async function newServerChecks(server: string, threshold: number, shares: readonly NewServerShare[]): Promise<ServerChecks> {
  const codec = codecFor('vault', threshold)
  const facts = (s: NewServerShare): ShareFacts => ({ x: codec.id(Buffer.from(s.share)), holder: s.holder, ...(s.pgpKeys ? { pgpKeys: s.pgpKeys } : {}) })
  const records = shares.map((s) => ({ share: s.share, facts: facts(s) }))
  if (new Set(records.map((r) => r.facts.x)).size !== records.length) {
    throw checksError("the server's shares repeat a share number (x coordinate): they are not shares of one key, and no check file is written for them")
  }
  const { share_check, issued_shares } = await newRegistry(records)
  return withIntegrity({
    tessera_server_checks: SERVER_CHECKS_FORMAT,
    server,
    cluster_id: null,
    generation: 1,
    created_at: new Date().toISOString(),
    secret_shares: shares.length,
    secret_threshold: threshold,
    share_check,
    shares: issued_shares.map((r, i) => ({ number: i + 1, ...r })),
  })
}

/** The check file at `path`, strictly read; null when there is none. Damage is named before anything else. */
export async function readServerChecks(path: string): Promise<ServerChecks | null> {
  let text: string
  try {
    text = (await readRegularFile(path, CHECKS_LIMIT)).toString('utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw checksError(`cannot read the server check file ${path}: ${readFailure(err)}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw checksError(`the server check file ${path} is damaged: not valid JSON`)
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw checksError(`the server check file ${path} is damaged: not a JSON object`)
  const problem = integrityProblem(json as Record<string, unknown>)
  if (problem) throw checksError(`the server check file ${path} is damaged: it ${problem}; restore it from a backup`)
  const parsed = v.safeParse(ServerChecksFile, json)
  if (!parsed.success) throw checksError(`${path} is not a valid server check file: ${describeIssue(parsed.issues, 'file')}`)
  return parsed.output
}

/**
 * Refuses a check file that cannot be written, before the server is
 * initialized: its directory is made, and its lock taken and released.
 */
export async function assertChecksWritable(path: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    await withFileLock(path, async () => undefined)
  } catch (err) {
    throw checksError(`the server check file ${path} cannot be written: ${hasCode(err, 'locked') ? 'another Tessera is writing it' : systemReason(err)}`)
  }
}

/**
 * Writes the check file atomically under its lock, replacing one left by an
 * earlier init of this profile: the server just said it was not initialized,
 * so that file describes shares that open nothing any more.
 */
export async function writeServerChecks(path: string, checks: ServerChecks): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    await withFileLock(path, (target) => writeFileAtomic(target, `${JSON.stringify(checks, null, 2)}\n`, { overwrite: true }))
  } catch (err) {
    throw checksError(`the server check file ${path} could not be written: ${systemReason(err)}`)
  }
}

/**
 * Which of the server's shares `typed` is (as a holder typed it, hex or base64),
 * or the refusal in a sentence: not a share, a number the init never issued,
 * or a check value that does not match (a typing mistake).
 */
export async function recognizeServerShare(checks: ServerChecks, typed: Uint8Array): Promise<RecognizedServerShare> {
  const codec = codecFor('vault', checks.secret_threshold)
  const compact = withoutSpaces(typed)
  let share: Buffer
  try {
    share = codec.parse(compact)
  } finally {
    wipe(compact)
  }
  try {
    const x = codec.id(share)
    const record = checks.shares.find((s) => s.x === x)
    if (!record) throw new TesseraError('share_unknown', "this share is not one of this server's shares: it carries a share number the server's init never issued")
    const known = { number: record.number, holder: record.holder }
    if (!sameBytes(Buffer.from(record.check, 'base64'), await scryptCheck(checks.share_check, share))) {
      throw new TesseraError('share_mismatch', `this does not match ${shareLabel(known)} — probably a typing mistake`)
    }
    return known
  } finally {
    wipe(share)
  }
}

/** The shares the check file knows, by number and holder. */
export function listServerShares(checks: ServerChecks): RecognizedServerShare[] {
  return checks.shares.map(({ number, holder }) => ({ number, holder }))
}

