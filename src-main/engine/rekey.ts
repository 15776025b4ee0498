import { randomUUID } from 'node:crypto'
import { encryptTo } from '../crypto/pgp'
import { wipe } from '../crypto/wipe'
import { hasCode, TesseraError } from '../support/errors'
import type { ErrorCode } from '../support/error-codes'
import { LEGACY_WORDS, type RekeyWords } from './rekey-words'
import { checkRekeyRequest, type CheckedRekey, type RekeyRequest, type Verification } from './rekey-request'
import { type IssuedShare, type Keyset, type PreparedGeneration, type ShareIdentity } from './keyset'
import { opensKeyring } from './keyring'
import { codecFor, type ShareCodec } from './share-codec'
import { listShares, recognizeShare } from './share-registry'
import { assertOwnShare } from './holders'
import { ShareProgress } from './share-progress'
import type { Serial } from './serial'
import type { RekeyState } from '../rekey-interface'
import type { RekeyBackup } from '../rekey-views'

/** GET sys/rekey/init, field for field. */
export interface RekeyStatus extends RekeyState {
  /** Tessera: every new share must be entered on verify, not a threshold of them. */
  tessera_verify_all?: true
}

/** GET sys/rekey/verify; `tessera_required` is how many new shares complete it (`t`, or `n` when every one is verified). */
export interface VerifyStatus {
  nonce: string
  started: boolean
  t: number
  n: number
  progress: number
  tessera_required: number
}

/** The update that made the new shares: sys/rekey/update's final answer. */
export interface NewShares {
  nonce: string
  complete: true
  keys: string[]
  keys_base64: string[]
  pgp_fingerprints: string[] | null
  backup: boolean
  verification_required: boolean
  verification_nonce?: string
}

/** What a rekey's record says it asked for: a checked request, or a server's answer to one. */
export type RekeyParameters = Pick<CheckedRekey, 'shares' | 'threshold' | 'backup' | 'verification' | 'holders'> & {
  recipients: ReadonlyArray<{ fingerprint: string }>
}

/** What a rekey did, for its record: never a share or a key. */
export type RekeyEvent =
  | { type: 'started'; nonce: string; rekey: RekeyParameters; required: number }
  | { type: 'share_accepted'; phase: 'rekey' | 'verify'; share: ShareIdentity; progress: number; required: number }
  | { type: 'share_refused'; phase: 'rekey' | 'verify'; code: ErrorCode; progress: number }
  | { type: 'shares_issued'; shares: Array<{ number: number; holder: string | null; fingerprint?: string }>; verification: Verification }
  | { type: 'verification_failed' }
  | { type: 'completed'; generation: number; keyringCiphertext: string; shares: number; threshold: number }
  | { type: 'cancelled'; what: 'rekey' | 'verification' }

interface Running extends CheckedRekey {
  nonce: string
  /** The current shares entered toward the current threshold. */
  progress: ShareProgress
  /** Set once the new shares are made and wait for verification, or by a restart of the verification. */
  verificationNonce: string
  pending: { next: PreparedGeneration; progress: ShareProgress } | null
  /** The backup of the new shares once made: it outlives the rekey only if they take effect. */
  madeBackup: RekeyBackup | null
}

/**
 * Vault's legacy rekey (sys/rekey/{init,update,verify,backup}) over a keyset:
 * one rekey at a time, in memory until it completes. Every share is checked as
 * it is entered (a refused one never counts); the keyset changes in one locked
 * write at the moment the new shares take effect. Callers check sealed first.
 */
export class Rekeying {
  private running: Running | null = null
  /** The backup of the shares in effect, made by the rekey that put them there. */
  private backup: RekeyBackup | null = null
  private observer: (event: RekeyEvent) => Promise<void> = async () => undefined

  constructor(
    private readonly keyset: Keyset,
    private readonly serial: Serial,
    /** Tells which current share an entered one is, or refuses it, another named holder's too (LocalEngine.admitShare). */
    private readonly admit: (share: Buffer, holder?: string) => Promise<ShareIdentity>,
    /** Which API's words: Vault's sys/rekey or OpenBao's sys/rotate/root. */
    readonly words: RekeyWords = LEGACY_WORDS,
  ) {}

  /** Where the rekey's events go (its record); a failure to record fails the call that caused it. */
  observe(observer: (event: RekeyEvent) => Promise<void>): void {
    this.observer = observer
  }

  /** A key as sent (hex, base64, a share card …) in canonical bytes, with Vault's refusals; the caller wipes `typed`. */
  parse(typed: Buffer): Buffer {
    if (typed.length === 0) throw new TesseraError('missing_key', "'key' must be specified in request body as JSON")
    return this.keyset.parseShare(typed)
  }

  status(): RekeyStatus {
    const r = this.running
    return {
      nonce: r?.nonce ?? '',
      started: r !== null,
      t: r?.threshold ?? 0,
      n: r?.shares ?? 0,
      progress: r?.progress.count ?? 0,
      required: this.keyset.threshold,
      pgp_fingerprints: r?.recipients.length ? r.recipients.map((k) => k.fingerprint) : null,
      backup: r?.backup ?? false,
      verification_required: r ? r.verification !== 'none' : false,
      ...(r?.verificationNonce ? { verification_nonce: r.verificationNonce } : {}),
      ...(r?.verification === 'all' ? { tessera_verify_all: true as const } : {}),
    }
  }

  /** sys/rekey/init's checks before the sealed check, in Vault's order; nothing changes. */
  check(req: RekeyRequest): Promise<CheckedRekey> {
    return checkRekeyRequest(req, this.words)
  }

  start(rekey: CheckedRekey): Promise<RekeyStatus> {
    return this.serial.run(async () => {
      if (this.running) throw new TesseraError('rekey_in_progress', this.words.inProgress)
      const nonce = randomUUID()
      this.running = { ...rekey, nonce, progress: new ShareProgress(), verificationNonce: '', pending: null, madeBackup: null }
      await this.record({ type: 'started', nonce, rekey, required: this.keyset.threshold }, () => this.drop())
      return this.status()
    })
  }

  /** sys/rekey/update: one current share (canonical bytes, now owned here) toward the current threshold, entered by `holder` where named. */
  update(key: Buffer, nonce: string, holder?: string): Promise<RekeyStatus | NewShares> {
    return this.serial.run(async () => {
      const r = this.running
      try {
        if (!r) throw new TesseraError('no_rekey', this.words.noneOnUpdate)
        if (r.pending) {
          throw new TesseraError('rekey_verify_pending', this.words.verificationPending(r.verificationNonce))
        }
        if (nonce !== r.nonce) throw new TesseraError('wrong_nonce', this.words.wrongNonce(r.nonce))
        if (r.progress.has(key)) throw new TesseraError('duplicate_key', this.words.duplicate)
      } catch (err) {
        wipe(key)
        throw err
      }
      const share = await this.admitted('rekey', r.progress, key, () => this.admit(key, holder))
      const required = this.keyset.threshold
      await this.record({ type: 'share_accepted', phase: 'rekey', share, progress: r.progress.count, required })
      if (r.progress.count < required) return this.status()
      return this.makeShares(r, r.progress.takeAll())
    })
  }

  /** sys/rekey/verify: one new share (canonical bytes, now owned here) toward the verification, entered by `holder` where named. */
  verify(key: Buffer, nonce: string, holder?: string): Promise<VerifyStatus | { nonce: string; complete: true }> {
    return this.serial.run(async () => {
      const r = this.running
      try {
        if (!r) throw new TesseraError('no_rekey', this.words.noneOnVerify)
        if (!r.pending) throw new TesseraError('no_rekey_verification', this.words.noVerification)
        if (nonce !== r.verificationNonce) throw new TesseraError('wrong_nonce', `incorrect nonce supplied; nonce for this verify operation is "${r.verificationNonce}"`)
        if (r.pending.progress.has(key)) throw new TesseraError('duplicate_key', 'given key has already been provided during this verify operation')
      } catch (err) {
        wipe(key)
        throw err
      }
      const { next, progress } = r.pending
      const codec = codecFor(next.header.scheme, r.threshold)
      const share = await this.admitted('verify', progress, key, async () => {
        const known = await recognizeShare(next.preview, codec, key)
        assertOwnShare(known, holder, listShares(next.preview))
        return known
      })
      const required = r.verification === 'all' ? r.shares : r.threshold
      await this.record({ type: 'share_accepted', phase: 'verify', share, progress: progress.count, required })
      if (progress.count < required) return this.verifyStatus()
      const shares = progress.takeAll()
      let combined: Buffer | undefined
      try {
        combined = await codec.combine(shares).catch(() => {
          throw new TesseraError('rekey_verify_failed', 'failed to compute key for verification: the new shares do not combine')
        })
        if (!opensKeyring(combined, next.keyring, next.header)) {
          // As Vault: the rekey and its new shares stay; the verification starts over under a new nonce.
          r.verificationNonce = randomUUID()
          await this.record({ type: 'verification_failed' })
          throw new TesseraError('rekey_verify_failed', this.words.verificationFailed)
        }
        const done = { nonce: r.verificationNonce, complete: true as const }
        await this.takeEffect(next)
        return done
      } finally {
        wipe(...shares, combined)
      }
    })
  }

  verifyStatus(): VerifyStatus {
    const r = this.running
    if (!r) throw new TesseraError('no_rekey', this.words.noConfiguration)
    return {
      nonce: r.verificationNonce,
      started: r.pending !== null,
      t: r.threshold,
      n: r.shares,
      progress: r.pending?.progress.count ?? 0,
      tessera_required: r.verification === 'all' ? r.shares : r.threshold,
    }
  }

  /** DELETE sys/rekey/verify: the verification starts over under a new nonce; the rekey and its new shares stay. */
  restartVerification(): Promise<VerifyStatus> {
    return this.serial.run(async () => {
      const r = this.running
      if (r) {
        r.verificationNonce = randomUUID()
        r.pending?.progress.clear()
        await this.record({ type: 'cancelled', what: 'verification' })
      }
      return this.verifyStatus()
    })
  }

  /** Puts held new shares in effect once they were handed out (a rekey started with `hold` and no verification). */
  release(): Promise<void> {
    return this.serial.run(async () => {
      const pending = this.running?.verification === 'none' ? this.running.pending : null
      if (!pending) throw new TesseraError('no_rekey_verification', this.words.noVerification)
      await this.takeEffect(pending.next)
    })
  }

  /** DELETE sys/rekey/init: nothing changed, shares entered wiped, new shares void; no error when none runs. */
  cancel(): Promise<void> {
    return this.serial.run(async () => {
      if (!this.running) return
      this.drop()
      await this.record({ type: 'cancelled', what: 'rekey' })
    })
  }

  /**
   * The backup of the running rekey's new shares once made (Vault stores it at
   * that update too), else that of the shares in effect; null when there is
   * none. Unlike Vault's, a cancelled rekey's backup goes with it, and does not
   * replace the backup of the shares in effect; shares replaced by a rekey that
   * kept none leave no backup. Kept in memory only.
   */
  readBackup(): RekeyBackup | null {
    return this.running?.madeBackup ?? this.backup
  }

  deleteBackup(): void {
    this.backup = null
    if (this.running) this.running.madeBackup = null
  }

  /** Drops the rekey and wipes what it holds, unrecorded: the engine is closing. */
  close(): Promise<void> {
    return this.serial.run(() => this.drop())
  }

  private drop(): void {
    this.running?.progress.clear()
    this.running?.pending?.progress.clear()
    this.running = null
  }

  /** Admits `key` into `progress`, or records the refusal and rethrows it: a refused share never counts. */
  private async admitted(phase: 'rekey' | 'verify', progress: ShareProgress, key: Buffer, admit: () => Promise<ShareIdentity>): Promise<ShareIdentity> {
    try {
      const share = await admit()
      progress.add(key)
      return share
    } catch (err) {
      wipe(key)
      const code = err instanceof TesseraError ? err.code : 'internal'
      await this.record({ type: 'share_refused', phase, code, progress: progress.count })
      throw err
    }
  }

  /** At the current threshold: the new generation made, handed out, and put in effect unless it waits for verification. */
  private async makeShares(r: Running, shares: Buffer[]): Promise<NewShares> {
    let combined: Buffer | undefined
    let made: Awaited<ReturnType<Keyset['prepareGeneration']>> = null
    try {
      combined = await this.keyset.codec.combine(shares).catch((err: Error) => {
        throw new TesseraError('rekey_failed', err.message)
      })
      made = await this.keyset.prepareGeneration(combined, { ...r, holderKeys: r.recipients.map((k) => k.keyFingerprints) })
      if (!made) {
        throw new TesseraError('rekey_failed', 'failed to read root key: invalid key: failed to decrypt keys from storage: cipher: message authentication failed')
      }
      const forms = await handOut(made.shares, r, codecFor(this.keyset.scheme, r.threshold))
      const fingerprints = r.recipients.map((k) => k.fingerprint)
      if (r.backup) r.madeBackup = backupOf(r.nonce, fingerprints, forms)
      const issued = made.shares.map((s, i) => ({ number: s.number, holder: s.holder, ...(fingerprints[i] ? { fingerprint: fingerprints[i] } : {}) }))
      await this.record({ type: 'shares_issued', shares: issued, verification: r.verification })
      const answer: NewShares = {
        nonce: r.nonce,
        complete: true,
        keys: forms.map((f) => f.key),
        keys_base64: forms.map((f) => f.key_base64),
        pgp_fingerprints: fingerprints.length ? fingerprints : null,
        backup: r.backup,
        verification_required: r.verification !== 'none',
      }
      if (r.verification === 'none' && !r.hold) {
        await this.takeEffect(made.next)
        return answer
      }
      r.verificationNonce = randomUUID()
      r.pending = { next: made.next, progress: new ShareProgress() }
      return { ...answer, verification_nonce: r.verificationNonce }
    } finally {
      wipe(...shares, combined, ...(made?.shares.map((s) => s.share) ?? []))
    }
  }

  /** The one write: the keyset moves to its next generation. A rekey another program completed first ends this one. */
  private async takeEffect(next: PreparedGeneration): Promise<void> {
    try {
      await this.keyset.commitGeneration(next)
    } catch (err) {
      if (hasCode(err, 'rekey_superseded')) this.drop()
      throw err
    }
    this.backup = this.running?.madeBackup ?? null
    this.drop()
    // The new shares are in effect: an unrecorded completion must not take them from their holders.
    const { generation, keyringCiphertext, shares, threshold } = this.keyset
    await this.record({ type: 'completed', generation, keyringCiphertext, shares, threshold }).catch(() => undefined)
  }

  /** Records `event`; when that fails, `undo` runs and the call fails: a ceremony that leaves no record stops. */
  private async record(event: RekeyEvent, undo?: () => void): Promise<void> {
    try {
      await this.observer(event)
    } catch (err) {
      undo?.()
      throw err
    }
  }
}

/** Vault's two spellings of each new share: the share's, or with PGP the message's whose plaintext is the share's text. */
async function handOut(shares: IssuedShare[], r: Running, codec: ShareCodec): Promise<Array<{ key: string; key_base64: string }>> {
  return Promise.all(
    shares.map(async (s, i) => {
      const recipient = r.recipients[i]
      if (!recipient) return codec.forms(s.share)
      const text = codec.text(s.share)
      try {
        const message = Buffer.from(await encryptTo(recipient.key, text))
        return { key: message.toString('hex'), key_base64: message.toString('base64') }
      } finally {
        wipe(text)
      }
    }),
  )
}

function backupOf(nonce: string, fingerprints: string[], forms: Array<{ key: string; key_base64: string }>): RekeyBackup {
  const keys: Record<string, string[]> = {}
  const keysBase64: Record<string, string[]> = {}
  fingerprints.forEach((fp, i) => {
    ;(keys[fp] ??= []).push(forms[i]!.key)
    ;(keysBase64[fp] ??= []).push(forms[i]!.key_base64)
  })
  return { nonce, keys, keys_base64: keysBase64 }
}
