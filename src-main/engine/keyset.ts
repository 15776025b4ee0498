import { randomBytes } from 'node:crypto'
import { needsGrammar, readShareText } from './share-card'
import { hasCode, TesseraError } from '../support/errors'
import { codecFor, type ShareCodec } from './share-codec'
import type { Scheme } from './schemes'
import { wipe } from '../crypto/wipe'
import { opensKeyring, resealKeyring, ROOT_KEY_BYTES, sameKeyring, sealKeyring, type KeyringHeader } from './keyring'
import { generationOf, withNextGeneration, type NextGeneration } from './generations'
import { checkHolderName, checkHolders, checkShareConfig, MAX_TOKENS, serialize, type KeysetData, type TokenRecord } from './keyset-format'
import { createKeysetFile, openKeysetFile, readKeysetIfChanged, rewriteKeysetFile, type KeysetSource } from './keyset-file'
import type { HeldLock } from '../support/files'
import { freeX, holderKeys, identifyShare, listShares, newRegistry, recognizeShare, recordShare, type IssuedShare, type ShareCheck, type ShareIdentity } from './share-registry'
import { findTokenRecord, newSalt, newTokenRecord, tokenLimit } from './tokens'

export { checkHolders, checkShareConfig, KEYSET_LIMIT, type TokenRecord } from './keyset-format'
export type { IssuedShare, ShareCheck, ShareIdentity } from './share-registry'

/** What a new set of shares is made for: count, threshold, and per share its holder and PGP key fingerprints. */
export interface ShareSplit {
  shares: number
  threshold: number
  holders?: readonly string[]
  /** Per share, the fingerprints of the PGP key it is encrypted to. */
  holderKeys?: ReadonlyArray<readonly string[]>
}

/** A rekey's next generation, made but not in effect: see `Keyset.prepareGeneration`. */
export interface PreparedGeneration extends NextGeneration {
  /** The keyset as it was when the generation was made: its keyring is what the commit must still find. */
  readonly opened: KeysetData
  /** The keyset as it will be: what recognizes the new shares before they take effect. */
  readonly preview: KeysetData
}

/**
 * Splits `rootKey` into new shares and derives their records; the caller
 * wipes the shares. What init and a rekey share.
 */
async function splitRoot(rootKey: Uint8Array, scheme: Scheme, split: ShareSplit): Promise<{ shares: IssuedShare[]; registry: Awaited<ReturnType<typeof newRegistry>> }> {
  const codec = codecFor(scheme, split.threshold)
  const parts = await codec.split(rootKey, split.shares, split.threshold)
  const shares = parts.map((share, i) => ({ number: i + 1, holder: split.holders?.[i] ?? null, share }))
  const registry = await newRegistry(
    shares.map((s, i) => ({ share: s.share, facts: { x: codec.id(s.share), holder: s.holder, pgpKeys: split.holderKeys?.[i] } })),
  ).catch((err: unknown) => {
    wipe(...parts)
    throw err
  })
  return { shares, registry }
}

/**
 * A keyset file, open: the one thing the rest of Tessera uses. Its parts are
 * the file format (keyset-format), the file on disk (keyset-file), the keyring
 * (keyring), the record of issued shares (share-registry) and tokens (tokens).
 */
export class Keyset {
  private constructor(
    readonly path: string,
    private data: KeysetData,
    /** The file as this process last read or wrote it: `data` came from, or became, this text. */
    private source?: KeysetSource,
  ) {}

  /** The shares' codec: a rekey may change the threshold, and with it the codec. */
  get codec(): ShareCodec {
    return codecFor(this.data.scheme, this.data.secret_threshold)
  }
  /** 1 from init; each completed rekey adds one. */
  get generation(): number {
    return generationOf(this.data)
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
    opts: ShareSplit & { scheme: Scheme; rootToken: Uint8Array },
  ): Promise<{ keyset: Keyset; shares: IssuedShare[]; write: (lock?: HeldLock) => Promise<void> }> {
    checkShareConfig(opts.shares, opts.threshold)
    if (opts.holders) checkHolders(opts.holders, opts.shares)
    const rootKey = randomBytes(ROOT_KEY_BYTES)
    try {
      const { shares, registry } = await splitRoot(rootKey, opts.scheme, opts)
      const header = { scheme: opts.scheme, secret_shares: opts.shares, secret_threshold: opts.threshold }
      const tokenSalt = newSalt()
      const stored = serialize({
        tessera_keyset: 3,
        ...header,
        keyring: sealKeyring(rootKey, header),
        token_salt: tokenSalt.toString('base64'),
        tokens: [newTokenRecord(tokenSalt, opts.rootToken)],
        created_at: new Date().toISOString(),
        ...registry,
        integrity: '',
      })
      const keyset = new Keyset(path, stored.data)
      const write = async (lock?: HeldLock) => {
        keyset.source = await createKeysetFile(path, stored, lock)
      }
      return { keyset, shares, write }
    } finally {
      wipe(rootKey)
    }
  }

  /**
   * A rekey's next generation: a new root key split into `split`'s shares,
   * and this keyset's keyring sealed under it, in memory only (see
   * `commitGeneration`). Null when `oldRoot` does not open this keyset. The
   * caller wipes the shares.
   */
  async prepareGeneration(oldRoot: Uint8Array, split: ShareSplit): Promise<{ shares: IssuedShare[]; next: PreparedGeneration } | null> {
    const header: KeyringHeader = { scheme: this.scheme, secret_shares: split.shares, secret_threshold: split.threshold }
    const newRoot = randomBytes(ROOT_KEY_BYTES)
    try {
      const keyring = resealKeyring(oldRoot, this.data.keyring, this.data, newRoot, header)
      if (!keyring) return null
      const { shares, registry } = await splitRoot(newRoot, this.scheme, split)
      const next = { header, keyring, ...registry }
      const preview = withNextGeneration(this.data, next, new Date().toISOString())
      return { shares, next: { ...next, opened: this.data, preview } }
    } finally {
      wipe(newRoot)
    }
  }

  /**
   * Puts a prepared generation in effect: one locked, atomic rewrite from the
   * file as it is now (tokens minted meanwhile survive). Refused when the file
   * no longer holds the generation it was made from: another program's rekey
   * completed first, and only one ever does.
   */
  async commitGeneration(next: PreparedGeneration): Promise<void> {
    try {
      const written = await rewriteKeysetFile(this.path, next.opened, async (fresh) => withNextGeneration(fresh, next, new Date().toISOString()))
      this.data = written.data
      this.source = written
    } catch (err) {
      if (!hasCode(err, 'keyset_replaced')) throw err
      throw new TesseraError('rekey_superseded', `the rekey was not applied: ${this.path} was rekeyed or replaced by another program since this rekey began; its new shares are void and the shares in effect there still work`)
    }
  }

  static async open(path: string): Promise<Keyset> {
    const source = await openKeysetFile(path)
    return new Keyset(path, source.data, source)
  }

  /** True when `combined` is this keyset's root key: the keyring decrypts and authenticates. */
  verify(combined: Uint8Array): boolean {
    return opensKeyring(combined, this.data.keyring, this.data)
  }

  /**
   * Tells which issued share `share` (canonical bytes) is, its check value
   * derived and compared, or refuses it with the reason (see recognizeShare).
   */
  recognize(share: Buffer): Promise<ShareIdentity> {
    return this.fromCurrentFile(() => recognizeShare(this.data, this.codec, share))
  }

  /**
   * Which issued share `share` says it is, from its number alone, its check
   * value not derived (see identifyShare): for a share that something else
   * proves, as a combination that opens the keyring proves every share in it.
   */
  identify(share: Buffer): Promise<ShareIdentity> {
    return this.fromCurrentFile(async () => identifyShare(this.data, this.codec, share))
  }

  /**
   * A share lookup, run again on the file as it is now when the share's number
   * is unknown here and the file changed since: another program on this keyset
   * may have issued that share.
   */
  private async fromCurrentFile(lookup: () => Promise<ShareIdentity>): Promise<ShareIdentity> {
    try {
      return await lookup()
    } catch (err) {
      if (!(err instanceof TesseraError) || err.code !== 'share_unknown') throw err
      await this.refresh()
      return lookup()
    }
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
    return listShares(this.data)
  }

  /** The shares whose holder's PGP key is recorded, with its fingerprints (format 1 records none). */
  holderKeys(): Array<{ number: number; holder: string | null; fingerprints: readonly string[] }> {
    return holderKeys(this.data)
  }

  /** Finds the stored record for a presented token, comparing hashes in constant time. */
  findToken(token: Uint8Array | string): TokenRecord | undefined {
    return findTokenRecord(Buffer.from(this.data.token_salt, 'base64'), this.data.tokens, token)
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

  /** True while the keyset can record another root token, as far as this process knows. */
  hasRoomForToken(): boolean {
    return this.data.tokens.length < MAX_TOKENS
  }

  async addRootToken(token: Uint8Array): Promise<void> {
    await this.change(async (d) => {
      // A file with more would not load again.
      if (d.tokens.length >= MAX_TOKENS) throw tokenLimit()
      return { ...d, tokens: [...d.tokens, newTokenRecord(Buffer.from(d.token_salt, 'base64'), token)] }
    })
  }

  async removeToken(accessor: string): Promise<void> {
    await this.change(async (d) => ({ ...d, tokens: d.tokens.filter((t) => t.accessor !== accessor) }))
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
  ): Promise<IssuedShare> {
    const holder = to.holder ?? null
    // A name the file's own schema refuses would leave a keyset nobody can open.
    if (holder !== null) checkHolderName(holder, "the new holder's name")
    let share: Buffer | undefined
    let recorded: { number: number; holder: string | null } | undefined
    await this.change(async (d) => {
      const x = freeX(d, exclude)
      if (x === undefined) throw new TesseraError('no_share_slot', 'all 255 share numbers of this keyset are in use; no new share can be made')
      share = await make(x)
      const next = await recordShare(d, share, { x, holder, pgpKeys: to.pgpKeys })
      recorded = next
      return next.data
    }).catch((err) => {
      wipe(share)
      throw err
    })
    return { number: recorded!.number, holder: recorded!.holder, share: share! }
  }

  /** Changes the file under its lock, from the file as it is now: another program's changes survive ours. */
  private async change(apply: (fresh: KeysetData) => Promise<KeysetData>): Promise<void> {
    const written = await rewriteKeysetFile(this.path, this.data, apply)
    this.data = written.data
    this.source = written
  }

  /**
   * Takes another program's changes, reading the file only when it changed
   * since this process last read or wrote it; a file now holding another
   * keyset is left alone.
   */
  private async refresh(): Promise<void> {
    const fresh = await readKeysetIfChanged(this.path, this.source)
    if (!sameKeyring(fresh.data.keyring, this.data.keyring)) return
    this.data = fresh.data
    this.source = fresh
  }
}
