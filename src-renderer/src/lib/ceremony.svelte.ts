import { getContext, setContext } from 'svelte'
import type {
  BackendInfo,
  Flow,
  HeldResult,
  InitProgress,
  InitSummary,
  KeyInfo,
  LogEntry,
  TesseraApi,
  UiAttemptStatus,
} from '../../../src-main/ipc/contract'
import { errorText } from './api-error'

export type Step = 'backend' | 'init' | 'operation' | 'protection' | 'collect' | 'result'

/** Where an error is shown: next to the control whose action failed. */
export type Place = 'open' | 'create' | 'remote' | 'operation' | 'protection' | 'collect' | 'cancel' | 'handout' | 'result'

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
  /** The holder log, as main keeps it. */
  log = $state<LogEntry[]>([])
  /** A finished result main holds until it is wiped. */
  result = $state<HeldResult | null>(null)
  /** A keyset just created, whose shares are being handed out. */
  init = $state<InitProgress | null>(null)
  failure = $state<{ at: Place; text: string } | null>(null)
  /** A plain statement of what just happened (an attempt cancelled, a result wiped). */
  notice = $state('')
  busy = $state(false)

  constructor(private readonly api: TesseraApi) {}

  /** While true, leaving the page would lose something only this ceremony holds. */
  get holdsSecret(): boolean {
    return this.result !== null || this.init !== null
  }

  errorAt(place: Place): string {
    return this.failure?.at === place ? this.failure.text : ''
  }

  /** Runs a call; a refusal becomes the error shown at `place`. */
  async run<T>(task: () => Promise<T>, place: Place = 'remote'): Promise<T | undefined> {
    this.busy = true
    this.failure = null
    try {
      return await task()
    } catch (err) {
      this.failure = { at: place, text: errorText(err) }
      return undefined
    } finally {
      this.busy = false
    }
  }

  /** Opens where main stands: a held result, a hand-out, or the open backend. */
  async load(): Promise<void> {
    this.backend = await this.api.backend.describe()
    const state = await this.api.session.state()
    this.log = state.log
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

  backendOpened(info: BackendInfo): void {
    this.backend = info
    this.status = null
    this.pgp = null
    this.log = []
    this.notice = ''
    this.step = 'operation'
  }

  keysetCreated(summary: InitSummary, info: BackendInfo): void {
    this.backend = info
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
    if (status.started) await this.refreshLog()
    else this.log = []
    this.step = status.started ? 'collect' : 'protection'
  }

  async start(): Promise<void> {
    const status = await this.run(() =>
      this.api.attempt.start(this.pgp ? { flow: this.flow, pgpKey: this.pgp.text } : { flow: this.flow }),
      'protection',
    )
    if (status) {
      this.status = status
      this.log = []
      this.step = 'collect'
    }
  }

  /** One holder's share; true when it was accepted. The log and the progress come from main. */
  async submit(operator: string, key: string): Promise<boolean> {
    const nonce = this.status?.nonce ?? ''
    const status = await this.run(() => this.api.attempt.update({ flow: this.flow, key, nonce, holder: operator }), 'collect')
    if (status?.complete) {
      await this.refreshLog()
      this.status = status
      this.result = (await this.api.session.state()).result
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
    const state = await this.api.session.state().catch(() => null)
    if (state) this.log = state.log
  }

  async cancel(): Promise<void> {
    const done = await this.run(() => this.api.attempt.cancel({ flow: this.flow }), 'cancel')
    if (!done) return
    this.status = null
    this.pgp = null
    this.log = []
    this.notice = `The ${FLOW_LABEL[this.flow].toLowerCase()} attempt was cancelled: no share given to it counts any more.`
    this.step = 'operation'
  }

  /** The attempt vanished from the backend: back to choosing an operation. */
  attemptLost(): void {
    this.status = null
    this.log = []
    this.step = 'operation'
  }

  /** Drops the held result and every secret in main; back to choosing an operation. */
  async resultWiped(): Promise<void> {
    const done = await this.run(() => this.api.session.wipe(), 'result')
    if (!done) return
    this.result = null
    this.status = null
    this.pgp = null
    this.log = []
    this.notice = 'The result was wiped from memory.'
    this.backToOperations()
  }
}

const KEY = Symbol('ceremony')
export const provideCeremony = (c: Ceremony) => setContext(KEY, c)
export const useCeremony = () => getContext<Ceremony>(KEY)
