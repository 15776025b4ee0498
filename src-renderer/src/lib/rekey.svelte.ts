import type { BackendView, HandOutProgress, Input, RekeyBackup, RekeyReply, RekeyView, TesseraApi } from '../../../src-main/ipc/channels'
import { shareLabel } from '../../../src-shared/share-grammar'
import type { BackendChoice } from './backend-choice.svelte'
import type { Collection } from './collection'
import type { Place } from './places'

/** What the rekey needs of the ceremony: its error places, its steps, and the hand-out. */
export interface RekeyHost {
  run<T>(task: () => Promise<T>, place?: Place): Promise<T | undefined>
  goTo(step: 'operation' | 'rekey'): void
  opened(step: 'handout', handOut: HandOutProgress): void
  readonly backendChoice: BackendChoice
}

/** Where the rekey stands, for its screen. */
export type RekeyPhase = 'form' | 'current' | 'verify' | 'complete' | 'cancelled'

/**
 * The rekey on the open backend, as its screens show it: the form, the
 * current shares and later the new ones entered on the collect screen, and
 * how it ended. Its new shares go through the hand-out; what must survive a
 * reload (the rekey, its log, the hand-out) lives in main.
 */
export class Rekey {
  #view = $state<RekeyView | null>(null)
  #accepted = $state('')
  /**
   * How the rekey this window ran ended; null while none did. `backup`: a
   * backup of new shares is held now (null: the server would not say);
   * `askedBackup`: this rekey asked for one.
   */
  #ended = $state<{ how: 'complete' | 'cancelled'; backup: boolean | null; unread: string | null; askedBackup: boolean } | null>(null)
  #first: RekeyView | null = null

  constructor(
    private readonly api: TesseraApi,
    private readonly c: RekeyHost,
  ) {}

  get view(): RekeyView | null { return this.#view }

  get phase(): RekeyPhase {
    if (this.#ended) return this.#ended.how
    const s = this.#view?.status
    if (!s?.started) return 'form'
    return this.#view?.verify ? 'verify' : 'current'
  }

  /** After the rekey just ended: whether a backup of new shares is held (null: it could not be read). */
  get backupHeld(): boolean | null { return this.#ended ? this.#ended.backup : false }

  /** Why the backup could not be read after the rekey just ended, as a sentence; null when it was. */
  get backupUnread(): string | null { return this.#ended?.unread ?? null }

  /** The rekey just ended asked for a backup of its new shares. */
  get backupAsked(): boolean { return this.#ended?.askedBackup ?? false }

  /** The rekey as the page's first answer read it: it serves the first read once; any later read asks main again. */
  see(view: RekeyView): void {
    this.#view = view
    this.#first = view
  }

  /** Reads the rekey main has (for the operation screen, and after a reload). */
  async read(): Promise<RekeyView | null> {
    const first = this.#first
    this.#first = null
    // `see` already showed the first answer: the screen that reads it may be deriving, where state must not change.
    if (first) return first
    this.#view = await this.api.rekey.status()
    return this.#view
  }

  /** Opens the rekey screen: the form, or the rekey running. */
  async open(): Promise<void> {
    this.#ended = null
    this.#accepted = ''
    if (await this.c.run(() => this.read(), 'operation')) this.c.goTo('rekey')
  }

  async start(input: Input<'rekey.start'>): Promise<void> {
    const view = await this.c.run(() => this.api.rekey.start(input), 'rekey')
    if (view) this.#view = view
  }

  /** The current shares, entered one holder at a time. */
  readonly current: Collection = this.collection('current')
  /** The new shares entered back, to verify them. */
  readonly verifying: Collection = this.collection('verify')

  private collection(phase: 'current' | 'verify'): Collection {
    const empty = { started: false, nonce: '', progress: 0, required: 0 }
    const status = () => {
      const v = this.#view
      if (phase === 'verify') return v?.verify ?? empty
      // New shares made: the current shares' part is over.
      return v?.status ? { ...v.status, started: v.status.started && !v.status.verification_nonce } : empty
    }
    const log = () => this.#view?.log ?? []
    const accepted = () => this.#accepted
    return {
      title: phase === 'current' ? 'Rekey: current shares' : 'Rekey: verify the new shares',
      get status() { return status() },
      nonceOf: phase === 'current' ? 'this rekey' : 'this verification',
      confirms: 'and the new shares above match',
      get log() { return log() },
      get accepted() { return accepted() },
      lostText: 'This rekey no longer runs on the backend (cancelled, or Tessera was restarted). Nothing changed: the current shares stay in effect.',
      submit: (operator, key) => this.submit(phase, operator, key),
      confirmNonce: (holder) => this.confirmNonce(phase, holder),
      cancelWords: {
        ask: 'Cancel the rekey…',
        question: 'Cancel this rekey? Nothing changes: the current shares stay in effect and the new shares are void.',
        yes: 'Yes, cancel the rekey',
        keep: 'No, keep it',
      },
      cancel: () => this.cancel(),
      lost: () => this.c.goTo('operation'),
    }
  }

  /** One share; true when it was accepted. The completing current share opens the hand-out of the new ones. */
  private async submit(phase: 'current' | 'verify', operator: string, key: string): Promise<boolean> {
    const input = { key, nonce: phase === 'current' ? (this.#view?.status?.nonce ?? '') : (this.#view?.verify?.nonce ?? ''), ...(operator ? { holder: operator } : {}) }
    const reply = await this.c.run<RekeyReply>(() => (phase === 'current' ? this.api.rekey.update(input) : this.api.rekey.verify(input)), 'collect')
    if (!reply) {
      // A refusal may have started the verification over: read the rekey again.
      await this.read().catch(() => null)
      this.#accepted = ''
      return false
    }
    const { state, backend, last_share: known, complete, ...view } = reply
    // Once complete, the status no longer says what this rekey asked.
    const askedBackup = this.askedBackup()
    this.#view = view
    this.#accepted = known && known.number !== null ? `Accepted ${shareLabel(known)} from ${operator || 'an unnamed holder'}.` : ''
    if (complete) await this.done('complete', askedBackup, backend)
    else if (state.handOut?.summary.ceremony === 'rekey') this.c.opened('handout', state.handOut)
    return true
  }

  private async confirmNonce(phase: 'current' | 'verify', holder: string): Promise<boolean> {
    const nonce = phase === 'current' ? this.#view?.status?.nonce : this.#view?.verify?.nonce
    // Not through `run` while it succeeds: its busy state would disable the checkbox being ticked and drop its focus.
    const confirmed = this.api.rekey.confirmNonce({ nonce: nonce ?? '', holder })
    return confirmed.then(() => true, async (err: unknown) => (await this.c.run(() => Promise.reject(err), 'collect')) !== undefined)
  }

  async restartVerification(): Promise<void> {
    const view = await this.c.run(() => this.api.rekey.restartVerification(), 'rekey')
    if (view) {
      this.#view = view
      this.#accepted = ''
    }
  }

  async cancel(): Promise<void> {
    const view = await this.c.run(() => this.api.rekey.cancel(), 'cancel')
    if (!view) return
    this.#view = view
    this.#ended = { how: 'cancelled', backup: false, unread: null, askedBackup: false }
  }

  /** The hand-out of the new shares ended (`all`: every holder has theirs): on to their verification, or to how the rekey ended. */
  async handOutEnded(all: boolean): Promise<void> {
    const askedBackup = this.askedBackup()
    const view = await this.c.run(() => this.read(), 'rekey')
    if (view?.verify) {
      this.#accepted = ''
      this.c.goTo('rekey')
    } else if (all) await this.done('complete', askedBackup)
    else this.done('cancelled', false)
  }

  /** The PGP-encrypted new shares kept as a backup, as Vault's sys/rekey/backup gives them. */
  readBackup(): Promise<RekeyBackup | undefined> {
    return this.c.run(() => this.api.rekey.backup(), 'rekey')
  }

  async deleteBackup(): Promise<void> {
    const view = await this.c.run(() => this.api.rekey.deleteBackup(), 'rekey')
    if (!view) return
    this.#view = view
    if (this.#ended) this.#ended.backup = false
  }

  /** Leaves the finished rekey's screen. */
  leave(): void {
    this.#ended = null
    this.c.goTo('operation')
  }

  private askedBackup(): boolean {
    return Boolean(this.#view?.status?.started && this.#view.status.backup)
  }

  /** The rekey ended: its screen says how; once complete, the backend's counts and holders are read again. */
  private async done(how: 'complete' | 'cancelled', askedBackup: boolean, backend?: BackendView): Promise<void> {
    const complete = how === 'complete'
    const ended = { how, backup: complete ? (this.#view?.backup ?? null) : false, unread: complete ? (this.#view?.backupUnread ?? null) : null, askedBackup }
    this.#ended = ended
    this.c.goTo('rekey')
    if (how !== 'complete') return
    const fresh = backend ?? (await this.c.run(async () => ({ info: await this.api.backend.describe(), shares: await this.api.shares.list() }), 'rekey'))
    if (fresh) this.c.backendChoice.see(fresh)
  }
}
