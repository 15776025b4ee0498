import type { AttemptStatus, Flow } from '../backend'
import type { Backend, Updated } from '../backend-interface'
import { wipe } from '../crypto/wipe'
import type { Reference } from '../decode/verify'
import type { ShareCheckResult, ShareList } from '../engine/views'
import type { Connections } from '../profiles/connections'
import { TesseraError } from '../support/errors'
import { forOperator, SET_FAILURE_CODES } from '../support/plain-errors'
import { RecordingBackend, type AttemptRecords } from '../record/recording-backend'
import { shareLabel } from '../../src-shared/share-grammar'
import type { Records } from './records'
import type { ResultKeeper } from './held-result'
import { openLocal, openRemote, type OpenBackend, type OpenServer } from './open-backend'
import type { RecentKeysets } from './recent-keysets'
import type { BackendInfo, LogEntry, RecentKeyset, UiAttemptStatus } from './views'

interface HeldOtp {
  nonce: string
  otp: Buffer
}

interface Opened {
  open: OpenBackend
  /** The records of its attempts, one file each. */
  records: AttemptRecords
  /** The open backend with its attempt calls recorded. */
  recorded: Backend
}

export const notReady = () => new TesseraError('no_backend', 'no backend is open: open or create a keyset, or connect to a server')
export const noProfiles = () => new TesseraError('no_profiles', 'server profiles are not available in this window')

/**
 * The ceremony on the open backend: which backend is open, its running
 * attempts and the server OTPs held for decoding them (never sent to the
 * page), the progress last seen, and the holder log (names, outcomes, times;
 * never a share). A completed attempt's result goes to the `ResultKeeper`.
 */
export class CeremonySession {
  private opened: Opened | null = null
  private readonly held = new Map<Flow, HeldOtp>()
  /** Progress last reported per flow: a refusal that lowers it reset the attempt. */
  private readonly progress = new Map<Flow, number>()
  /** The name given for the new share's holder when a share attempt was started here, by the attempt's nonce. */
  private newHolder: { nonce: string; name: string } | null = null
  private entries: LogEntry[] = []
  /** What works on the open backend beside its attempts (an unseal), told before another backend replaces it. */
  private readonly leaving: Array<() => Promise<void>> = []

  constructor(
    private readonly records: Records,
    private readonly result: ResultKeeper,
    private readonly recent: RecentKeysets | null,
    private readonly connections: Connections | undefined,
  ) {}

  /** The holder log of the current attempt (or of the held result's). */
  get log(): LogEntry[] {
    return [...this.entries]
  }

  async openKeyset(path: string, recovery = false): Promise<BackendInfo> {
    const open = await openLocal(path, recovery)
    await this.replace(open)
    // Remembering the path is a convenience: a full disk must not stop a ceremony.
    await this.recent?.add({ path: open.label, recovery }).catch(() => undefined)
    return open.describe()
  }

  async connectRemote(id: string, token?: string): Promise<BackendInfo> {
    if (!this.connections) throw noProfiles()
    // The server is reached before dropping what was held: a server that cannot be reached takes nothing with it.
    const { open, seal } = await openRemote(this.connections, id, token)
    await this.replace(open)
    return open.describe(seal)
  }

  async describe(): Promise<BackendInfo> {
    return this.opened ? this.opened.open.describe() : { kind: 'none', label: '', risks: [], scheme: null, seal: null }
  }

  async recentKeysets(): Promise<{ recent: RecentKeyset[] }> {
    return { recent: (await this.recent?.existing()) ?? [] }
  }

  /** The flow whose attempt is running, where the backend knows it. */
  get runningFlow(): Flow | null {
    return this.opened?.open.runningFlow() ?? null
  }

  /** The OTP held for the running attempt of `flow`. */
  heldOtp(flow: Flow): Buffer | null {
    return this.held.get(flow)?.otp ?? null
  }

  /** The open backend, for the services that run other ceremonies on it (an unseal, a rekey); null when none is open. */
  get openBackend(): OpenBackend | null {
    return this.opened?.open ?? null
  }

  /** `leave` runs before another backend replaces the open one; its failure stops nothing. */
  onLeave(leave: () => Promise<void>): void {
    this.leaving.push(leave)
  }

  /** The open server behind a profile; null when a keyset (or nothing) is open. */
  get server(): OpenServer | null {
    return this.opened?.open.server ?? null
  }

  /** What can check a value decoded here: the open keyset, if one is open. */
  get reference(): Reference | null {
    return this.opened?.open.reference ?? null
  }

  async status(flow: Flow): Promise<UiAttemptStatus> {
    return this.toUi(flow, await this.backend().status(flow))
  }

  async start(flow: Flow, opts: { pgpKey?: string; newHolder?: string; allowSharedKey?: boolean }): Promise<UiAttemptStatus> {
    if (this.result.held) {
      throw new TesseraError('result_held', 'a finished result is still held: store it, then wipe it, before starting another attempt')
    }
    const { status, otp } = await this.backend().start(flow, {
      ...(opts.pgpKey ? { pgp_key: opts.pgpKey } : {}),
      allow_shared_key: opts.allowSharedKey === true,
      ...(flow === 'share' && opts.newHolder ? { new_holder: opts.newHolder } : {}),
    })
    if (otp) this.hold(flow, status.nonce, otp)
    else this.release(flow)
    if (flow === 'share') this.newHolder = opts.newHolder ? { nonce: status.nonce, name: opts.newHolder } : null
    this.entries = []
    return this.toUi(flow, status)
  }

  /** A holder ticked that the nonce on screen is the one announced: recorded (`recorded` false when no running attempt has that nonce). */
  async confirmNonce(flow: Flow, nonce: string, holder: string): Promise<{ recorded: boolean }> {
    const { open, records } = this.current()
    const record = await records.running(flow, nonce)
    // A stale screen confirms a nonce no attempt has: nothing is recorded, and the
    // holder's share then meets the backend's own refusal of the wrong nonce.
    const running = await open.backend.status(flow)
    if (!record || !running.started || running.nonce !== nonce) return { recorded: false }
    await record.nonceConfirmed(holder.trim(), nonce)
    return { recorded: true }
  }

  async cancel(flow: Flow): Promise<{ cancelled: true }> {
    await this.backend().cancel(flow)
    this.release(flow)
    if (!this.result.held) this.entries = []
    return { cancelled: true }
  }

  /**
   * One share entered by a holder, as the IPC edge's string: the backend gets
   * bytes, wiped after the call. Where the backend says which share it
   * recognized ("share 3 (Carol)"), the log says so, never the share.
   */
  async update(flow: Flow, key: string, nonce: string, holder?: string): Promise<UiAttemptStatus> {
    const backend = this.backend()
    const name = holder?.trim() || undefined
    const share = Buffer.from(key, 'utf8')
    let updated: Updated
    try {
      updated = await backend.update(flow, { key: share, nonce, ...(name ? { holder: name } : {}) })
    } catch (err) {
      await this.refused(flow, name ?? 'unnamed holder', err)
      throw err
    } finally {
      wipe(share)
    }
    const { status, share: known } = updated
    const recognized = known && known.number !== null ? ` ${shareLabel(known)}` : ''
    this.logEntry(name ?? 'unnamed holder', `accepted${recognized} (${status.progress} of ${status.required})`, true)
    if (status.complete) this.complete(flow, updated)
    const ui = this.toUi(flow, status)
    return known ? { ...ui, last_share: known } : ui
  }

  /** Says in the log what a refusal did: a foreign share resets the progress on a format-1 keyset or a server; a restarted server forgets the attempt. */
  private async refused(flow: Flow, who: string, err: unknown): Promise<void> {
    const { code, message } = forOperator(err)
    // At the threshold the whole set failed, not the holder who gave the last share.
    if (SET_FAILURE_CODES.has(code)) {
      this.logEntry(who, 'gave the last share needed', true)
      this.logEntry('Tessera', message, false)
    } else this.logEntry(who, message, false)
    const before = this.progress.get(flow) ?? 0
    const fresh = await this.backend().status(flow).catch(() => null)
    if (fresh) this.progress.set(flow, fresh.progress)
    if (fresh && !fresh.started) this.logEntry('Tessera', 'the attempt no longer exists on the backend: start a new one', false)
    else if (fresh && fresh.progress < before && !SET_FAILURE_CODES.has(code)) {
      this.logEntry('Tessera', `progress reset to ${fresh.progress}: every holder enters their share again`, false)
    }
  }

  /** A completed attempt: its result and its OTP move together to the result keeper. */
  private complete(flow: Flow, updated: Updated): void {
    const { status } = updated
    const held = this.held.get(flow)
    this.held.delete(flow)
    const otp = held && held.nonce === status.nonce ? held.otp : null
    if (held && !otp) wipe(held.otp)
    const newHolder = this.newHolder?.nonce === status.nonce ? this.newHolder.name : null
    this.newHolder = null
    const { open } = this.current()
    this.result.keep({ flow, updated, otp, origin: { label: open.label, keyset: open.keyset, reference: open.reference }, newHolder })
  }

  shares(): ShareList {
    return this.shareBook().list()
  }

  /** The open backend's shares, where it knows them (a keyset, a server with a check file); else null. */
  shareList(): ShareList | null {
    return this.opened?.open.shareBook()?.list() ?? null
  }

  /** One share checked against the open keyset or server check file, with no ceremony. */
  async checkShare(text: string): Promise<ShareCheckResult> {
    const typed = Buffer.from(text, 'utf8')
    try {
      return await this.shareBook().check(typed)
    } finally {
      wipe(typed)
    }
  }

  /**
   * Leaving a backend ends its running attempts here: their record ends with
   * the wipe of their OTPs. A held result keeps its record open until wiped.
   */
  private async replace(next: OpenBackend): Promise<void> {
    if (!this.result.held) {
      // Opening another backend must not be blocked by a full disk: the record stays a valid prefix.
      await this.records.attemptWiped().catch(() => undefined)
    }
    for (const leave of this.leaving) await leave().catch(() => undefined)
    this.dropAttempts()
    const records = this.records.attemptsOn(next.backend, () => next.facts())
    await this.swap({ open: next, records, recorded: new RecordingBackend(next.backend, records) })
  }

  /** Closes the open backend (Tessera is stopping). */
  close(): Promise<void> {
    return this.swap(null)
  }

  /**
   * Makes `next` the open backend and closes the one it replaces, which wipes
   * what that backend collected. A held result does not belong to the backend, and stays.
   */
  private async swap(next: Opened | null): Promise<void> {
    const previous = this.opened
    this.opened = next
    if (previous) await previous.open.backend.close()
  }

  /** Leaving a backend ends its running attempts and their OTPs; a held result keeps its log. */
  private dropAttempts(): void {
    for (const h of this.held.values()) wipe(h.otp)
    this.held.clear()
    if (!this.result.held) this.entries = []
  }

  /** Drops every secret held here (the OTPs) and the log. */
  wipe(): void {
    this.dropAttempts()
    this.entries = []
    this.newHolder = null
  }

  private current(): Opened {
    if (!this.opened) throw notReady()
    return this.opened
  }

  private backend(): Backend {
    return this.current().recorded
  }

  private shareBook(): NonNullable<ReturnType<OpenBackend['shareBook']>> {
    const book = this.opened?.open.shareBook()
    if (!book) throw new TesseraError('no_keyset', 'checking shares needs a local keyset, or a server Tessera initialized: open one first')
    return book
  }

  private toUi(flow: Flow, status: AttemptStatus): UiAttemptStatus {
    // A new share stays in main until its holder gets it (`result.revealShare`).
    const { key: _key, key_base64: _keyBase64, ...rest } = status
    if (flow === 'share') rest.encoded_token = ''
    const held = this.held.get(flow)
    const heldForResult = status.complete && this.result.otpFor(flow) !== null
    this.progress.set(flow, status.progress)
    return { ...rest, otp_held: heldForResult || (held !== undefined && held.nonce === status.nonce), running_flow: this.runningFlow }
  }

  private logEntry(operator: string, outcome: string, ok: boolean): void {
    this.entries.push({ at: new Date().toISOString(), operator, outcome, ok })
  }

  /** Keeps the OTP a start made (owned here from now on) for decoding its result. */
  private hold(flow: Flow, nonce: string, otp: Buffer): void {
    const previous = this.held.get(flow)
    if (previous) wipe(previous.otp)
    this.held.set(flow, { nonce, otp })
  }

  private release(flow: Flow): void {
    const held = this.held.get(flow)
    if (held) wipe(held.otp)
    this.held.delete(flow)
  }
}
