import { getContext } from 'svelte'
import type {
  BackendInfo,
  CeremonyRecord,
  Channel,
  Flow,
  HeldResult,
  HandOutProgress,
  KeyInfo,
  LogEntry,
  SessionState,
  ShareList,
  TesseraApi,
  UiAttemptStatus,
} from '../../../src-main/ipc/channels'
import { ApiError, shownError, type ShownError } from './api-error'
import { BackendChoice } from './backend-choice.svelte'
import { Decoder } from './decoder'
import { HandOut } from './hand-out'
import type { Place, Step } from './places'
import { saveRecord } from './print-record'
import { Profiles } from './profiles'
import { Rekey } from './rekey.svelte'
import { ShareChecks } from './share-checks.svelte'
import { Unseal } from './unseal.svelte'
import { shareLabel } from '../../../src-shared/share-grammar'


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
 * One ceremony's state and its step machine, and the renderer's one caller of
 * main: components read the state through getters and change it through the
 * transitions (`goTo`, `choose`, `submit`, …); the siblings it hands out
 * (`backendChoice`, `profiles`, `decoder`, `handout`, `shareChecks`) make the calls of their own
 * screens. What must survive a reload (a finished result, a hand-out, the
 * holder log) lives in main and is read back by `load`.
 */
export class Ceremony {
  #step = $state<Step>('backend')
  #flow = $state<Flow>('root')
  #status = $state<UiAttemptStatus | null>(null)
  #pgp = $state<PgpChoice | null>(null)
  #newHolder = $state('')
  #log = $state<LogEntry[]>([])
  #result = $state<HeldResult | null>(null)
  #record = $state<CeremonyRecord | null>(null)
  #handOutProgress = $state<HandOutProgress | null>(null)
  #failure = $state<(ShownError & { at: Place }) | null>(null)
  #accepted = $state('')
  #notice = $state('')
  #busy = $state(false)
  #version = $state('')
  #loaded = $state(false)
  #loading: Promise<void> | undefined

  readonly profiles: Profiles
  readonly decoder: Decoder
  readonly handOut: HandOut
  readonly backendChoice: BackendChoice
  readonly unseal: Unseal
  readonly rekey: Rekey

  constructor(private readonly api: TesseraApi) {
    this.profiles = new Profiles(api)
    this.decoder = new Decoder(api)
    this.handOut = new HandOut(api, this)
    this.backendChoice = new BackendChoice(api, this)
    this.unseal = new Unseal(api, { serverChanged: (info) => this.backendChoice.see({ info, shares: null }), goTo: (step) => this.goTo(step) })
    this.rekey = new Rekey(api, this)
  }

  get backend(): BackendInfo | null { return this.backendChoice.info }
  get step(): Step { return this.#step }
  get flow(): Flow { return this.#flow }
  get status(): UiAttemptStatus | null { return this.#status }
  /** The PGP key chosen on the protection step. */
  get pgp(): PgpChoice | null { return this.#pgp }
  /** The holder log, as main keeps it. */
  get log(): LogEntry[] { return this.#log }
  /** A finished result main holds until it is wiped. */
  get result(): HeldResult | null { return this.#result }
  /** The record of the current or last ceremony, as main keeps it. */
  get record(): CeremonyRecord | null { return this.#record }
  /** New shares being handed out (a keyset just created). */
  get handOutProgress(): HandOutProgress | null { return this.#handOutProgress }
  get failure(): (ShownError & { at: Place }) | null { return this.#failure }
  /** The open local keyset's shares and whether it can check them one by one; null for a server. */
  get shares(): ShareList | null { return this.backendChoice.shares }
  /** What the last accepted share was recognized as ("share 3 (Carol)"), for the collect screen. */
  get accepted(): string { return this.#accepted }
  /** A plain statement of what just happened (an attempt cancelled, a result wiped). */
  get notice(): string { return this.#notice }
  get busy(): boolean { return this.#busy }
  /** Tessera's version, as main reports it. */
  get version(): string { return this.#version }

  /** The share flow's new holder, named before the attempt starts (a form field's value). */
  get newHolder(): string { return this.#newHolder }
  set newHolder(name: string) { this.#newHolder = name }

  /** While true, leaving the page would lose something only this ceremony holds. */
  get holdsSecret(): boolean {
    return this.#result !== null || this.#handOutProgress !== null
  }

  /** The error shown at `place`, if the last failure happened there. */
  errorAt(place: Place): ShownError | null {
    return this.#failure?.at === place ? this.#failure : null
  }

  /** Retires the error shown at `place`: what it was about has changed. */
  clearError(place: Place): void {
    if (this.#failure?.at === place) this.#failure = null
  }

  /** Runs a call; a refusal becomes the error shown at `place`. */
  async run<T>(task: () => Promise<T>, place: Place = 'remote'): Promise<T | undefined> {
    this.#busy = true
    this.#failure = null
    try {
      return await task()
    } catch (err) {
      this.#failure = { at: place, ...shownError(err) }
      return undefined
    } finally {
      this.#busy = false
    }
  }

  /** True once `load` read where main stands: until then no step is shown. */
  get loaded(): boolean { return this.#loaded }

  /** Opens where main stands (a held result, a hand-out, the open backend): one call, made once however often asked. */
  load(): Promise<void> {
    return (this.#loading ??= this.readSnapshot())
  }

  private async readSnapshot(): Promise<void> {
    const { version, backend, state, statuses, rekey } = await this.api.session.snapshot()
    this.#version = version
    this.backendChoice.see(backend, statuses)
    this.rekey.see(rekey)
    this.take(state)
    this.#log = state.log
    this.#result = state.result
    this.#handOutProgress = state.handOut
    if (state.result) this.goTo('result')
    else this.#step = state.handOut ? 'handout' : backend.info.kind === 'none' ? 'backend' : 'operation'
    this.#loaded = true
  }

  /**
   * The one way to another step. The operation step stands for the open
   * backend (the backend step when none is open); the result step shows the
   * held result under its own flow. Leaving takes the last error with it.
   */
  goTo(step: 'backend' | 'operation' | 'check' | 'result' | 'unseal' | 'rekey'): void {
    this.#failure = null
    if (step === 'backend' || step === 'check') this.#notice = ''
    if (step === 'result') {
      if (!this.#result) return
      this.#flow = this.#result.flow
    }
    const kind = this.backend?.kind
    this.#step = step === 'operation' && kind !== 'local' && kind !== 'remote' ? 'backend' : step
  }

  /** Reads a PGP public key's fingerprint and user ids; refuses a key main cannot use. */
  inspectKey(text: string): Promise<KeyInfo> {
    return this.api.pgp.inspect({ key: text })
  }

  choosePgp(choice: PgpChoice | null): void {
    this.#pgp = choice
  }

  /** The desktop app copies through main, which clears the clipboard after its delay. */
  async copy(text: string): Promise<void> {
    await this.api.clipboard.copy({ text })
  }

  /** Another backend is open: nothing of the one before (its counts, holders, shares, attempt, log) stays on screen. */
  opened(step: 'operation' | 'handout', handOut?: HandOutProgress): void {
    if (handOut) this.#handOutProgress = handOut
    this.#flow = 'root'
    this.#status = null
    this.#pgp = null
    this.#newHolder = ''
    this.#log = []
    this.#accepted = ''
    this.#failure = null
    this.#notice = ''
    this.#step = step
  }

  /** The shares' checks of the open keyset, one holder after another. */
  shareChecks(): ShareChecks {
    return new ShareChecks(this.api, this.shares!)
  }

  shareHandedOut(index: number): void {
    if (this.#handOutProgress) this.#handOutProgress.handedOut[index] = true
  }

  handOutFinished(): void {
    const ended = this.#handOutProgress
    this.#handOutProgress = null
    this.#notice = ''
    // A rekey's hand-out goes on to the verification of its new shares, or says how the rekey ended.
    if (ended?.summary.ceremony === 'rekey') void this.rekey.handOutEnded(!ended.handedOut.includes(false))
    else this.goTo('operation')
  }

  /**
   * Main answered a call (from any component) that may have added a line: the
   * record on screen is read again. An accepted update needs no read: its reply
   * carried main's state.
   */
  recordMayHaveChanged(channel: Channel, ok: boolean): void {
    if (!(ok && channel === 'attempt.update')) void this.readState()
  }

  private stateReads = 0

  /**
   * Reads main's state. Its record (and who has their share) is taken only
   * when no later read was asked for meanwhile: that one's answer is fresher.
   */
  private async readState(): Promise<SessionState | null> {
    const n = ++this.stateReads
    const state = await this.api.session.state().catch(() => null)
    if (state && n === this.stateReads) this.take(state)
    return state
  }

  /** Main's record, and who has their share: an answer newer than any read still under way. */
  private take(state: SessionState): void {
    this.stateReads++
    this.#record = state.record
    if (this.#handOutProgress && state.handOut) this.#handOutProgress.handedOut = state.handOut.handedOut
  }

  /** The new share reached its holder: main recorded how (the record on screen is read again after that call). */
  newShareHandedOut(): void {
    if (this.#result?.share) this.#result.share.handedOut = true
  }

  async choose(flow: Flow): Promise<void> {
    this.#flow = flow
    const status = await this.run(() => this.api.attempt.status({ flow }), 'operation')
    if (!status) return
    this.#status = status
    this.#notice = ''
    this.#accepted = ''
    if (status.started) await this.refreshLog()
    else this.#log = []
    this.#step = status.started ? 'collect' : 'protection'
  }

  /** `allowSharedKey`: the operator confirmed that the new share may go to a key that already holds one. */
  async start(allowSharedKey = false): Promise<void> {
    const newHolder = this.#flow === 'share' ? this.#newHolder.trim() : ''
    const pgp = this.#pgp
    const status = await this.run(() =>
      this.api.attempt.start({
        flow: this.#flow,
        ...(pgp ? { pgpKey: pgp.text, allowSharedKey } : {}),
        ...(newHolder ? { newHolder } : {}),
      }),
      'protection',
    )
    if (status) {
      this.#status = status
      this.#log = []
      this.#accepted = ''
      await this.refreshLog()
      this.#step = 'collect'
    }
  }

  /**
   * One holder's share; true when it was accepted. The reply carries the
   * progress, the log, the record and a finished result: one call per share.
   */
  async submit(operator: string, key: string): Promise<boolean> {
    const nonce = this.#status?.nonce ?? ''
    const reply = await this.run(() => this.api.attempt.update({ flow: this.#flow, key, nonce, holder: operator }), 'collect')
    if (!reply) {
      // A refusal may have reset the progress or lost the attempt: re-read it.
      const fresh = await this.api.attempt.status({ flow: this.#flow }).catch(() => null)
      if (fresh) this.#status = fresh
      this.#accepted = ''
      await this.refreshLog()
      return false
    }
    const { state, backend, ...status } = reply
    const known = status.last_share
    this.#accepted = known && known.number !== null ? `Accepted ${shareLabel(known)} from ${operator || 'an unnamed holder'}.` : ''
    this.take(state)
    this.#log = state.log
    this.#status = status
    if (status.complete) {
      this.#result = state.result
      // A share flow's result added a share out: the counts on screen follow.
      if (backend) this.backendChoice.see(backend)
      this.#step = 'result'
    }
    return true
  }

  private async refreshLog(): Promise<void> {
    const state = await this.readState()
    if (state) this.#log = state.log
  }

  /**
   * A holder confirmed the nonce on screen: main records it before their share.
   * Not through `run`, whose busy state would disable the checkbox being ticked
   * and drop its focus.
   */
  async confirmNonce(holder: string): Promise<boolean> {
    const nonce = this.#status?.nonce ?? ''
    try {
      await this.api.attempt.confirmNonce({ flow: this.#flow, nonce, holder })
      return true
    } catch (err) {
      this.#failure = { at: 'collect', ...shownError(err) }
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
        const { saved } = await this.api.record.printPdf({ pageSize })
        return saved ? `Ceremony record saved to ${saved}.` : 'Printing cancelled.'
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'unsupported')) throw err
      }
      saveRecord((await this.api.record.printable()).html)
      return 'Ceremony record downloaded as ceremony-record.html: open it and print it (its page size follows the print dialog).'
    }, 'record')
  }

  /** Where the next ceremonies' records go. */
  async chooseRecordDirectory(path: string): Promise<void> {
    const record = await this.run(() => this.api.record.setDirectory({ path }), 'protection')
    if (record) this.#record = record
  }

  async cancel(): Promise<void> {
    const done = await this.run(() => this.api.attempt.cancel({ flow: this.#flow }), 'cancel')
    if (!done) return
    await this.refreshLog()
    this.#status = null
    this.#pgp = null
    this.#log = []
    this.#accepted = ''
    this.#notice = `The ${FLOW_LABEL[this.#flow].toLowerCase()} attempt was cancelled: no share given to it counts any more.`
    this.goTo('operation')
  }

  /** The attempt vanished from the backend: back to choosing an operation. */
  attemptLost(): void {
    this.#status = null
    this.#log = []
    this.goTo('operation')
  }

  /** Drops the held result and every secret in main; back to choosing an operation. */
  async resultWiped(notice = 'The result was wiped from memory.'): Promise<void> {
    const done = await this.run(() => this.api.session.wipe(), 'result')
    if (!done) return
    await this.refreshLog()
    this.#result = null
    this.#status = null
    this.#pgp = null
    this.#log = []
    this.#notice = notice
    this.goTo('operation')
  }
}

const KEY = Symbol('ceremony')
/** The context `mount` gives the page: every component's `useCeremony()`. */
// eslint-disable-next-line svelte/prefer-svelte-reactivity -- read once, at mount: nothing to react to
export const ceremonyContext = (c: Ceremony) => new Map([[KEY, c]])
export const useCeremony = () => getContext<Ceremony>(KEY)
