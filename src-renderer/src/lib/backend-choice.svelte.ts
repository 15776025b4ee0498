import type { BackendInfo, BackendView, Flow, HandOutProgress, HandOutSummary, Input, RecentKeyset, ShareList, TesseraApi, UiAttemptStatus } from '../../../src-main/ipc/channels'
import type { Place } from './places'

/** What choosing a backend needs of the ceremony: its error places, and a clean slate once another backend is open. */
export interface BackendChoiceHost {
  run<T>(task: () => Promise<T>, place?: Place): Promise<T | undefined>
  opened(step: 'operation' | 'handout', handOut?: HandOutProgress): void
}

/**
 * The open backend as the page shows it (its description, a local keyset's
 * shares, its attempts) and the calls that open another: a keyset, a new
 * keyset, a server.
 */
export class BackendChoice {
  #info = $state<BackendInfo | null>(null)
  #shares = $state<ShareList | null>(null)
  /** The attempts as the page's first answer read them, each serving the first screen once: any later screen asks main again. */
  #firstStatuses: Partial<Record<Flow, UiAttemptStatus>> = {}

  constructor(
    private readonly api: TesseraApi,
    private readonly c: BackendChoiceHost,
  ) {}

  get info(): BackendInfo | null { return this.#info }
  /** The open keyset's (or server check file's) shares and whether they can be checked one by one; null when unknown. */
  get shares(): ShareList | null { return this.#shares }

  /** The backend as main described it, with a local keyset's shares (and, read with them, its attempts). */
  see(view: BackendView, statuses: Partial<Record<Flow, UiAttemptStatus>> = {}): void {
    this.#info = view.info
    this.#shares = view.shares
    this.#firstStatuses = statuses
  }

  /** An attempt's status, for the operation step: what runs where, before a flow is chosen. */
  attemptStatus(flow: Flow): Promise<UiAttemptStatus> {
    const read = this.#firstStatuses[flow]
    this.#firstStatuses = { ...this.#firstStatuses, [flow]: undefined }
    return read ? Promise.resolve(read) : this.api.attempt.status({ flow })
  }

  /** The keysets opened before here, that still exist. */
  async recent(): Promise<RecentKeyset[]> {
    return (await this.api.backend.recent().catch(() => ({ recent: [] }))).recent
  }

  async openKeyset(path: string, recovery: boolean): Promise<void> {
    const info = await this.c.run(() => this.api.backend.openKeyset({ path, recovery }), 'open')
    if (info) await this.opened(info, 'operation')
  }

  async connectRemote(id: string, token?: string): Promise<void> {
    const info = await this.c.run(() => this.api.backend.connectRemote({ id, ...(token ? { token } : {}) }))
    if (info) await this.opened(info, 'operation')
  }

  /** Creates a keyset and opens it on the hand-out of its shares; false when main refused (the refusal shows at the form). */
  async createKeyset(input: Input<'backend.initKeyset'>): Promise<boolean> {
    return this.handOut(await this.c.run(() => this.api.backend.initKeyset(input), 'create'))
  }

  /** Initializes the connected server and opens the hand-out of its shares; false when main refused (the refusal shows at the form). */
  async initServer(input: Input<'backend.initServer'>): Promise<boolean> {
    return this.handOut(await this.c.run(() => this.api.backend.initServer(input), 'create'))
  }

  /** The backend as it stands after an init, on the hand-out of its new shares. */
  private async handOut(summary: HandOutSummary | undefined): Promise<boolean> {
    if (!summary) return false
    await this.opened(await this.api.backend.describe(), 'handout', { summary, handedOut: Array.from({ length: summary.shares }, () => false) })
    return true
  }

  private async opened(info: BackendInfo, step: 'operation' | 'handout', handOut?: HandOutProgress): Promise<void> {
    // A server's shares are known only from its check file.
    const shares = info.kind === 'local' || info.shareChecks?.checked ? await this.api.shares.list().catch(() => null) : null
    this.see({ info, shares })
    this.c.opened(step, handOut)
  }
}
