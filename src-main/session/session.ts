import type { Flow } from '../backend'
import type { Connections } from '../profiles/connections'
import { Records, type RecordPrinter } from './records'
import { CeremonySession } from './ceremony-session'
import { ClipboardCopier, type Clipboard } from './clipboard'
import { Decoding } from './decoding'
import { HandOut } from './hand-out'
import { createKeyset, type InitInput } from './keyset-init'
import { initServer, type ServerInitInput } from './server-init'
import { TesseraError } from '../support/errors'
import { ResultKeeper } from './held-result'
import { Profiles } from './profiles'
import { RecentKeysets } from './recent-keysets'
import { Unsealing } from './unseal'
import { RekeyCeremony, type Entered } from './rekey'
import { VERSION } from '../version'
import type { BackendView, HandOutSummary, RekeyReply, SessionSnapshot, SessionState, UpdateReply } from './views'

/** What stopping Tessera ended, for the operator: the attempt it cancelled, and what it dropped unheld, in sentences. */
export interface Stopped {
  cancelled: Flow | null
  dropped: string[]
}

export interface SessionOptions {
  /** Server profiles and their tokens; absent, remote mode is not offered. */
  connections?: Connections
  clipboard?: Clipboard
  /** Where recently opened keyset paths and ceremony records are kept; absent, none are. */
  configDir?: string
  /** Prints a ceremony record to a PDF file (the desktop app); absent, the page prints it. */
  printer?: RecordPrinter
  /**
   * Prints the app's own window through the system print dialog (the desktop
   * app); resolves true once the printer took it, false when cancelled or
   * failed. Absent, the page prints itself and says so after its dialog closed.
   */
  printWindow?: () => Promise<boolean>
}

/**
 * The main-process side of one UI: its services, built together because they
 * share the ceremony records and what stopping or wiping ends. Every secret
 * they hold is a Buffer that `wipe` zeroes.
 */
export class Session {
  readonly records: Records
  readonly result: ResultKeeper
  readonly ceremony: CeremonySession
  readonly handOut: HandOut
  readonly decoding: Decoding
  readonly clipboard: ClipboardCopier
  readonly profiles: Profiles
  readonly unseal: Unsealing
  readonly rekey: RekeyCeremony

  constructor(opts: SessionOptions = {}) {
    this.records = new Records(opts.configDir, opts.printer)
    this.result = new ResultKeeper(this.records)
    const recent = opts.configDir ? new RecentKeysets(opts.configDir) : null
    this.ceremony = new CeremonySession(this.records, this.result, recent, opts.connections)
    this.handOut = new HandOut(opts.printWindow)
    this.decoding = new Decoding(this.ceremony, this.result)
    this.clipboard = new ClipboardCopier(this.result, opts.clipboard)
    this.profiles = new Profiles(opts.connections)
    this.unseal = new Unsealing(this.records, () => this.ceremony.openBackend)
    this.ceremony.onLeave(() => this.unseal.left())
    this.rekey = new RekeyCeremony(this.ceremony, this.records, this.handOut)
  }

  /** What main keeps for the page, so that a reload loses nothing. */
  async state(): Promise<SessionState> {
    return { result: this.result.view(), handOut: this.handOut.view(), log: this.ceremony.log, record: this.records.state }
  }

  /** The open backend: its description, and a local keyset's shares. */
  async backend(): Promise<BackendView> {
    const info = await this.ceremony.describe()
    return { info, shares: this.ceremony.shareList() }
  }

  /** The first screen's data: the backend, main's state and each offered flow's attempt. */
  async snapshot(): Promise<SessionSnapshot> {
    const backend = await this.backend()
    const flows = backend.info.seal?.flows ?? []
    const read = await Promise.all(flows.map(async (flow) => [flow, await this.ceremony.status(flow).catch(() => null)] as const))
    const statuses = Object.fromEntries(read.filter(([, status]) => status !== null))
    return { version: VERSION, backend, state: await this.state(), statuses, rekey: await this.rekey.view() }
  }

  /** One share entered: the attempt's status, and the state after it, so that one share costs one call. */
  async update(flow: Flow, key: string, nonce: string, holder?: string): Promise<UpdateReply> {
    const status = await this.ceremony.update(flow, key, nonce, holder)
    return { ...status, state: await this.state(), ...(status.complete ? { backend: await this.backend() } : {}) }
  }

  /** A share entered toward a rekey: the rekey after it, and main's state (a hand-out begun; the backend once the new shares took effect). */
  async rekeyReply({ view, share, complete }: Entered): Promise<RekeyReply> {
    return { ...view, ...(share ? { last_share: share } : {}), complete, state: await this.state(), ...(complete ? { backend: await this.backend() } : {}) }
  }

  /** Creates a keyset, opens it, and holds its shares for the hand-out. */
  async initKeyset(input: InitInput): Promise<HandOutSummary> {
    this.handOut.assertIdle()
    const shares = await createKeyset(this.records, this.ceremony, input)
    this.handOut.hold(shares)
    return shares.summary
  }

  private initializing = false

  /** Initializes the open server (PUT sys/init) and holds its shares for the hand-out; one init at a time. */
  async initServer(input: ServerInitInput): Promise<HandOutSummary> {
    this.handOut.assertIdle()
    const server = this.ceremony.server
    if (!server) throw new TesseraError('no_backend', 'initializing a server needs its profile connected: connect to the server first')
    if (this.initializing) throw new TesseraError('init_running', 'this server is being initialized already: wait for its shares')
    this.initializing = true
    try {
      const shares = await initServer(this.records, server, input)
      this.handOut.hold(shares)
      return shares.summary
    } finally {
      this.initializing = false
    }
  }

  /** What closing the app would destroy: a finished result, or shares not yet handed out. */
  get heldSecret(): 'result' | 'hand-out' | null {
    if (this.result.held) return 'result'
    if (this.handOut.active) return 'hand-out'
    return null
  }

  /** Ends the hand-out (refused while a share was never handed out, unless `abandon`) and wipes what was held. */
  async finishHandOut(abandon: boolean): Promise<{ wiped: true }> {
    this.handOut.assertFinished(abandon)
    await this.rekey.handOutEnding(this.handOut.view())
    return this.wipeRecorded()
  }

  /** Records the wipe, then drops every secret, even when the record could not be written. */
  async wipeRecorded(): Promise<{ wiped: true }> {
    try {
      await this.records.wiped()
    } finally {
      this.wipe()
    }
    return { wiped: true }
  }

  /** Drops every secret held (the process is going away: a record still open stays a valid prefix). */
  wipe(): void {
    this.records.abandon()
    this.ceremony.wipe()
    this.result.wipe()
    this.handOut.wipe()
  }

  /**
   * The process is going away: every secret is dropped and the open backend
   * closed. A finished result nobody took and shares never handed out are said
   * and recorded, and their records closed; a record that cannot be written
   * stays a valid prefix.
   */
  async close(): Promise<Stopped> {
    const cancelled = this.ceremony.runningFlow
    const dropped = [...(await this.result.dropped()), ...this.handOut.unheld()]
    await this.rekey.stop()
    if (this.heldSecret) {
      // The sentences still say what was lost.
      await this.records.wiped('stopped').catch(() => undefined)
    }
    this.wipe()
    await this.ceremony.close()
    return { cancelled, dropped }
  }
}
