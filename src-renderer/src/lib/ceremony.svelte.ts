import { getContext, setContext } from 'svelte'
import type {
  BackendInfo,
  CeremonyRecord,
  Flow,
  HeldResult,
  InitProgress,
  InitSummary,
  KeyInfo,
  LogEntry,
  SessionState,
  ShareList,
  TesseraApi,
  UiAttemptStatus,
} from '../../../src-main/ipc/channels'
import { ApiError, shownError, type ShownError } from './api-error'
import { saveRecord } from './print-record'
import { shareLabel } from '../../../src-shared/share-grammar'

export type Step = 'backend' | 'init' | 'operation' | 'check' | 'protection' | 'collect' | 'result'

/** Where an error is shown: next to the control whose action failed. */
export type Place = 'open' | 'create' | 'remote' | 'operation' | 'protection' | 'collect' | 'cancel' | 'handout' | 'result' | 'record'

export const FLOW_LABEL: Record<Flow, string> = {
  root: 'Root token',
  share: 'New key share',
  recovery: 'Recovery token',
}

export interface PgpChoice {
  text: string
  name: string
  info: KeyInfo
}

/**
 * One ceremony's state and its step machine. Components call the transitions
 * (`backendOpened`, `resultWiped`, …); what must survive a reload (a finished
 * result, a hand-out, the holder log) lives in main and is read back by `load`.
 */
export class Ceremony {
  backend = $state<BackendInfo | null>(null)
  step = $state<Step>('backend')
  flow = $state<Flow>('root')
  status = $state<UiAttemptStatus | null>(null)
  pgp = $state<PgpChoice | null>(null)
  /** The share flow's new holder, named before the attempt starts. */
  newHolder = $state('')
  /** The holder log, as main keeps it. */
  log = $state<LogEntry[]>([])
  /** A finished result main holds until it is wiped. */
  result = $state<HeldResult | null>(null)
  /** The transcript of the current or last ceremony, as main keeps it. */
  record = $state<CeremonyRecord | null>(null)
  /** A keyset just created, whose shares are being handed out. */
  init = $state<InitProgress | null>(null)
  failure = $state<(ShownError & { at: Place }) | null>(null)
  /** The open local keyset's shares and whether it can check them one by one; null for a server. */
  shares = $state<ShareList | null>(null)
  /** What the last accepted share was recognized as ("share 3 (Carol)"), for the collect screen. */
  accepted = $state('')
  /** A plain statement of what just happened (an attempt cancelled, a result wiped). */
  notice = $state('')
  busy = $state(false)

  constructor(private readonly api: TesseraApi) {}

  /** While true, leaving the page would lose something only this ceremony holds. */
  get holdsSecret(): boolean {
    return this.result !== null || this.init !== null
  }

  /** The error shown at `place`, if the last failure happened there. */
  errorAt(place: Place): ShownError | null {
    return this.failure?.at === place ? this.failure : null
  }

  /** Retires the error shown at `place`: what it was about has changed. */
  clearError(place: Place): void {
    if (this.failure?.at === place) this.failure = null
  }

    /** Runs a call; a refusal becomes the error shown at `place`. */
  async run<T>(task: () => Promise<T>, place: Place = 'remote'): Promise<T | undefined> {
    this.busy = true
    this.failure = null
    try {
      return await task()
    } catch (err) {
      this.failure = { at: place, ...shownError(err) }
      return undefined
    } finally {
      this.busy = false
    }
  }

  /** Opens where main stands: a held result, a hand-out, or the open backend. */
  async load(): Promise<void> {
    this.backend = await this.api.backend.describe()
    await this.readShares()
    const state = await this.api.session.state()
    this.log = state.log
    this.record = state.record
    this.result = state.result
    this.init = state.init
    if (state.result) {
      this.flow = state.result.flow
      this.step = 'result'
    } else if (state.init) this.step = 'init'
    else this.step = this.backend.kind === 'none' ? 'backend' : 'operation'
  }

  changeBackend(): void {
    this.failure = null
    this.notice = ''
    this.step = 'backend'
  }

  /** Back to the open backend without reopening it: a running attempt stays as it is. */
  backToOperations(): void {
    this.failure = null
    this.step = this.backend && this.backend.kind !== 'none' ? 'operation' : 'backend'
  }

  /** Which shares the open keyset knows; a server's shares are not known here. */
  async readShares(): Promise<void> {
    this.shares = this.backend?.kind === 'local' ? await this.api.shares.list().catch(() => null) : null
  }

  /** Another backend is open: nothing of the one before (its counts, holders, shares, log) stays on screen. */
  async backendOpened(info: BackendInfo): Promise<void> {
    this.backend = info
    await this.readShares()
    this.status = null
    this.pgp = null
    this.newHolder = ''
    this.log = []
    this.accepted = ''
    this.failure = null
    this.notice = ''
    this.step = 'operation'
  }

  /** The open backend's counts as main has them now: a share flow adds a share to those out. */
  private async reread(): Promise<void> {
    const info = await this.api.backend.describe().catch(() => null)
    if (info) this.backend = info
    await this.readShares()
  }

  async keysetCreated(summary: InitSummary, info: BackendInfo): Promise<void> {
    this.backend = info
    await this.readShares()
    this.init = { summary, handedOut: Array.from({ length: summary.shares }, () => false) }
    this.step = 'init'
  }

  shareHandedOut(index: number): void {
    if (this.init) this.init.handedOut[index] = true
  }

  handOutFinished(): void {
    this.init = null
    this.notice = ''
    this.step = 'operation'
  }

  /** Main answered a call (from any component) that may have added a line: the record on screen is read again. */
  recordMayHaveChanged(): void {
    void this.readState()
  }

  private stateReads = 0

  /**
   * Reads main's state. Its record (and who has their share) is taken only
   * when no later read was asked for meanwhile: that one's answer is fresher.
   */
  private async readState(): Promise<SessionState | null> {
    const n = ++this.stateReads
    const state = await this.api.session.state().catch(() => null)
    if (state && n === this.stateReads) {
      this.record = state.record
      if (this.init && state.init) this.init.handedOut = state.init.handedOut
    }
    return state
  }

  /** The new share reached its holder: main recorded how (the record on screen is read again after that call). */
  newShareHandedOut(): void {
    if (this.result?.share) this.result.share.handedOut = true
  }

  showResult(): void {
    if (this.result) {
      this.flow = this.result.flow
      this.step = 'result'
    }
  }

  async choose(flow: Flow): Promise<void> {
    this.flow = flow
    const status = await this.run(() => this.api.attempt.status({ flow }), 'operation')
    if (!status) return
    this.status = status
    this.notice = ''
    this.accepted = ''
    if (status.started) await this.refreshLog()
    else this.log = []
    this.step = status.started ? 'collect' : 'protection'
  }

  /** `allowSharedKey`: the operator confirmed that the new share may go to a key that already holds one. */
  async start(allowSharedKey = false): Promise<void> {
    const newHolder = this.flow === 'share' ? this.newHolder.trim() : ''
    const status = await this.run(() =>
      this.api.attempt.start({
        flow: this.flow,
        ...(this.pgp ? { pgpKey: this.pgp.text, allowSharedKey } : {}),
        ...(newHolder ? { newHolder } : {}),
      }),
      'protection',
    )
    if (status) {
      this.status = status
      this.log = []
      this.accepted = ''
      await this.refreshLog()
      this.step = 'collect'
    }
  }

  /** One holder's share; true when it was accepted. The log and the progress come from main. */
  async submit(operator: string, key: string): Promise<boolean> {
    const nonce = this.status?.nonce ?? ''
    const status = await this.run(() => this.api.attempt.update({ flow: this.flow, key, nonce, holder: operator }), 'collect')
    const known = status?.last_share
    this.accepted = known && known.number !== null ? `Accepted ${shareLabel(known)} from ${operator || 'an unnamed holder'}.` : ''
    if (status?.complete) {
      await this.refreshLog()
      this.status = status
      this.result = (await this.api.session.state()).result
      if (this.result?.share) await this.reread()
      this.step = 'result'
      return true
    }
    // A refusal may have reset the progress or lost the attempt: re-read it.
    const fresh = status ?? (await this.api.attempt.status({ flow: this.flow }).catch(() => null))
    if (fresh) this.status = fresh
    await this.refreshLog()
    return status !== undefined
  }

  private async refreshLog(): Promise<void> {
    const state = await this.readState()
    if (state) this.log = state.log
  }

  /**
   * A holder confirmed the nonce on screen: main records it before their share.
   * Not through `run`, whose busy state would disable the checkbox being ticked
   * and drop its focus.
   */
  async confirmNonce(holder: string): Promise<boolean> {
    const nonce = this.status?.nonce ?? ''
    try {
      await this.api.attempt.confirmNonce({ flow: this.flow, nonce, holder })
      return true
    } catch (err) {
      this.failure = { at: 'collect', ...shownError(err) }
      return false
    }
  }

  /**
   * "Print ceremony record": the desktop app prints it to a PDF file; a browser
   * gets the print-ready page to open and print. Returns what happened, in words.
   */
  async printRecord(pageSize: 'A4' | 'Letter'): Promise<string | undefined> {
    return this.run(async () => {
      try {
        const { saved } = await this.api.transcript.print({ pageSize })
        return saved ? `Ceremony record saved to ${saved}.` : 'Printing cancelled.'
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'unsupported')) throw err
      }
      saveRecord((await this.api.transcript.report()).html)
      return 'Ceremony record downloaded as ceremony-record.html: open it and print it (its page size follows the print dialog).'
    }, 'record')
  }

  /** Where the next ceremonies' records go. */
  async chooseRecordDirectory(path: string): Promise<void> {
    const record = await this.run(() => this.api.transcript.setDirectory({ path }), 'protection')
    if (record) this.record = record
  }

  async cancel(): Promise<void> {
    const done = await this.run(() => this.api.attempt.cancel({ flow: this.flow }), 'cancel')
    if (!done) return
    await this.refreshLog()
    this.status = null
    this.pgp = null
    this.log = []
    this.accepted = ''
    this.notice = `The ${FLOW_LABEL[this.flow].toLowerCase()} attempt was cancelled: no share given to it counts any more.`
    this.step = 'operation'
  }

  checkShares(): void {
    this.failure = null
    this.notice = ''
    this.step = 'check'
  }

  /** The attempt vanished from the backend: back to choosing an operation. */
  attemptLost(): void {
    this.status = null
    this.log = []
    this.step = 'operation'
  }

  /** Drops the held result and every secret in main; back to choosing an operation. */
  async resultWiped(notice = 'The result was wiped from memory.'): Promise<void> {
    const done = await this.run(() => this.api.session.wipe(), 'result')
    if (!done) return
    await this.refreshLog()
    this.result = null
    this.status = null
    this.pgp = null
    this.log = []
    this.notice = notice
    this.backToOperations()
  }
}

const KEY = Symbol('ceremony')
export const provideCeremony = (c: Ceremony) => setContext(KEY, c)
export const useCeremony = () => getContext<Ceremony>(KEY)
