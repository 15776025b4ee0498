import { link, mkdir, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import * as v from 'valibot'
import { wipe } from '../crypto/wipe'
import { sameBytes } from '../crypto/same-bytes'
import { withoutSpaces } from '../crypto/text-bytes'
import { count, EarlierGeneration, integrityProblem, ScryptParams, ShareRecord, withIntegrity } from '../engine/keyset-format'
import { newRegistry, refuseIfReplaced, scryptCheck, type ShareFacts } from '../engine/share-registry'
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
 * order of sys/init's or the rekey's `keys`, Vault's "Unseal Key N"), its x
 * coordinate, its holder and a slow salted check value (scrypt, as keyset
 * format 3). Never a share, never a token.
 *
 * Format 2 adds `pending`: the next generation, written by a rekey run through
 * Tessera once the server made the new shares and before any is shown, made
 * current when their verification completes, dropped when the rekey is
 * cancelled.
 *
 * Format 3 adds `earlier_generations`: per generation a rekey replaced, its
 * shares' check values and when it was replaced (never a share, never a PGP
 * key), so that one of its shares entered later is named as replaced, as a
 * keyset's is. Formats 1 and 2 still load.
 */
export const SERVER_CHECKS_FORMAT = 3
/**
 * How many earlier generations a check file remembers, the oldest dropped
 * first: with the current and a pending generation at their largest (255
 * shares, 64-character holder names of three UTF-8 bytes each, 33 PGP
 * fingerprints of 64 hex digits per share), 16 of them still fit CHECKS_LIMIT.
 */
export const MAX_EARLIER_SERVER_GENERATIONS = 16
export const CHECKS_LIMIT = { bytes: 3 * 1024 * 1024, what: 'a server check file' }

const SharedRecord = v.strictObject({
  /** Vault's "Unseal Key N": the share's place in sys/init's `keys`, from 1. */
  number: count,
  ...ShareRecord.entries,
})

/** One generation of the server's shares: what its init or one rekey made. */
const generationEntries = {
  /** 1 at init; each rekey run through Tessera takes the next number never used. */
  generation: v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(1, 'must be at least 1')),
  /** When the server made these shares. */
  created_at: v.pipe(v.string(), v.isoTimestamp('must be an ISO time')),
  secret_shares: count,
  secret_threshold: count,
  share_check: ScryptParams,
  shares: v.pipe(v.array(SharedRecord), v.minLength(1, 'is empty'), v.maxLength(255, 'has too many entries')),
}

type Counted = { secret_shares: number; secret_threshold: number; shares: ReadonlyArray<{ number: number; x: number }> }

/** Why a generation's counts and shares do not fit together, or null. */
function generationProblem(g: Counted): string | null {
  if (g.secret_threshold > g.secret_shares) return 'secret_threshold exceeds secret_shares'
  if (g.shares.length !== g.secret_shares) return 'shares does not hold one record per share'
  if (!g.shares.every((s, i) => s.number === i + 1)) return 'shares is not numbered 1, 2, 3 … in order'
  if (new Set(g.shares.map((s) => s.x)).size !== g.shares.length) return 'shares repeats an x coordinate'
  return null
}
function fitsTogether<T extends Counted>() {
  return v.check<T, (issue: v.CheckIssue<T>) => string>(
    (g) => generationProblem(g) === null,
    (issue) => generationProblem(issue.input) ?? 'does not fit together',
  )
}

const Generation = v.pipe(v.strictObject(generationEntries), fitsTogether())
export type ServerGeneration = v.InferOutput<typeof Generation>

/** A generation a rekey replaced: the keyset's record of one, always with scrypt check values. */
const EarlierServerGeneration = v.strictObject({
  ...v.omit(EarlierGeneration, ['share_salt']).entries,
  replaced_at: v.pipe(v.string(), v.isoTimestamp('must be an ISO time')),
  share_check: ScryptParams,
})
type EarlierServerGeneration = v.InferOutput<typeof EarlierServerGeneration>

const FORMATS = [1, 2, SERVER_CHECKS_FORMAT] as const

/** Why a file's generations do not follow each other, or null. */
function generationsProblem(f: { tessera_server_checks: number; generation: number; pending?: { generation: number }; earlier_generations?: ReadonlyArray<{ generation: number }> }): string | null {
  if (f.pending && (f.tessera_server_checks < 2 || f.pending.generation <= f.generation)) return 'pending is not a later generation of a format 2 or 3 file'
  const earlier = f.earlier_generations
  if (earlier && f.tessera_server_checks < 3) return 'earlier_generations needs format 3'
  if (earlier && !earlier.every((g, i) => g.generation < (earlier[i + 1]?.generation ?? f.generation))) {
    return 'earlier_generations is not in order, each before the current generation'
  }
  return null
}

const ServerChecksFile = v.pipe(
  v.strictObject({
    tessera_server_checks: v.picklist(FORMATS, 'must be 1, 2 or 3'),
    /** The server's origin, as the profile reached it. */
    server: v.pipe(v.string(), v.maxLength(300, 'is too long'), v.regex(/^https?:\/\/[^\s/?#]+$/, 'must be an http(s) origin')),
    /** Filled at the first unsealed seal status (a server is sealed right after init); null until then. */
    cluster_id: v.nullable(v.pipe(v.string(), v.regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be an identifier of at most 128 letters, digits or . _ : -'))),
    ...generationEntries,
    /** The next generation, while a rekey run through Tessera waits for its verification (format 2). */
    pending: v.optional(Generation),
    /** The generations rekeys replaced, oldest first (format 3). */
    earlier_generations: v.optional(v.pipe(v.array(EarlierServerGeneration), v.maxLength(MAX_EARLIER_SERVER_GENERATIONS, 'has too many entries'))),
    integrity: v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" and 64 hex digits')),
  }),
  fitsTogether(),
  v.check((f) => generationsProblem(f) === null, (issue) => generationsProblem(issue.input) ?? 'does not fit together'),
)
export type ServerChecks = v.InferOutput<typeof ServerChecksFile>

/** Whose share an entered share is, as the check file proved it. */
export interface RecognizedServerShare {
  number: number
  holder: string | null
}

/** One new share of the server (its init's or a rekey's): its bytes (wiped by the caller), holder and PGP key. */
export interface NewServerShare {
  share: Uint8Array
  holder: string | null
  pgpKeys?: readonly string[]
}

const checksError = (message: string) => new TesseraError('server_checks', message)

/** The check values of new shares, in the server's order, as generation `generation`. */
async function generationOf(generation: number, threshold: number, shares: readonly NewServerShare[]): Promise<ServerGeneration> {
  const codec = codecFor('vault', threshold)
  const facts = (s: NewServerShare): ShareFacts => ({ x: codec.id(Buffer.from(s.share)), holder: s.holder, ...(s.pgpKeys ? { pgpKeys: s.pgpKeys } : {}) })
  const records = shares.map((s) => ({ share: s.share, facts: facts(s) }))
  if (new Set(records.map((r) => r.facts.x)).size !== records.length) {
    throw checksError("the server's shares repeat a share number (x coordinate): they are not shares of one key, and no check file is written for them")
  }
  const { share_check, issued_shares } = await newRegistry(records)
  return {
    generation,
    created_at: new Date().toISOString(),
    secret_shares: shares.length,
    secret_threshold: threshold,
    share_check,
    shares: issued_shares.map((r, i) => ({ number: i + 1, ...r })),
  }
}

/** The check file of a server just initialized, its shares in sys/init's order. */
export async function newServerChecks(server: string, threshold: number, shares: readonly NewServerShare[]): Promise<ServerChecks> {
  return withIntegrity({ tessera_server_checks: SERVER_CHECKS_FORMAT, server, cluster_id: null, ...(await generationOf(1, threshold, shares)) })
}

/** `checks` with its current and pending generations replaced (`null`: no pending generation), and `replaced`, if any, the newest earlier one. */
function withGenerations(checks: ServerChecks, current: ServerGeneration, pending: ServerGeneration | null, replaced?: EarlierServerGeneration): ServerChecks {
  const { server, cluster_id } = checks
  const earlier = [...(checks.earlier_generations ?? []), ...(replaced ? [replaced] : [])].slice(-MAX_EARLIER_SERVER_GENERATIONS)
  return withIntegrity({ tessera_server_checks: SERVER_CHECKS_FORMAT, server, cluster_id, ...current, ...(pending ? { pending } : {}), earlier_generations: earlier })
}

/** `gen` as an earlier generation replaced at `replacedAt`: its check values, nothing else. */
function asEarlier(gen: ServerGeneration, replacedAt: string): EarlierServerGeneration {
  return { generation: gen.generation, replaced_at: replacedAt, share_check: gen.share_check, shares: gen.shares.map(({ x, holder, check }) => ({ x, holder, check })) }
}

/** The current generation of `checks`, without the file's other fields. */
export function currentGeneration(checks: ServerChecks): ServerGeneration {
  const { generation, created_at, secret_shares, secret_threshold, share_check, shares } = checks
  return { generation, created_at, secret_shares, secret_threshold, share_check, shares }
}

/**
 * `checks` with a rekey's new shares as its pending generation, numbered after
 * every generation the file held. `entered`: the generation whose shares the
 * rekey took; a pending generation left by an earlier rekey not seen to finish
 * is made current when they were its shares (the server had applied it), and
 * dropped otherwise.
 */
export async function withPending(checks: ServerChecks, entered: number, threshold: number, shares: readonly NewServerShare[]): Promise<ServerChecks> {
  const left = checks.pending
  const settled = left && left.generation === entered ? promotePending(checks, left.created_at) : checks
  const next = await generationOf(Math.max(checks.generation, left?.generation ?? 0) + 1, threshold, shares)
  return withGenerations(settled, currentGeneration(settled), next)
}

/**
 * The pending generation made current, the one it replaces kept as the
 * newest earlier generation, replaced at `replacedAt`: now, where the rekey's
 * verification was seen to complete; the rekey's own time (when the server
 * made its shares) where it was not, which is the best known.
 */
export function promotePending(checks: ServerChecks, replacedAt = new Date().toISOString()): ServerChecks {
  if (!checks.pending) return checks
  return withGenerations(checks, checks.pending, null, asEarlier(currentGeneration(checks), replacedAt))
}

/** The pending generation dropped: its rekey was cancelled. */
export function dropPending(checks: ServerChecks): ServerChecks {
  return withGenerations(checks, currentGeneration(checks), null)
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
  const format = (json as Record<string, unknown>).tessera_server_checks
  if (typeof format === 'number' && format > SERVER_CHECKS_FORMAT) {
    throw checksError(`the server check file ${path} uses format ${format}; this Tessera reads formats 1 to ${SERVER_CHECKS_FORMAT}: upgrade Tessera`)
  }
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
    await withFileLock(path, (target, lock) => writeFileAtomic(target, `${JSON.stringify(checks, null, 2)}\n`, { overwrite: true, lock }))
  } catch (err) {
    if (hasCode(err, 'lock_lost')) throw err
    throw checksError(`the server check file ${path} could not be written: ${systemReason(err)}`)
  }
}

/**
 * Which share of generation `gen` `share` (canonical bytes) is, or the
 * refusal in a sentence: a number the generation never issued, or a check
 * value that does not match (a typing mistake).
 */
async function recognizeIn(gen: ServerGeneration, share: Buffer): Promise<RecognizedServerShare> {
  const x = codecFor('vault', gen.secret_threshold).id(share)
  const record = gen.shares.find((s) => s.x === x)
  if (!record) throw new TesseraError('share_unknown', "this share is not one of this server's shares: it carries a share number the server never issued")
  const known = { number: record.number, holder: record.holder }
  if (!sameBytes(Buffer.from(record.check, 'base64'), await scryptCheck(gen.share_check, share))) {
    throw new TesseraError('share_mismatch', `this does not match ${shareLabel(known)} — probably a typing mistake`)
  }
  return known
}

/**
 * Which of the server's shares `typed` (as a holder typed it, hex or base64)
 * is, and of which generation: the current one, or (`which: 'any'`) a pending
 * one left by a rekey not seen to finish; `which: 'pending'` knows only the
 * pending generation (a rekey's new shares entered back). A share that
 * matches none is refused as replaced where an earlier generation issued it,
 * as a current one where only new shares are taken, as mistyped where a
 * generation knows its number, and as unknown otherwise.
 */
export async function identifyServerShare(checks: ServerChecks, typed: Uint8Array, which: 'current' | 'any' | 'pending' = 'any'): Promise<RecognizedServerShare & { generation: number }> {
  const current = currentGeneration(checks)
  const order = which === 'pending' ? [checks.pending] : which === 'any' ? [current, checks.pending] : [current]
  const gens = order.filter((g): g is ServerGeneration => g !== undefined)
  if (!gens.length) throw new TesseraError('no_rekey_verification', 'the server check file holds no new shares to verify')
  const compact = withoutSpaces(typed)
  let share: Buffer
  try {
    share = codecFor('vault', current.secret_threshold).parse(compact)
  } finally {
    wipe(compact)
  }
  try {
    let mismatch: unknown
    let unknown: unknown
    for (const gen of gens) {
      try {
        return { ...(await recognizeIn(gen, share)), generation: gen.generation }
      } catch (err) {
        if (hasCode(err, 'share_mismatch')) mismatch ??= err
        else if (hasCode(err, 'share_unknown')) unknown ??= err
        else throw err
      }
    }
    // Vault's share number is a share's last byte.
    await refuseIfReplaced(checks.earlier_generations ?? [], share[share.length - 1]!, share, "this server's shares")
    if (which === 'pending') await refuseIfCurrent(current, share)
    throw mismatch ?? unknown
  } finally {
    wipe(share)
  }
}

/** Refuses a share of the generation in effect where only a rekey's new shares are taken, saying which it is: never called foreign. */
async function refuseIfCurrent(current: ServerGeneration, share: Buffer): Promise<void> {
  const known = await recognizeIn(current, share).catch(() => null)
  if (known) throw new TesseraError('share_unknown', `this is ${shareLabel(known)} of the shares in effect, not one of the rekey's new shares: enter the new share you were handed`)
}

/** Which of the server's current shares `typed` is, or the refusal in a sentence. */
export async function recognizeServerShare(checks: ServerChecks, typed: Uint8Array): Promise<RecognizedServerShare> {
  const { number, holder } = await identifyServerShare(checks, typed, 'current')
  return { number, holder }
}

/**
 * Moves the check file aside as `PATH.retired-GENERATION` (never over another
 * file): a rekey whose new shares the server encrypted left Tessera no check
 * values of them. Resolves with the new name.
 */
export async function retireServerChecks(path: string, generation: number): Promise<string> {
  try {
    return await withFileLock(path, async (target, lock) => {
      await lock.assertHeld('before')
      for (let i = 1; ; i++) {
        const aside = `${target}.retired-${generation}${i > 1 ? `-${i}` : ''}`
        try {
          await link(target, aside)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST' && i < 100) continue
          throw err
        }
        await unlink(target)
        return aside
      }
    })
  } catch (err) {
    throw checksError(`the server check file ${path} could not be moved aside: ${systemReason(err)}`)
  }
}

/** The shares the check file knows, by number and holder. */
export function listServerShares(checks: ServerChecks): RecognizedServerShare[] {
  return checks.shares.map(({ number, holder }) => ({ number, holder }))
}

