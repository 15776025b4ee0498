import type { AttemptStatus, Flow, SealStatus } from '../backend'
import type { Backend, Started, StartInput, Updated, UpdateInput } from '../backend-interface'
import { randomBase62 } from '../crypto/base62'
import { readPublicKey, type PublicKeyInfo } from '../crypto/pgp'
import { checkOneKeyOneHolder } from './holder-keys'
import { assertOwnShare, claimsAnother } from './holders'
import { VERSION } from '../version'
import { AttemptMachine, type Admit, type Protection, type Strategy } from './attempt'
import { hasCode, TesseraError } from '../support/errors'
import { Keyset, type ShareIdentity, type TokenRecord } from './keyset'
import { isKeyBoundsError } from './share-codec'
import { missingUnsealKey, SealState, type Unsealed, type Unsealer } from './seal'
import { shareLabel } from '../../src-shared/share-grammar'
import { Rekeying } from './rekey'
import { ROTATE_WORDS } from './rekey-words'
import { Serial } from './serial'
import { makeStrategies, type StrategyHost } from './strategies'
import { findTokenRecord, newSalt, newTokenRecord } from './tokens'

export interface EngineOptions {
  /** Offer only the recovery flow, sealed until a recovery token is made (Vault's recovery mode). */
  recovery?: boolean
  /** Start sealed, as a Vault process starts: sys/unseal opens it. */
  sealed?: boolean
}

export interface TokenInfo {
  accessor: string
  policies: string[]
  creation_time: number
  type: 'root' | 'recovery'
}

/**
 * The local attempt engine: Vault's generate-root, generate-share and
 * generate-recovery-token over a keyset file. One machine, one strategy per flow.
 */
export class LocalEngine implements Backend, StrategyHost {
  private readonly seal: SealState
  private readonly unsealer: Unsealer
  /** sys/rekey: new shares for the keyset, each old share checked as entered. */
  readonly rekey: Rekeying
  /** OpenBao's sys/rotate/root: the same ceremony, its own state and words. */
  readonly rotation: Rekeying
  private readonly machine: AttemptMachine
  private readonly strategies: Record<Flow, Strategy>
  private readonly serial = new Serial()
  /** Recovery tokens live in memory only: a restart forgets them, as Vault does. */
  private readonly recoveryTokens: TokenRecord[] = []
  private readonly recoverySalt = newSalt()
  private closed = false
  /** Who gets the new share of the share attempt with this nonce, as its start named them. */
  private namedShare: { nonce: string; holder: string } | null = null

  private constructor(
    readonly keyset: Keyset,
    readonly recoveryMode: boolean,
    startSealed: boolean,
  ) {
    this.seal = new SealState(recoveryMode || startSealed)
    this.unsealer = {
      get threshold() {
        return keyset.threshold
      },
      admit: (share) => this.admitShare(share),
      combine: (shares) => keyset.codec.combine(shares),
      verify: (combined) => keyset.verify(combined),
    }
    this.machine = new AttemptMachine(
      () => keyset.threshold,
      (shares) => keyset.codec.combine(shares),
    )
    this.strategies = makeStrategies(this)
    this.rekey = new Rekeying(keyset, this.serial, (share, holder) => this.admitShare(share, holder))
    this.rotation = new Rekeying(keyset, this.serial, (share, holder) => this.admitShare(share, holder), ROTATE_WORDS)
  }

  /** `sealed`: start sealed, as a Vault process does; unsealed is the default. */
  static async open(path: string, opts: EngineOptions = {}): Promise<LocalEngine> {
    return LocalEngine.fromKeyset(await Keyset.open(path), opts)
  }

  static fromKeyset(keyset: Keyset, opts: EngineOptions = {}): LocalEngine {
    return new LocalEngine(keyset, opts.recovery ?? false, opts.sealed ?? false)
  }

  /** Whether the barrier is sealed: in recovery mode until a recovery token is made, else until unsealed. */
  get sealed(): boolean {
    return this.seal.sealed
  }

  set sealed(value: boolean) {
    if (value) this.seal.seal()
    else this.seal.sealed = false
  }

  /** The flows this engine offers: recovery mode offers only the recovery token. */
  get flows(): Flow[] {
    return this.recoveryMode ? ['recovery'] : ['root', 'share']
  }

  async sealStatus(): Promise<SealStatus> {
    this.assertOpen()
    return {
      type: 'shamir',
      initialized: true,
      t: this.keyset.threshold,
      n: this.keyset.shares,
      ...this.seal.progress,
      version: VERSION,
      recovery_mode: this.recoveryMode,
      flows: this.flows,
    }
  }

  status(flow: Flow): Promise<AttemptStatus> {
    return this.serial.run(() => this.machine.status(this.strategy(flow)))
  }

  async start(flow: Flow, input: StartInput): Promise<Started> {
    const strategy = this.strategy(flow)
    const protection = await this.protectionFor(strategy, input)
    return this.serial.run(() => {
      let sharedKey = false
      try {
        this.assertOpen()
        strategy.assertAvailable()
        if (strategy.flow === 'share' && 'pgp' in protection) sharedKey = this.checkNewHolderKey(protection.pgp, input.allow_shared_key === true)
      } catch (err) {
        if ('otp' in protection) protection.otp.fill(0)
        throw err
      }
      const nonce = this.machine.start(strategy, protection)
      // Tied to the attempt's nonce, so that a later attempt never inherits the name.
      this.namedShare = flow === 'share' && input.new_holder ? { nonce, holder: input.new_holder } : null
      // Only a server-generated OTP is returned, and only this once: a copy the
      // caller owns, while the attempt keeps its own until the result is protected.
      const otp = 'otp' in protection && !input.otp?.length ? Buffer.from(protection.otp) : null
      return { status: this.machine.status(strategy), otp, ...(sharedKey ? { sharedKey } : {}) }
    })
  }

  /** One key, one holder: a new share for a key that already holds a share of this keyset is refused unless allowed. */
  private checkNewHolderKey(key: PublicKeyInfo, allowShared: boolean): boolean {
    const holders = this.keyset.holderKeys().map((h) => ({ label: shareLabel(h), fingerprints: h.fingerprints }))
    return checkOneKeyOneHolder(holders, [{ label: 'the new share', fingerprints: key.keyFingerprints }], allowShared)
  }

  async cancel(flow: Flow): Promise<void> {
    this.strategy(flow)
    await this.serial.run(() => {
      this.assertOpen()
      this.machine.cancel()
    })
  }

  /**
   * Cancels the running attempt, which wipes the shares collected and its OTP,
   * wipes the shares given toward an unseal, and refuses every later call.
   * Operations already under way finish first, so that a result being
   * protected is never cut in half. What the engine
   * knows of tokens (salted hashes, no secret) still answers `lookupToken`, so a
   * result the session keeps can still be checked against this keyset.
   */
  async close(): Promise<void> {
    this.closed = true
    await this.serial.run(() => {
      this.machine.cancel()
      this.seal.clear()
    })
    await this.rekey.close()
    await this.rotation.close()
  }

  /** Adds a share, and says which share it recognized (see `ownedBy`). */
  async update(flow: Flow, input: UpdateInput): Promise<Updated> {
    const holder = input.holder
    const strategy = this.strategy(flow)
    if (!Buffer.isBuffer(input.key) || input.key.length === 0) {
      throw new TesseraError('missing_key', "'key' must be specified in request body as JSON")
    }
    const key = this.keyset.parseShare(input.key)
    const admit: Admit = {
      checked: (share) => this.admitShare(share, holder),
      // A share whose number says it is another holder's is checked first: a
      // typing mistake in its number is a mistyped share, not someone else's.
      named: async (share) => {
        const known = await this.keyset.identify(share)
        return this.claimsAnother(known, holder) ? this.admitShare(share, holder) : known
      },
      provesEachShare: this.keyset.canCheckShares,
    }
    return this.serial.run(async () => {
      try {
        this.assertOpen()
        strategy.assertAvailable()
      } catch (err) {
        key.fill(0)
        throw err
      }
      const updated = await this.machine.update(strategy, key, String(input.nonce ?? ''), admit)
      // A threshold-1 keyset's one share is the key itself: the new share is the one just given.
      const one = flow === 'share' && updated.status.complete && !updated.issued && updated.share.number !== null
      return one ? { ...updated, issued: { number: updated.share.number!, holder: updated.share.holder } } : updated
    })
  }

  /**
   * Tells which share of the keyset `share` is, proven by its check value, or
   * refuses it: what every quorum operation does with each share as it is given.
   */
  async admitShare(share: Buffer, holder?: string): Promise<ShareIdentity> {
    return this.ownedBy(await this.keyset.recognize(share), holder)
  }

  /**
   * With `holder`, a holder who enters another named holder's share is refused,
   * so the record of who gave which share stays true. A name the keyset does not
   * know ("Carol S.") is a spelling, not a claim to someone's share.
   */
  private ownedBy(known: ShareIdentity, holder?: string): ShareIdentity {
    assertOwnShare(known, holder, this.keyset.listShares())
    return known
  }

  private claimsAnother(known: ShareIdentity, holder?: string): boolean {
    return claimsAnother(known, holder, this.keyset.listShares())
  }

  /**
   * sys/unseal: takes one share as typed. In Vault's order: no key, a key that
   * is neither hex nor base64, already unsealed (the key's length not even
   * checked), the length, then the share itself (see SealState.unseal).
   */
  async unseal(typed: Buffer): Promise<Unsealed> {
    if (!Buffer.isBuffer(typed) || typed.length === 0) {
      throw missingUnsealKey()
    }
    return this.serial.run(async () => {
      this.assertOpen()
      this.assertNotRecovery('sys/unseal')
      let key: Buffer
      try {
        key = this.keyset.parseShare(typed)
      } catch (err) {
        if (!isKeyBoundsError(err)) throw err
        if (!this.seal.sealed) return { ...this.seal.progress, share: null, duplicate: false }
        throw new TesseraError('invalid_key', `invalid key: ${err.message}`)
      }
      return this.seal.unseal(key, this.unsealer)
    })
  }

  /** sys/unseal with `reset`: drops the shares given toward the unseal; returns how many there were. */
  async resetUnseal(): Promise<number> {
    return this.serial.run(() => {
      this.assertOpen()
      this.assertNotRecovery('sys/unseal')
      return this.seal.reset()
    })
  }

  /**
   * sys/seal: seals the barrier. An attempt under way stays, as Vault keeps a
   * generate-root attempt: every call answers "sealed" until the next unseal.
   * A rekey does not: as Vault's preSeal clears its rekey, it is cancelled.
   */
  async sealBarrier(): Promise<void> {
    await this.serial.run(() => {
      this.assertOpen()
      this.assertNotRecovery('sys/seal')
      this.seal.seal()
    })
    await this.rekey.cancel()
    await this.rotation.cancel()
  }

  /** Looks a presented token up among the keyset's root tokens and this run's recovery tokens. */
  async lookupToken(token: string): Promise<TokenInfo | undefined> {
    const root = await this.keyset.findTokenCurrent(token)
    if (root) return { ...root, type: 'root' }
    const recovery = findTokenRecord(this.recoverySalt, this.recoveryTokens, token)
    return recovery && { ...recovery, type: 'recovery' }
  }

  async revokeToken(token: string): Promise<boolean> {
    return this.serial.run(async () => {
      const found = await this.lookupToken(token)
      if (!found) return false
      if (found.type === 'root') await this.keyset.removeToken(found.accessor)
      else this.recoveryTokens.splice(this.recoveryTokens.findIndex((t) => t.accessor === found.accessor), 1)
      return true
    })
  }

  addRecoveryToken(token: Buffer): void {
    this.recoveryTokens.push(newTokenRecord(this.recoverySalt, token))
  }

  get newShareHolder(): string | null {
    const named = this.namedShare
    if (!named || this.runningFlow !== 'share') return null
    return this.machine.status(this.strategies.share).nonce === named.nonce ? named.holder : null
  }

  /** The flow whose attempt is running: the local engine knows what a Vault status omits. */
  get runningFlow(): Flow | null {
    return this.machine.runningFlow
  }

  /** Throws the flow's 404 when this engine does not offer it. */
  assertOffered(flow: Flow): void {
    this.strategy(flow)
  }

  private assertNotRecovery(path: string): void {
    if (this.recoveryMode) throw new TesseraError('unsupported_flow', `${path} is not available while the engine runs in recovery mode`)
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new TesseraError('backend_closed', `the keyset ${this.keyset.path} was closed (another backend was opened, or Tessera is stopping): open it again`)
    }
  }

  private strategy(flow: Flow): Strategy {
    this.assertOpen()
    const strategy = this.strategies[flow]
    if (!strategy || !this.flows.includes(flow)) {
      // Raising the flow's own refusal keeps one wording per flow.
      strategy?.assertAvailable()
      throw new TesseraError('unsupported_flow', `unknown flow "${String(flow)}"`)
    }
    return strategy
  }

  private async protectionFor(strategy: Strategy, input: StartInput): Promise<Protection> {
    const otp = input.otp ?? Buffer.alloc(0)
    const pgpKey = input.pgp_key ?? ''
    if (!Buffer.isBuffer(otp) || typeof pgpKey !== 'string') {
      throw new TesseraError('invalid_input', "'otp' and 'pgp_key' must be strings")
    }
    if (otp.length > 0 && strategy.unencrypted === 'clear') {
      throw new TesseraError('otp_not_accepted', `${strategy.noun} takes no otp: the result is returned as sys/init returns keys, or encrypted to a pgp_key`)
    }
    if (otp.length > 0 && pgpKey) {
      throw new TesseraError('invalid_input', 'give either otp or pgp_key, not both: the result can be protected one way only')
    }
    if (otp.length > 0) {
      if (otp.length !== strategy.otpLength()) throw new TesseraError('otp_length', 'OTP string is wrong length')
      // The attempt's own copy: the caller wipes what it gave.
      return { otp: Buffer.from(otp) }
    }
    if (pgpKey) {
      try {
        return { pgp: await readPublicKey(pgpKey) }
      } catch (err) {
        const reason = hasCode(err, 'pgp') ? err.message : 'unreadable key'
        throw new TesseraError('invalid_pgp_key', `error parsing PGP key: ${reason}`)
      }
    }
    return strategy.unencrypted === 'clear' ? { clear: true } : { otp: randomBase62(strategy.otpLength()) }
  }
}
