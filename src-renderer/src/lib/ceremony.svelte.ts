import { getContext, setContext } from 'svelte'
import type { BackendInfo, Flow, InitSummary, KeyInfo, UiAttemptStatus } from '../../../src-main/ipc/contract'
import { api, errorText } from './api'

export type Step = 'backend' | 'init' | 'operation' | 'protection' | 'collect' | 'result'

export const FLOW_LABEL: Record<Flow, string> = {
  root: 'Root token',
  share: 'New key share',
  recovery: 'Recovery token',
}

export interface LogEntry {
  at: string
  operator: string
  outcome: string
  ok: boolean
}

export interface PgpChoice {
  text: string
  name: string
  info: KeyInfo
}

/** What one ceremony needs across its steps; components read and drive it. */
export class Ceremony {
  backend = $state<BackendInfo | null>(null)
  step = $state<Step>('backend')
  flow = $state<Flow>('root')
  status = $state<UiAttemptStatus | null>(null)
  pgp = $state<PgpChoice | null>(null)
  log = $state<LogEntry[]>([])
  /** The encoded result of a completed attempt; not secret without its OTP or key. */
  encoded = $state('')
  error = $state('')
  busy = $state(false)
  /** A keyset just created, whose shares are being handed out. */
  init = $state<InitSummary | null>(null)

  async refreshBackend(): Promise<void> {
    this.backend = await api.backend.describe()
    if (this.backend.kind !== 'none' && this.step === 'backend') this.step = 'operation'
  }

  /** Runs a call, turning a refusal into the error line shown to the operators. */
  async run<T>(task: () => Promise<T>): Promise<T | undefined> {
    this.busy = true
    this.error = ''
    try {
      return await task()
    } catch (err) {
      this.error = errorText(err)
      return undefined
    } finally {
      this.busy = false
    }
  }

  async choose(flow: Flow): Promise<void> {
    this.flow = flow
    const status = await this.run(() => api.attempt.status({ flow }))
    if (!status) return
    this.status = status
    this.log = []
    this.encoded = ''
    this.step = status.started ? 'collect' : 'protection'
  }

  async start(): Promise<void> {
    const status = await this.run(() =>
      api.attempt.start(this.pgp ? { flow: this.flow, pgpKey: this.pgp.text } : { flow: this.flow }),
    )
    if (status) {
      this.status = status
      this.step = 'collect'
    }
  }

  async submit(operator: string, key: string): Promise<boolean> {
    const nonce = this.status?.nonce ?? ''
    const at = new Date().toLocaleTimeString()
    const status = await this.run(() => api.attempt.update({ flow: this.flow, key, nonce }))
    if (!status) {
      this.log.push({ at, operator, outcome: this.error, ok: false })
      // The engine may have reset the progress (a foreign share) or lost the
      // attempt (a restarted server): re-read it and say what changed.
      const before = this.status?.progress ?? 0
      const fresh = await api.attempt.status({ flow: this.flow }).catch(() => null)
      if (fresh) {
        this.status = fresh
        if (!fresh.started) {
          this.log.push({ at, operator: 'Tessera', outcome: 'the attempt no longer exists on the backend: start a new one', ok: false })
        } else if (fresh.progress < before) {
          this.log.push({ at, operator: 'Tessera', outcome: `progress reset to ${fresh.progress}: every holder enters their share again`, ok: false })
        }
      }
      return false
    }
    this.log.push({ at, operator, outcome: `accepted (${status.progress} of ${status.required})`, ok: true })
    if (status.complete) {
      this.encoded = status.encoded_token
      this.status = status
      this.step = 'result'
    } else {
      this.status = status
    }
    return true
  }

  async cancel(): Promise<void> {
    const done = await this.run(() => api.attempt.cancel({ flow: this.flow }))
    if (done) this.reset()
  }

  /** Drops every secret in main and in this page; back to choosing an operation. */
  async wipe(): Promise<void> {
    await api.session.wipe().catch(() => undefined)
    this.reset()
  }

  reset(): void {
    this.status = null
    this.pgp = null
    this.log = []
    this.encoded = ''
    this.error = ''
    this.step = this.backend && this.backend.kind !== 'none' ? 'operation' : 'backend'
  }
}

const KEY = Symbol('ceremony')
export const provideCeremony = (c: Ceremony) => setContext(KEY, c)
export const useCeremony = () => getContext<Ceremony>(KEY)
