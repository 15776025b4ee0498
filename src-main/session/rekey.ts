import { readPublicKey } from '../crypto/pgp'
import type { KeyInfo } from '../crypto/views'
import { wipe } from '../crypto/wipe'
import type { ShareIdentity } from '../engine/keyset'
import type { RekeyRecord, ServerCompleted } from '../record/rekey-record'
import type { ServerChecks } from '../profiles/server-checks'
import type { IssuedShares, RecognizedShare, RekeyConfig, Rekeyer, RekeyState, Verification } from '../rekey-interface'
import type { RekeyBackup } from '../rekey-views'
import { ERRORS } from '../support/error-codes'
import { hasCode, TesseraError } from '../support/errors'
import { forOperator } from '../support/plain-errors'
import { shareLabel } from '../../src-shared/share-grammar'
import type { CeremonySession } from './ceremony-session'
import type { HandOut } from './hand-out'
import { keyInfo } from './keys'
import type { OpenBackend } from './open-backend'
import type { Records } from './records'
import { rekeyHandOut } from './rekey-hand-out'
import type { HandOutProgress, LogEntry, RekeyView } from './views'

/** What a share entered toward the rekey or its verification did. */
export interface Entered {
  view: RekeyView
  share?: RecognizedShare
  /** The new shares took effect. */
  complete: boolean
}

/** Why a server's rekey started here is no longer followed, where how it ended is not known. */
type NotFollowed = 'not_running' | 'other_connection'

const NOT_FOLLOWED_WORDS: Record<NotFollowed, string> = {
  not_running: 'the server no longer runs this rekey: it completed or was cancelled elsewhere, or the server was sealed or restarted',
  other_connection: 'this rekey is no longer followed here: the server keeps it until it completes or is cancelled',
}

/** The rekey this window started, on the backend it started on. */
interface Running {
  rekeyer: Rekeyer
  open: OpenBackend
  record: RekeyRecord | null
  verification: Verification
  holders: string[]
  recipients: KeyInfo[]
  /** The server check file's generation at the start, and whether a backup was asked (which retires it); null without one. */
  checkFile: { generation: number; backup: boolean } | null
}

/**
 * The rekey ceremony on the open backend, whatever runs it (a `Rekeyer`): the
 * current shares entered one holder at a time, the new shares handed out
 * through the hand-out (never all at once), their verification, the backup,
 * one record, and a holder log (names and outcomes; never a share). A rekey
 * without verification is held until its hand-out ends: finished, its new
 * shares take effect; abandoned, the rekey is cancelled and the current
 * shares stay in effect.
 */
export class RekeyCeremony {
  private running: Running | null = null
  private entries: LogEntry[] = []

  constructor(
    private readonly ceremony: CeremonySession,
    private readonly records: Records,
    private readonly handOut: HandOut,
  ) {}

  async view(): Promise<RekeyView> {
    await this.settleStale()
    const none = (unavailable: string | null): RekeyView => ({ offered: null, status: null, verify: null, asked: null, backup: false, backupUnread: null, log: [...this.entries], unavailable })
    let rekeyer: Rekeyer | null | undefined
    let state: RekeyState
    try {
      rekeyer = await this.ceremony.openBackend?.rekeyer()
      if (!rekeyer) return none(null)
      state = await rekeyer.status()
    } catch (err) {
      // The first screen carries this view: a server that will not answer its rekey (no token, a policy) is said here, not a failed screen.
      return none(forOperator(err).message)
    }
    // A rekey held until its hand-out ends has new shares but no verification.
    const verify = state.verification_required && state.verification_nonce ? await rekeyer.verifyStatus() : null
    const r = this.running
    // A server reads a backup only to a token allowed to: without one, whether it holds one is not known.
    const backup = await rekeyer.readBackup().then((b) => ({ held: b !== null, why: null }), (err: unknown) => ({ held: null, why: forOperator(err).message }))
    const checks = this.ceremony.openBackend?.server?.checks.file ?? null
    return {
      offered: {
        api: rekeyer.api,
        verifyAll: rekeyer.verifyAll,
        verificationNone: holdsUnverified(rekeyer),
        backupInMemory: rekeyer.api === 'keyset',
        checkFile: checks ? checks.generation : null,
      },
      status: state,
      verify,
      asked: r && state.started ? { verification: r.verification, holders: r.holders } : null,
      backup: backup.held,
      backupUnread: backup.why,
      log: [...this.entries],
      unavailable: null,
    }
  }

  async start(input: RekeyConfig): Promise<RekeyView> {
    this.handOut.assertIdle()
    await this.settleStale()
    const { open, rekeyer } = await this.offered()
    if (input.verification === 'none' && !holdsUnverified(rekeyer)) {
      throw new TesseraError('rekey_request', 'verification: a server puts unverified new shares in effect the moment it makes them, so a share lost in the hand-out would be lost for good: choose a threshold of them, or every one')
    }
    if (input.verification === 'all' && !rekeyer.verifyAll) throw new TesseraError('rekey_request', 'this backend cannot verify every new share: choose a threshold of them, or none')
    const holders = input.holders ?? []
    const state = await rekeyer.start({ ...input, ...(holders.length ? { holders } : {}) })
    let record: RekeyRecord | null = null
    let recipients: KeyInfo[]
    try {
      recipients = await Promise.all((input.pgpKeys ?? []).map(async (key) => keyInfo(await readPublicKey(key))))
      record = await this.records.openRekey(state.nonce, await open.facts())
      const rekey = { shares: state.n, threshold: state.t, backup: state.backup, verification: input.verification, ...(holders.length ? { holders } : {}), recipients: (state.pgp_fingerprints ?? []).map((fingerprint) => ({ fingerprint })) }
      await record?.event({ type: 'started', nonce: state.nonce, rekey, required: state.required })
    } catch (err) {
      // A rekey that leaves no record does not run.
      await rekeyer.cancel()
      if (record) await this.records.endRekey().catch(() => undefined)
      throw err
    }
    const checks = open.server?.checks.file
    this.running = { rekeyer, open, record, verification: input.verification, holders, recipients, checkFile: checks ? { generation: checks.generation, backup: state.backup } : null }
    this.entries = []
    return this.view()
  }

  /** A holder confirmed the nonce and the new parameters on screen: recorded (`recorded` false when the rekey has another nonce). */
  async confirmNonce(nonce: string, holder: string): Promise<{ recorded: boolean }> {
    const r = await this.current()
    const state = await r.rekeyer.status()
    if (!state.started || (nonce !== state.nonce && nonce !== state.verification_nonce)) return { recorded: false }
    await r.record?.nonceConfirmed(holder.trim(), nonce)
    return { recorded: true }
  }

  /** One current share; the one that completes the threshold makes the new shares, which go straight to the hand-out. */
  async update(key: string, nonce: string, holder?: string): Promise<Entered> {
    const r = await this.current()
    this.handOut.assertIdle()
    const name = named(holder)
    const who = name ?? 'unnamed holder'
    const typed = Buffer.from(key, 'utf8')
    let answer: Awaited<ReturnType<Rekeyer['update']>>
    try {
      answer = await r.rekeyer.update(typed, nonce, name)
    } catch (err) {
      await this.refused(r, 'rekey', who, err)
      // A server's rekey whose new shares cannot be handed out is cancelled by its rekeyer: this window's cancel.
      if (!(await r.rekeyer.status().then((s) => s.started, () => true))) await this.ended('cancelled')
      throw err
    } finally {
      wipe(typed)
    }
    const { state, share, issued } = answer
    const progress = issued ? state.required : state.progress
    try {
      await r.record?.event({ type: 'share_accepted', phase: 'rekey', share: identity(share), progress, required: state.required })
      this.logEntry(who, `accepted${known(share)} (${progress} of ${state.required})`, true)
      if (issued) await this.handOutNew(r, state, issued)
    } catch (err) {
      // New shares that could not be recorded never leave main.
      if (issued) wipe(...issued.keys)
      throw err
    }
    return { view: await this.view(), ...(share ? { share } : {}), complete: false }
  }

  /** The new shares (owned here from now on) go to the hand-out, once their issue is recorded. */
  private async handOutNew(r: Running, state: RekeyState, issued: IssuedShares): Promise<void> {
    const fingerprints = issued.pgp_fingerprints ?? []
    const shares = issued.shares.map((s, i) => ({ ...s, ...(fingerprints[i] ? { fingerprint: fingerprints[i] } : {}) }))
    await r.record?.event({ type: 'shares_issued', shares, verification: r.verification })
    const where = { kind: r.open.keyset ? ('keyset' as const) : ('server' as const), name: r.open.label }
    this.handOut.hold(rekeyHandOut(issued, { place: where, state, scheme: r.open.keyset?.scheme ?? 'vault', recipients: r.recipients, holders: r.holders, record: r.record }))
    if (r.record) this.records.beginHandOut(r.record)
    this.logEntry('Tessera', `${state.n} new shares made: hand each to its holder now`, true)
  }

  /** One new share entered back; the one that completes the verification puts the new shares in effect. */
  async verify(key: string, nonce: string, holder?: string): Promise<Entered> {
    const r = await this.current()
    const name = named(holder)
    const who = name ?? 'unnamed holder'
    const typed = Buffer.from(key, 'utf8')
    let answer: Awaited<ReturnType<Rekeyer['verify']>>
    try {
      answer = await r.rekeyer.verify(typed, nonce, name)
    } catch (err) {
      if (hasCode(err, 'rekey_verify_failed')) {
        await r.record?.event({ type: 'verification_failed' })
        this.logEntry(who, 'gave the last new share needed', true)
        this.logEntry('Tessera', forOperator(err).message, false)
      } else await this.refused(r, 'verify', who, err)
      throw err
    } finally {
      wipe(typed)
    }
    const { state, share, complete } = answer
    await r.record?.event({ type: 'share_accepted', phase: 'verify', share: identity(share), progress: state.progress, required: state.required })
    this.logEntry(who, `verified${known(share)} (${state.progress} of ${state.required})`, true)
    if (complete) await this.completed(r)
    return { view: await this.view(), ...(share ? { share } : {}), complete }
  }

  async restartVerification(): Promise<RekeyView> {
    const r = await this.current()
    await r.rekeyer.restartVerification()
    await r.record?.event({ type: 'cancelled', what: 'verification' })
    this.logEntry('Tessera', 'verification started over under a new nonce: every holder enters their new share again', false)
    return this.view()
  }

  /** Cancels the rekey: nothing changes, the current shares stay in effect. Refused while its new shares are being handed out. */
  async cancel(): Promise<RekeyView> {
    if (this.handOut.view()?.summary.ceremony === 'rekey') {
      throw new TesseraError('init_running', 'the new shares are being handed out: finish the hand-out, or abandon it, which cancels the rekey')
    }
    await this.settleStale()
    const rekeyer = this.running?.rekeyer ?? (await this.offered()).rekeyer
    await rekeyer.cancel()
    await this.ended('cancelled')
    return this.view()
  }

  /** The backup the rekey kept, as Vault's sys/rekey/backup gives it (PGP-encrypted: no secret). */
  async backup(): Promise<RekeyBackup> {
    const backup = await (await this.offered()).rekeyer.readBackup()
    if (!backup) throw new TesseraError('no_backup', 'no backup of new shares is held')
    const keysBase64 = Object.fromEntries(Object.entries(backup.keys).map(([fp, keys]) => [fp, keys.map((k) => Buffer.from(k, 'hex').toString('base64'))]))
    return { nonce: backup.nonce, keys: backup.keys, keys_base64: keysBase64 }
  }

  async deleteBackup(): Promise<RekeyView> {
    await (await this.offered()).rekeyer.deleteBackup()
    return this.view()
  }

  /**
   * The hand-out of the new shares is ending (`progress`: who has theirs): every
   * share handed out puts a rekey without verification in effect; any share
   * not handed out cancels the rekey, and the current shares stay in effect.
   */
  async handOutEnding(progress: HandOutProgress | null): Promise<void> {
    const r = this.running
    if (!r || progress?.summary.ceremony !== 'rekey') return
    if (progress.handedOut.includes(false)) {
      await r.rekeyer.cancel()
      await this.ended('cancelled')
    } else if (r.verification === 'none') {
      await r.rekeyer.release()
      await this.completed(r)
    } else this.logEntry('Tessera', 'every new share was handed out: each holder now enters theirs back to verify it', true)
  }

  /** Tessera is stopping: a rekey started here is cancelled (its new shares void) and its record ends. */
  async stop(): Promise<void> {
    const r = this.running
    if (!r) return
    await r.rekeyer.cancel().catch(() => undefined)
    await this.ended('cancelled').catch(() => undefined)
  }

  /** The new shares took effect: recorded with the keyset's new generation, or the server's check file as it now stands; the record ends. */
  private async completed(r: Running): Promise<void> {
    const keyset = r.open.keyset
    if (keyset) {
      const { generation, keyringCiphertext, shares, threshold } = keyset
      await r.record?.event({ type: 'completed', generation, keyringCiphertext, shares, threshold })
    } else if (r.open.server) {
      const file = checkFileAfter(r.checkFile, r.open.server.checks.file)
      const state = await r.open.backend.sealStatus()
      await r.record?.serverCompleted({ server: r.open.server.origin, shares: state.n, threshold: state.t, ...file })
      if (file.check_file === 'not_updated') this.logEntry('Tessera', 'the server check file could not be updated: it still holds the new shares as a rekey not seen to finish', false)
    }
    this.logEntry('Tessera', 'the new shares are in effect: the earlier shares no longer open it', true)
    await this.ended(null)
  }

  /** The rekey is over (completed, or `cancelled`): its record ends; the log stays for the screen. */
  private async ended(how: 'cancelled' | NotFollowed | null): Promise<void> {
    const r = this.running
    this.running = null
    if (how === 'cancelled') {
      await r?.record?.event({ type: 'cancelled', what: 'rekey' })
      this.logEntry('Tessera', 'rekey cancelled: nothing changed, the current shares stay in effect', false)
    } else if (how) {
      await r?.record?.notFollowed(how)
      this.logEntry('Tessera', NOT_FOLLOWED_WORDS[how], false)
    }
    if (r?.record) await this.records.endRekey()
  }

  /**
   * The rekey started here is no longer followed: another backend was opened,
   * or the backend no longer runs it. A keyset's rekey lives in this process,
   * so closing the keyset, or another program rekeying it first, cancelled
   * it. A server's may have completed elsewhere, or still run there: its
   * record says only what is known. A backend that cannot be asked is not
   * taken as gone.
   */
  private async settleStale(): Promise<void> {
    const r = this.running
    if (!r) return
    const now = await this.ceremony.openBackend?.rekeyer().catch(() => r.rekeyer)
    const followed = r.rekeyer === now
    if (followed && (await r.rekeyer.status().then((s) => s.started, () => true))) return
    await this.ended(r.open.keyset ? 'cancelled' : followed ? 'not_running' : 'other_connection')
  }

  private async current(): Promise<Running> {
    await this.settleStale()
    if (!this.running) throw new TesseraError('no_rekey', 'no rekey started in this window is running: start one on the Operation screen')
    return this.running
  }

  /** The open backend and what rekeys it, or the refusal that says why there is no rekey there. */
  private async offered(): Promise<{ open: OpenBackend; rekeyer: Rekeyer }> {
    const open = this.ceremony.openBackend
    const rekeyer = await open?.rekeyer()
    if (open && rekeyer) return { open, rekeyer }
    if (open?.server) {
      // A server offers none while sealed (in recovery mode too) or before its init: the sentence says which.
      const code = (await open.backend.sealStatus()).initialized ? 'sealed' : 'uninitialized'
      throw new TesseraError(code, ERRORS[code].sentence)
    }
    throw new TesseraError('unsupported_flow', 'the open backend offers no rekey here: open a local keyset (not in recovery mode), or connect to an unsealed server')
  }

  /** Says in the log and the record what a refusal was; the share never. */
  private async refused(r: Running, phase: 'rekey' | 'verify', who: string, err: unknown): Promise<void> {
    const { code, message } = forOperator(err)
    this.logEntry(who, message, false)
    const progress = await (phase === 'rekey' ? r.rekeyer.status() : r.rekeyer.verifyStatus()).then((s) => s.progress, () => 0)
    await r.record?.event({ type: 'share_refused', phase, code, progress })
  }

  private logEntry(operator: string, outcome: string, ok: boolean): void {
    this.entries.push({ at: new Date().toISOString(), operator, outcome, ok })
  }
}

/**
 * Whether a rekey without verification can be held until its hand-out ends: a
 * keyset's can; a server applies it at the completing update, so abandoning
 * the hand-out could not bring the current shares back.
 */
function holdsUnverified(rekeyer: Rekeyer): boolean {
  return rekeyer.api === 'keyset'
}

/** The holder's name as entered, or none. */
function named(holder: string | undefined): string | undefined {
  return holder?.trim() || undefined
}

/** What a server's rekey did to its check file, from how it started and the file in use now. */
function checkFileAfter(before: Running['checkFile'], now: ServerChecks | null): Pick<ServerCompleted, 'check_file' | 'check_generation'> {
  if (!before) return { check_file: 'none' }
  if (before.backup) return now ? { check_file: 'not_updated' } : { check_file: 'retired', check_generation: before.generation }
  return now && !now.pending && now.generation > before.generation ? { check_file: 'updated', check_generation: now.generation } : { check_file: 'not_updated' }
}

function identity(share: RecognizedShare | undefined): ShareIdentity {
  return share ?? { number: null, holder: null, checked: false }
}

/** " share 3 (Carol)" where the backend recognized the share. */
function known(share: RecognizedShare | undefined): string {
  return share && share.number !== null ? ` ${shareLabel(share)}` : ''
}
