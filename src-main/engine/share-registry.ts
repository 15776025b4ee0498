import { scrypt } from 'node:crypto'
import { promisify } from 'node:util'
import { TesseraError } from '../support/errors'
import { sameBytes } from '../crypto/same-bytes'
import { shareLabel } from '../../src-shared/share-grammar'
import { MAX_SHARE_ID, type ShareCodec } from './share-codec'
import { ROOT_KEY_BYTES } from './keyring'
import { SCRYPT_WRITTEN, type CheckedKeyset, type EarlierGeneration, type KeysetData, type ScryptParams, type ShareRecord } from './keyset-format'
import { Serial } from './serial'
import { hashToken, newSalt } from './tokens'
import type { ShareCheckCode } from './views'

/**
 * The keyset's record of the shares it issued: which number and holder a share
 * is, told from the share itself (its x coordinate) and confirmed by the check
 * value the file keeps for it (formats 2 and 3; format 1 keeps numbers only).
 */

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
  /** Why not, in words. */
  reason?: string
  code?: ShareCheckCode
}

/** One share as the keyset issues it: canonical bytes (wiped by the caller) and its place and holder. */
export interface IssuedShare {
  /** Its place among the keyset's shares, from 1. */
  number: number
  holder: string | null
  share: Buffer
}

const CHECK_BYTES = 32

const scryptAsync = promisify(scrypt) as (password: Uint8Array, salt: Uint8Array, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>

/**
 * Two lanes for every scrypt of this process: each runs on libuv's thread pool
 * (off the event loop, so a server and the UI keep answering), and two at a
 * time leave the pool's other threads to file and network work even while a
 * 255-share init queues 255 of them.
 */
const scryptLanes = [new Serial(), new Serial()]
let nextLane = 0

/** The scrypt check value `params` derives for `share` (canonical bytes): a keyset's format 3 and a server check file alike. */
export function scryptCheck(params: ScryptParams, share: Uint8Array): Promise<Buffer> {
  const lane = scryptLanes[nextLane++ % scryptLanes.length]!
  const salt = Buffer.from(params.salt, 'base64')
  const maxmem = 2 * 128 * params.n * params.r * params.p
  return lane.run(() => scryptAsync(share, salt, CHECK_BYTES, { N: params.n, r: params.r, p: params.p, maxmem }))
}

/** The check value `data` records for `share` (canonical bytes): format 2's HMAC, format 3's scrypt. */
function checkValue(data: CheckedKeyset, share: Uint8Array): Promise<Buffer> {
  if (data.tessera_keyset === 2) return Promise.resolve(hashToken(Buffer.from(data.share_salt, 'base64'), share))
  return scryptCheck(data.share_check, share)
}

/** A share record's optional key field: absent rather than empty, so that files without keys read as before. */
function keysField(fingerprints: readonly string[] | undefined): { pgp_keys?: string[] } {
  return fingerprints?.length ? { pgp_keys: [...fingerprints] } : {}
}

/** What a share record holds besides its check value. */
export interface ShareFacts {
  x: number
  holder: string | null
  /** The fingerprints of the PGP key the share is encrypted to. */
  pgpKeys?: readonly string[]
}

/**
 * A new format-3 registry for freshly split shares: a fresh salt and, per
 * share, its record with its scrypt check value.
 */
export async function newRegistry(shares: ReadonlyArray<{ share: Uint8Array; facts: ShareFacts }>): Promise<{ share_check: ScryptParams; issued_shares: ShareRecord[] }> {
  const params: ScryptParams = { ...SCRYPT_WRITTEN, salt: newSalt().toString('base64') }
  const checks = await Promise.all(shares.map((s) => scryptCheck(params, s.share)))
  return {
    share_check: params,
    issued_shares: shares.map(({ facts }, i) => ({ x: facts.x, holder: facts.holder, check: checks[i]!.toString('base64'), ...keysField(facts.pgpKeys) })),
  }
}

/**
 * Which issued share `share` (canonical bytes) says it is, from its number
 * alone (its x coordinate), its check value not derived: refused for a wrong
 * length, a share an earlier generation issued ('share_replaced') or a number
 * this keyset never issued ('share_unknown'). `checked` is
 * false: nothing proved the share yet.
 */
export async function identifyShare(data: KeysetData, codec: ShareCodec, share: Buffer): Promise<ShareIdentity> {
  const expected = codec.shareLength(ROOT_KEY_BYTES)
  if (share.length !== expected) {
    throw new TesseraError('share_length', `this share is ${share.length < expected ? 'too short' : 'too long'} for this keyset (${share.length} bytes; its shares have ${expected}): a character is missing or extra`)
  }
  const x = codec.id(share)
  if (data.tessera_keyset === 1) {
    const at = data.issued_share_ids.indexOf(x)
    return { number: at >= 0 ? at + 1 : null, holder: null, checked: false }
  }
  const at = data.issued_shares.findIndex((r) => r.x === x)
  if (at < 0) {
    await refuseIfReplaced(earlierOf(data), x, share, 'this keyset')
    throw new TesseraError('share_unknown', 'this share is not from this keyset: it carries a share number this keyset never issued')
  }
  return { number: at + 1, holder: data.issued_shares[at]!.holder, checked: false }
}

/**
 * Tells which issued share `share` (canonical bytes) is, or refuses it with the
 * reason: those of identifyShare, or a check value that does not match (a
 * typing mistake, or a share an earlier generation issued). Format 1 records
 * no check values: only the length is checked.
 */
export async function recognizeShare(data: KeysetData, codec: ShareCodec, share: Buffer): Promise<ShareIdentity> {
  const identity = await identifyShare(data, codec, share)
  if (data.tessera_keyset === 1) return identity
  const record = data.issued_shares[identity.number! - 1]!
  // The share's number is in the share: only that one share's check value is derived.
  if (!sameBytes(Buffer.from(record.check, 'base64'), await checkValue(data, share))) {
    await refuseIfReplaced(earlierOf(data), codec.id(share), share, 'this keyset')
    throw new TesseraError('share_mismatch', `this does not match ${shareLabel(identity)} — probably a typing mistake`)
  }
  return { ...identity, checked: true }
}

/** The check value an earlier generation recorded for `share`; null when it recorded none (format 1). */
async function earlierCheck(generation: EarlierGeneration, share: Uint8Array): Promise<Buffer | null> {
  if (generation.share_check) return scryptCheck(generation.share_check, share)
  if (generation.share_salt) return hashToken(Buffer.from(generation.share_salt, 'base64'), share)
  return null
}

function earlierOf(data: KeysetData): readonly EarlierGeneration[] {
  return data.tessera_keyset === 4 ? data.earlier_generations : []
}

/**
 * Refuses a share that one of `earlier` (a keyset's or a server check file's
 * earlier generations, oldest first) issued, saying so and when it was
 * replaced: a holder who kept the old share is told why, never that it is
 * foreign. `whose` names what the generations are of ("this keyset"). Only
 * the generations that issued this share's number (`x`; a generation of one
 * share issued whatever a single key carries) derive a check value, newest first.
 */
export async function refuseIfReplaced(earlier: readonly EarlierGeneration[], x: number, share: Uint8Array, whose: string): Promise<void> {
  for (const generation of [...earlier].reverse()) {
    const record = generation.shares.length === 1 ? generation.shares[0] : generation.shares.find((r) => r.x === x)
    const check = record && (await earlierCheck(generation, share))
    if (record && check && sameBytes(Buffer.from(record.check, 'base64'), check)) {
      throw new TesseraError('share_replaced', `this share is from generation ${generation.generation} of ${whose}; it was replaced on ${generation.replaced_at.slice(0, 10)}: ` +
          'a rekey made new shares, and only those open it now')
    }
  }
}

/** The issued shares, numbered from 1 in the order issued (format 1: as recorded, without holders). */
export function listShares(data: KeysetData): Array<{ number: number; holder: string | null }> {
  if (data.tessera_keyset === 1) return data.issued_share_ids.map((_, i) => ({ number: i + 1, holder: null }))
  return data.issued_shares.map(({ holder }, i) => ({ number: i + 1, holder }))
}

/** The shares whose holder's PGP key is recorded, with its fingerprints (format 1 records none). */
export function holderKeys(data: KeysetData): Array<{ number: number; holder: string | null; fingerprints: readonly string[] }> {
  if (data.tessera_keyset === 1) return []
  return data.issued_shares.flatMap((r, i) => (r.pgp_keys ? [{ number: i + 1, holder: r.holder, fingerprints: r.pgp_keys }] : []))
}

/** The lowest x coordinate neither issued nor in `exclude`; undefined when all are taken. */
export function freeX(data: KeysetData, exclude: readonly number[]): number | undefined {
  const issued = data.tessera_keyset === 1 ? data.issued_share_ids : data.issued_shares.map((r) => r.x)
  const used = new Set([...issued, ...exclude])
  for (let n = 1; n <= MAX_SHARE_ID; n++) if (!used.has(n)) return n
  return undefined
}

/** `data` with one more share recorded (its check value derived from `share`), and that share's number and holder. */
export async function recordShare(data: KeysetData, share: Uint8Array, facts: ShareFacts): Promise<{ data: KeysetData; number: number; holder: string | null }> {
  if (data.tessera_keyset === 1) {
    // Format 1 records numbers only.
    return { data: { ...data, issued_share_ids: [...data.issued_share_ids, facts.x] }, number: data.issued_share_ids.length + 1, holder: null }
  }
  const check = (await checkValue(data, share)).toString('base64')
  const record = { x: facts.x, holder: facts.holder, check, ...keysField(facts.pgpKeys) }
  return { data: { ...data, issued_shares: [...data.issued_shares, record] }, number: data.issued_shares.length + 1, holder: facts.holder }
}
