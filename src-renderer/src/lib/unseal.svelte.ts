import type { BackendInfo, TesseraApi, UnsealView } from '../../../src-main/ipc/channels'
import { shownError, type ShownError } from './api-error'
import { shareLabel } from '../../../src-shared/share-grammar'

/** What the unseal needs of the ceremony: the server described anew once it is unsealed, and the way back to the operations. */
export interface UnsealHost {
  serverChanged(info: BackendInfo): void
  goTo(step: 'operation' | 'unseal'): void
}

/**
 * The unseal of the open server's nodes as the page shows it: each node's
 * seal, what each share did there, the log. Main sends each share to every
 * node still sealed and keeps the ceremony; this keeps only its last answer,
 * so that a reload reads it back with `read`.
 */
export class Unseal {
  #view = $state<UnsealView | null>(null)
  #error = $state<ShownError | null>(null)
  #busy = $state(false)
  #accepted = $state('')
  /** Calls made so far: a read's answer is dropped when a later call was made meanwhile (that one's is fresher). */
  #calls = 0

  constructor(
    private readonly api: TesseraApi,
    private readonly host: UnsealHost,
  ) {}

  /** The nodes as last read; null before the first read. */
  get view(): UnsealView | null { return this.#view }
  /** Why the last call failed as a whole (a node's own refusal is on its line). */
  get error(): ShownError | null { return this.#error }
  get busy(): boolean { return this.#busy }
  /** Which share the server check file recognized in the last one sent, as the collect screen names it; empty otherwise. */
  get accepted(): string { return this.#accepted }
  /** Some node is still sealed: the Operation screen offers the unseal. */
  get needed(): boolean {
    return this.#view?.nodes.some((n) => n.seal?.sealed) ?? false
  }

  /** Reads the nodes again; it sends nothing, so the form stays open meanwhile (and keeps its focus). */
  read(): Promise<boolean> {
    return this.call(() => this.api.unseal.status(), false)
  }

  /** One holder's share, for every node still sealed; true once main answered with each node's outcome. */
  async submit(holder: string, key: string): Promise<boolean> {
    const ok = await this.call(() => this.api.unseal.submit({ holder, key }))
    const known = this.#view?.share
    if (ok && known) this.#accepted = `Accepted ${shareLabel(known)} from ${holder}.`
    // A share refused before it was sent is in the log: read it back, the refusal staying on screen.
    if (!ok) await this.call(() => this.api.unseal.status(), false, true)
    return ok
  }

  /** Resets the shares given on node `node`, or on every node still sealed. */
  reset(node?: number): Promise<boolean> {
    return this.call(() => this.api.unseal.reset(node === undefined ? {} : { node }))
  }

  /** Leaves the unseal (its record ends) and reads the server again: unsealed, it offers its flows. */
  async finish(): Promise<void> {
    if (!(await this.call(() => this.api.unseal.finish()))) return
    const info = await this.api.backend.describe().catch(() => null)
    if (info) this.host.serverChanged(info)
    this.host.goTo('operation')
  }

  /** `sends`: the call sends something to the nodes (the form locks until it is answered); a read does not. `keepError`: the last refusal stays shown. */
  private async call(task: () => Promise<UnsealView>, sends = true, keepError = false): Promise<boolean> {
    if (sends) {
      this.#busy = true
      // What the last share was no longer describes the nodes once something else is sent.
      this.#accepted = ''
    }
    if (!keepError) this.#error = null
    const n = ++this.#calls
    try {
      const view = await task()
      if (sends || n === this.#calls) this.#view = view
      return true
    } catch (err) {
      this.#error = shownError(err)
      return false
    } finally {
      if (sends) this.#busy = false
    }
  }
}
