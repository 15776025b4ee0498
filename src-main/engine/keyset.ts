import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import * as v from 'valibot'
import { writeFileAtomic } from '../support/files'
import { TesseraError } from '../support/errors'
import { codecFor, MAX_SHARE_ID, type ShareCodec } from './share-codec'
import { SCHEMES, type Scheme } from './schemes'
import { hashToken, newAccessor, newSalt, sameHash } from './tokens'
import { wipe } from '../crypto/wipe'

/**
 * The keyset file holds only what Vault itself persists: the threshold
 * configuration, a keyring encrypted under the combined key (which is how a
 * wrong set of shares is told from the right one) and token hashes. Never a
 * share, the combined key or a token.
 */
export const KEYSET_FORMAT_VERSION = 1
export const ROOT_KEY_BYTES = 32

const b64 = v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64'))

const TokenRecord = v.strictObject({
  accessor: v.string(),
  hash: b64,
  policies: v.array(v.string()),
  creation_time: v.number(),
})
export type TokenRecord = v.InferOutput<typeof TokenRecord>

const KeysetSchema = v.pipe(
  v.strictObject({
    tessera_keyset: v.literal(KEYSET_FORMAT_VERSION),
    scheme: v.picklist(SCHEMES),
    secret_shares: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255)),
    secret_threshold: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255)),
    issued_share_ids: v.array(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_SHARE_ID))),
    keyring: v.strictObject({ cipher: v.literal('aes-256-gcm'), iv: b64, tag: b64, ciphertext: b64 }),
    token_salt: b64,
    tokens: v.array(TokenRecord),
    created_at: v.string(),
  }),
  v.check((k) => k.secret_threshold <= k.secret_shares, 'secret_threshold exceeds secret_shares'),
)
type KeysetData = v.InferOutput<typeof KeysetSchema>

export class KeysetError extends TesseraError {
  constructor(message: string) {
    super(400, message, 'keyset')
  }
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

function keyringKey(combined: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', combined, Buffer.alloc(0), 'tessera keyring v1', 32))
}

/** The header fields are authenticated with the keyring, so editing them breaks verification. */
function keyringAad(d: Pick<KeysetData, 'scheme' | 'secret_shares' | 'secret_threshold'>): Buffer {
  return Buffer.from(JSON.stringify([KEYSET_FORMAT_VERSION, d.scheme, d.secret_shares, d.secret_threshold]))
}

export class Keyset {
  readonly codec: ShareCodec

  private constructor(
    readonly path: string,
    private data: KeysetData,
  ) {
    this.codec = codecFor(data.scheme, data.secret_threshold)
  }

  get scheme(): Scheme {
    return this.data.scheme
  }
  get shares(): number {
    return this.data.secret_shares
  }
  get threshold(): number {
    return this.data.secret_threshold
  }

  /**
   * Creates a keyset file that must not exist yet. `handOut` receives the new
   * shares (wiped afterwards) and turns them into what holders are given, before
   * anything is written: if that fails, no keyset exists without its shares.
   */
  static async create<T>(
    path: string,
    opts: { shares: number; threshold: number; scheme: Scheme; rootToken: Uint8Array },
    handOut: (shares: Buffer[], codec: ShareCodec) => Promise<T>,
  ): Promise<{ keyset: Keyset; handedOut: T }> {
    checkShareConfig(opts.shares, opts.threshold)
    const rootKey = randomBytes(ROOT_KEY_BYTES)
    const keyring = randomBytes(32)
    let shares: Buffer[] = []
    try {
      const codec = codecFor(opts.scheme, opts.threshold)
      shares = await codec.split(rootKey, opts.shares, opts.threshold)
      const header = { scheme: opts.scheme, secret_shares: opts.shares, secret_threshold: opts.threshold }
      const iv = randomBytes(12)
      const key = keyringKey(rootKey)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      cipher.setAAD(keyringAad(header))
      const ciphertext = Buffer.concat([cipher.update(keyring), cipher.final()])
      wipe(key)
      const salt = newSalt()
      const data: KeysetData = {
        tessera_keyset: KEYSET_FORMAT_VERSION,
        ...header,
        issued_share_ids: opts.threshold === 1 ? [] : shares.map((s) => codec.id(s)),
        keyring: {
          cipher: 'aes-256-gcm',
          iv: iv.toString('base64'),
          tag: cipher.getAuthTag().toString('base64'),
          ciphertext: ciphertext.toString('base64'),
        },
        token_salt: salt.toString('base64'),
        tokens: [rootTokenRecord(salt, opts.rootToken)],
        created_at: new Date().toISOString(),
      }
      const handedOut = await handOut(shares, codec)
      try {
        await writeFileAtomic(path, serialize(data), { overwrite: false })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new KeysetError(`${path} already exists; Tessera never overwrites a keyset`)
        }
        throw new KeysetError(`could not write keyset ${path}: ${(err as Error).message}`)
      }
      return { keyset: new Keyset(path, data), handedOut }
    } finally {
      wipe(rootKey, keyring, ...shares)
    }
  }

  static async open(path: string): Promise<Keyset> {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT') throw new KeysetError(`no keyset at ${path}; create one with tessera init`)
      throw new KeysetError(`could not read keyset ${path}: ${(err as Error).message}`)
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new KeysetError(`${path} is corrupt: not valid JSON`)
    }
    const version = (json as { tessera_keyset?: unknown } | null)?.tessera_keyset
    if (typeof version === 'number' && version > KEYSET_FORMAT_VERSION) {
      throw new KeysetError(
        `${path} uses keyset format ${version}; this Tessera reads format ${KEYSET_FORMAT_VERSION}: upgrade Tessera`,
      )
    }
    const parsed = v.safeParse(KeysetSchema, json)
    if (!parsed.success) {
      const issue = parsed.issues[0]
      const where = issue.path?.map((p) => String(p.key)).join('.') ?? ''
      throw new KeysetError(`${path} is not a valid Tessera keyset: ${where ? `${where}: ` : ''}${issue.message}`)
    }
    return new Keyset(path, parsed.output)
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

  /** Finds the stored record for a presented token, comparing hashes in constant time. */
  findToken(token: Uint8Array | string): TokenRecord | undefined {
    const hash = hashToken(Buffer.from(this.data.token_salt, 'base64'), token)
    return this.data.tokens.find((t) => sameHash(Buffer.from(t.hash, 'base64'), hash))
  }

  async addRootToken(token: Uint8Array): Promise<TokenRecord> {
    const record = rootTokenRecord(Buffer.from(this.data.token_salt, 'base64'), token)
    await this.commit({ ...this.data, tokens: [...this.data.tokens, record] })
    return record
  }

  async removeToken(accessor: string): Promise<void> {
    await this.commit({ ...this.data, tokens: this.data.tokens.filter((t) => t.accessor !== accessor) })
  }

  /** A share index never handed out before, or undefined when all 255 are used. */
  nextShareId(exclude: number[]): number | undefined {
    const used = new Set([...this.data.issued_share_ids, ...exclude])
    for (let id = 1; id <= MAX_SHARE_ID; id++) if (!used.has(id)) return id
    return undefined
  }

  async recordShareId(id: number): Promise<void> {
    await this.commit({ ...this.data, issued_share_ids: [...this.data.issued_share_ids, id] })
  }

  /** The file is written first; memory follows only once the write succeeded. */
  private async commit(next: KeysetData): Promise<void> {
    await writeFileAtomic(this.path, serialize(next), { overwrite: true })
    this.data = next
  }
}

function rootTokenRecord(salt: Uint8Array, token: Uint8Array): TokenRecord {
  return {
    accessor: newAccessor(),
    hash: hashToken(salt, token).toString('base64'),
    policies: ['root'],
    creation_time: Math.floor(Date.now() / 1000),
  }
}

function serialize(data: KeysetData): string {
  return `${JSON.stringify(data, null, 2)}\n`
}
