import { randomUUID } from 'node:crypto'
import { wipe } from '../crypto/wipe'
import { TesseraError } from '../support/errors'
import type { ShareIdentity } from './keyset'
import { ShareProgress } from './share-progress'

export const missingUnsealKey = () => new TesseraError('missing_key', "'key' must be specified in request body as JSON, or 'reset' set to true")

/** Where an unseal stands, in seal status's words. */
export interface UnsealProgress {
  sealed: boolean
  progress: number
  nonce: string
}

/** What one share given to sys/unseal did. */
export interface Unsealed extends UnsealProgress {
  /** The share recognized; null when none was taken (a share given twice, or the server already unsealed). */
  share: ShareIdentity | null
  /** The share was already given toward this unseal: Vault ignores it silently, the record says so. */
  duplicate: boolean
}

/** What unsealing needs of the keyset: tell a share, and combine shares into the key it checks. */
export interface Unsealer {
  readonly threshold: number
  /** Tells which share this is, or refuses it with the reason: every share is checked as entered. */
  admit(share: Buffer): Promise<ShareIdentity>
  /** Combines the shares into the root key; throws a 400 when they cannot be combined. */
  combine(shares: Buffer[]): Promise<Buffer>
  /** True when `combined` opens the keyset. */
  verify(combined: Buffer): boolean
}

/**
 * The barrier's seal, as Vault keeps it: sealed or not, and the shares given
 * toward unsealing (in memory only: a reset, the threshold, a seal or a restart
 * drops them). Unlike Vault, each share is checked as it is entered, and a
 * refused share never counts. Callers serialize access (see LocalEngine).
 */
export class SealState {
  private readonly given = new ShareProgress()
  /** Vault's unseal nonce: made with the first share taken, informational only. */
  private nonce = ''

  constructor(public sealed: boolean) {}

  get progress(): UnsealProgress {
    return this.sealed ? { sealed: true, progress: this.given.count, nonce: this.nonce } : { sealed: false, progress: 0, nonce: '' }
  }

  /** Drops the shares given so far (Vault's `reset: true`); returns how many there were. */
  reset(): number {
    if (!this.sealed) throw new TesseraError('unsealed', 'vault is unsealed')
    const dropped = this.given.count
    this.clear()
    return dropped
  }

  /** Seals the barrier; shares given toward an unseal are wiped. */
  seal(): void {
    this.sealed = true
    this.clear()
  }

  /**
   * Takes one share, canonical bytes this now owns. In Vault's order: already
   * unsealed (the share is not even looked at), a share given twice (ignored),
   * then the share checked; at the threshold the shares are combined and
   * dropped, whatever follows.
   */
  async unseal(key: Buffer, unsealer: Unsealer): Promise<Unsealed> {
    if (!this.sealed || this.given.has(key)) {
      wipe(key)
      return { ...this.progress, share: null, duplicate: this.sealed }
    }
    let share: ShareIdentity
    try {
      share = await unsealer.admit(key)
    } catch (err) {
      wipe(key)
      throw err
    }
    if (this.given.add(key) === 1) this.nonce = randomUUID()
    if (this.given.count < unsealer.threshold) return { ...this.progress, share, duplicate: false }

    const shares = this.given.takeAll()
    this.nonce = ''
    let combined: Buffer | undefined
    try {
      try {
        combined = await unsealer.combine(shares)
      } catch (err) {
        throw err instanceof TesseraError ? new TesseraError('combine_failed', `invalid key: ${err.message}`) : err
      }
      if (!unsealer.verify(combined)) {
        throw new TesseraError('authentication_failed', "unseal failed, invalid key: the shares given do not reconstruct this keyset's root key (a foreign or mistyped share); progress was reset: enter the shares again")
      }
      this.sealed = false
      return { ...this.progress, share, duplicate: false }
    } finally {
      wipe(...shares, combined)
    }
  }

  /** Wipes the shares given toward an unseal, sealed or not (the engine is closing). */
  clear(): void {
    this.given.clear()
    this.nonce = ''
  }
}
