import { randomUUID } from 'node:crypto'
import type { AttemptStatus, Flow } from '../backend'
import { encryptTo, type PublicKeyInfo } from '../crypto/pgp'
import { xorBytes } from '../crypto/otp'
import { wipe } from '../crypto/wipe'
import { TesseraError } from '../support/errors'
import type { ShareIdentity } from './keyset'
import { ShareProgress } from './share-progress'

/** Why shares that combine are refused when they do not open the keyset, after Vault's "aborted". */
const MISMATCH =
  "the shares given do not reconstruct this keyset's root key (a foreign or mistyped share); progress was reset, the attempt and its nonce remain: enter the shares again"

/** What one flow contributes to the shared attempt machine (Vault's GenerateRootStrategy). */
export interface Strategy {
  readonly flow: Flow
  /** How errors name the operation: "root generation", "share generation". */
  readonly noun: string
  /** Characters in a server-generated OTP: the length of the value it protects (0: no OTP). */
  otpLength(): number
  /**
   * How the result travels when no pgp_key is given: XORed with a server OTP
   * (generate-root, generate-recovery-token), or as is (generate-share, whose
   * API document has no OTP and returns the share as sys/init returns keys).
   */
  readonly unencrypted: 'otp' | 'clear'
  /** generate-share's document lists only `key` for an update: a missing nonce is accepted, a given one checked. */
  readonly nonceOptional: boolean
  /** Refuses a start or an update when the flow cannot run now; throws an TesseraError. */
  assertAvailable(): void
  /** Whether the combined key is the keyset's (a recovery token's flow then unseals). */
  authenticate(combined: Buffer): boolean
  /**
   * Makes the value to protect (for `recipient`'s PGP key, if given); `commit`
   * persists its effects once it is protected. A new share says its number and
   * holder (`issued`): encrypted, it cannot be read back.
   */
  generate(shares: Buffer[], combined: Buffer, recipient?: PublicKeyInfo): Promise<{ value: Buffer; commit(): Promise<void>; issued?: Issued }>
  /** Flow-specific fields of a status, given the protected result when there is one. */
  resultFields(result?: ProtectedResult): Partial<AttemptStatus>
}

/** The share flow's new share, by number and holder; never the share. */
export interface Issued {
  number: number
  holder: string | null
}

export interface ProtectedResult {
  /** The OTP-XORed value, the binary PGP message, or (clear) the value itself. */
  bytes: Buffer
  encoded: string
  clear: boolean
}

/**
 * How the machine learns which issued share a key is, refusing one it must not
 * take (a wrong length, a number never issued, a mistyped share, another holder's share).
 */
export interface Admit {
  /** The share proven by its own check value, where the keyset keeps one (slow on purpose: see docs/security.md). */
  checked(key: Buffer): Promise<ShareIdentity>
  /**
   * The share its number names, its check value not derived: for the share that
   * completes the set, which the combination proves. A refusal it makes must hold
   * of the share as typed, not of the number a typing mistake may have made.
   */
  named(key: Buffer): Promise<ShareIdentity>
  /** Whether `checked` proves a share one by one (format 1 keeps no check values). */
  readonly provesEachShare: boolean
}

export type Protection = { otp: Buffer } | { pgp: PublicKeyInfo } | { clear: true }

interface Attempt {
  strategy: Strategy
  nonce: string
  protection: Protection
  progress: ShareProgress
}

/**
 * The one attempt state machine behind generate-root, generate-share and
 * generate-recovery-token. Like Vault, it holds a single attempt at a time,
 * whichever flow started it. Callers serialize access (see LocalEngine).
 */
export class AttemptMachine {
  private current: Attempt | null = null

  constructor(
    private readonly threshold: () => number,
    private readonly combine: (shares: Buffer[]) => Promise<Buffer>,
  ) {}

  /** Which flow holds the one attempt slot, if any (Vault's status does not say). */
  get runningFlow(): Flow | null {
    return this.current?.strategy.flow ?? null
  }

  status(strategy: Strategy): AttemptStatus {
    const a = this.current
    return {
      nonce: a?.nonce ?? '',
      started: a !== null,
      progress: a?.progress.count ?? 0,
      required: this.threshold(),
      complete: false,
      encoded_token: '',
      encoded_root_token: '',
      pgp_fingerprint: a && 'pgp' in a.protection ? a.protection.pgp.fingerprint : '',
      otp_length: strategy.otpLength(),
      ...strategy.resultFields(),
    }
  }

  start(strategy: Strategy, protection: Protection): string {
    if (this.current !== null) {
      wipeProtection(protection)
      throw new TesseraError('attempt_in_progress', `${this.current.strategy.noun} already in progress`)
    }
    const nonce = randomUUID()
    this.current = { strategy, nonce, protection, progress: new ShareProgress() }
    return nonce
  }

  cancel(): void {
    if (this.current) {
      this.current.progress.clear()
      wipeProtection(this.current.protection)
      this.current = null
    }
  }

  /**
   * Adds one share; `key` is canonical share bytes that this machine now owns.
   * Checks run in Vault's order: attempt, nonce, flow, then a share already
   * given (compared in constant time, as Vault does). Only then does `admit`
   * tell which share it is or refuse it. A refused share never counts, and
   * progress and nonce stay.
   *
   * The share that completes the set is not checked on its own first: the
   * combination proves every share in it (the keyring opens only under the
   * root key the right shares make, and a changed share changes what they
   * make). Its own check runs only when the combination fails, to name it
   * and refuse it as any other mistyped share is refused.
   */
  async update(
    strategy: Strategy,
    key: Buffer,
    nonce: string,
    admit: Admit,
  ): Promise<{ status: AttemptStatus; share: ShareIdentity; issued?: Issued }> {
    const a = this.current
    if (a === null) {
      wipe(key)
      throw new TesseraError('no_attempt', `no ${strategy.noun} in progress`)
    }
    if (nonce !== a.nonce && !(nonce === '' && strategy.nonceOptional && a.strategy === strategy)) {
      wipe(key)
      throw new TesseraError('wrong_nonce', `incorrect nonce supplied; nonce for this ${a.strategy.noun} operation is "${a.nonce}"`)
    }
    if (strategy !== a.strategy) {
      wipe(key)
      throw new TesseraError('wrong_flow', 'incorrect strategy supplied; a generate root operation of another type is already in progress')
    }
    if (a.progress.has(key)) {
      wipe(key)
      throw new TesseraError('duplicate_key', 'given key has already been provided during this generation operation')
    }
    const required = this.threshold()
    const progress = a.progress.count + 1
    const completes = progress >= required
    let share: ShareIdentity
    try {
      share = completes ? await admit.named(key) : await admit.checked(key)
    } catch (err) {
      wipe(key)
      throw err
    }
    const base = { ...this.status(strategy), nonce: a.nonce, progress, required }
    if (!completes) {
      a.progress.add(key)
      return { status: base, share }
    }

    const shares = [...a.progress.peek(), key]
    let combined: Buffer
    try {
      combined = await this.proven(strategy, shares)
    } catch (err) {
      // A mistyped last share is refused on its own, as anywhere else, and the progress stays.
      await admit.checked(key).catch((refusal: unknown) => {
        wipe(key)
        throw refusal
      })
      // Every share is right, yet they do not make the root key: as Vault
      // does, the holders start over while the attempt (nonce, OTP or PGP key) stays.
      a.progress.clear()
      wipe(key)
      throw err
    }
    // Once combined, whatever happens next, the holders start over: the shares
    // are this call's now, wiped below with the rest.
    a.progress.takeAll()
    share = { ...share, checked: admit.provesEachShare }
    let value: Buffer | undefined
    try {
      const generated = await strategy.generate(shares, combined, 'pgp' in a.protection ? a.protection.pgp : undefined)
      value = generated.value
      const bytes = await protect(value, a.protection)
      const encoded = 'otp' in a.protection ? xorEncodedText(bytes) : bytes.toString('base64')
      await generated.commit()
      this.cancel()
      const status = {
        ...base,
        complete: true,
        encoded_token: encoded,
        ...strategy.resultFields({ bytes, encoded, clear: 'clear' in a.protection }),
      }
      if ('clear' in a.protection) wipe(bytes)
      return { status, share, ...(generated.issued ? { issued: generated.issued } : {}) }
    } finally {
      wipe(...shares, combined, value)
    }
  }

  /** The root key `shares` make, once the strategy accepted it; wiped and refused otherwise. */
  private async proven(strategy: Strategy, shares: Buffer[]): Promise<Buffer> {
    const combined = await this.combine(shares)
    if (strategy.authenticate(combined)) return combined
    wipe(combined)
    throw new TesseraError('authentication_failed', `${strategy.noun} aborted: ${MISMATCH}`)
  }
}

function wipeProtection(p: Protection): void {
  if ('otp' in p) wipe(p.otp)
}

/** OTP: XOR with the OTP's bytes. PGP: the binary OpenPGP message. Clear: the value itself. */
async function protect(value: Buffer, protection: Protection): Promise<Buffer> {
  if ('clear' in protection) return Buffer.from(value)
  if ('otp' in protection) {
    if (value.length !== protection.otp.length) {
      throw new TesseraError('internal', 'internal error: OTP length does not match the protected value')
    }
    return xorBytes(value, protection.otp)
  }
  return Buffer.from(await encryptTo(protection.pgp.key, value))
}

/** Vault encodes OTP results with unpadded standard base64. */
function xorEncodedText(xored: Buffer): string {
  return xored.toString('base64').replace(/=+$/, '')
}
