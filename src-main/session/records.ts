import { readFailure, readRegularFile } from '../support/bounded-read'
import { join } from 'node:path'
import type { AttemptStatus, Flow } from '../backend'
import type { Backend } from '../backend-interface'
import { TesseraError } from '../support/errors'
import { InitRecord, type InitFacts, type ServerInitFacts, type ServerInitRecord } from '../record/init-record'
import { RekeyRecord } from '../record/rekey-record'
import type { AbandonReason, HandOutRecord } from '../record/hand-out-record'
import { AttemptRecord, type BackendFacts } from '../record/attempt-record'
import type { AttemptRecords } from '../record/recording-backend'
import { printRecord } from '../record/printed'
import { verifyRecord } from '../record/verify'
import { RECORD_LIMIT } from '../record/chain'
import { defaultRecordPath, type RecordWriter } from '../record/writer'
import type { CeremonyRecord } from './views'

/** What prints a ceremony record's HTML to a PDF file the operator picks; null when they cancelled. */
export interface RecordPrinter {
  printToPdf(html: string, pageSize: 'A4' | 'Letter'): Promise<string | null>
}

/** Most records one attempt can have: it is recorded again when resumed after its record was closed. */
const MAX_RESUMES = 100

/** A new record at `path`, or beside it ("-2", "-3", …) when the ceremony already has one: a record is never overwritten. */
async function openNew<T>(path: string, open: (path: string) => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await open(n === 1 ? path : path.replace(/\.jsonl$/, `-${n}.jsonl`))
    } catch (err) {
      if (!(err instanceof TesseraError && err.code === 'record_exists') || n >= MAX_RESUMES) throw err
    }
  }
}

/** The record of the attempt the session is running. */
interface Current {
  record: AttemptRecord
  flow: Flow
  nonce: string
}

/**
 * The records of the session's ceremonies: one file per attempt, opened when
 * the attempt is started or first acted on through the session, closed when the
 * attempt is cancelled or its secrets are wiped; and one per init, opened when
 * the keyset is created and closed when its hand-out ends. The last record stays
 * known after it is closed, so that it can still be printed.
 */
export class Records {
  private current: Current | null = null
  /** A hand-out's record, beside any attempt's (a held result keeps its own open). */
  private handOutRecord: HandOutRecord | null = null
  /** The record of a ceremony that is no attempt (an unseal), beside any attempt's. */
  private other: RecordWriter | null = null
  /** Which of the attempt's record and the other one opened last, while both are open: the one on screen. */
  private otherIsNewer = false
  /** A rekey's record, open from its start to its end, through its hand-out and its verification. */
  private rekeyRecord: RekeyRecord | null = null
  private last: { path: string; finalHash: string } | null = null
  private chosen: string | null = null

  constructor(
    private readonly configDir: string | undefined,
    private readonly printer?: RecordPrinter,
  ) {}

  /** Where new records go: the operator's choice, else the app's data directory; null when there is neither. */
  get directory(): string | null {
    return this.chosen ?? (this.configDir ? join(this.configDir, 'records') : null)
  }

  setDirectory(path: string): CeremonyRecord {
    this.chosen = path
    return this.state
  }

  /** The record being written: a hand-out's while it runs, else a rekey's, else the newer of an attempt's and another ceremony's. */
  private get running(): RecordWriter | undefined {
    if (this.handOutRecord) return this.handOutRecord.writer
    if (this.rekeyRecord) return this.rekeyRecord.writer
    const attempt = this.current?.record.writer
    const other = this.other ?? undefined
    return this.otherIsNewer ? (other ?? attempt) : (attempt ?? other)
  }

  /** The record on screen: the one being written, else the last one. */
  get state(): CeremonyRecord {
    const t = this.running
    const path = t ? t.path : this.last?.path ?? null
    const finalHash = t ? t.finalHash : this.last?.finalHash ?? null
    return { directory: this.directory, path, finalHash, open: t !== undefined }
  }

  /**
   * Opens the record of an init ceremony, before its keyset is written (a keyset
   * whose creation cannot be recorded is not created); `beginHandOut` makes it
   * the session's once the keyset is open. Null when there is no directory.
   */
  async openInit(facts: InitFacts): Promise<InitRecord | null> {
    const dir = this.directory
    if (!dir) return null
    return openNew(defaultRecordPath(dir, `init-${facts.keysetFingerprint.slice(0, 16)}`), (path) => InitRecord.open(path, facts))
  }

  /**
   * Opens the record of a server's init (`name`: the profile's id), before
   * sys/init is called: a server whose init cannot be recorded is not
   * initialized. Null when there is no directory.
   */
  async openServerInit(name: string, facts: ServerInitFacts): Promise<ServerInitRecord | null> {
    const dir = this.directory
    if (!dir) return null
    return openNew(defaultRecordPath(dir, `init-server-${name}`), (path) => InitRecord.openServer(path, facts))
  }

  /** Opens the record of a rekey just started (named by its nonce); null when there is no directory. */
  async openRekey(nonce: string, facts: BackendFacts): Promise<RekeyRecord | null> {
    const dir = this.directory
    if (!dir) return null
    this.rekeyRecord = await openNew(defaultRecordPath(dir, `rekey-${nonce}`), (path) => RekeyRecord.open(path, facts))
    return this.rekeyRecord
  }

  /** The rekey is over: its record ends with the wipe, and stays the last one, printable. */
  async endRekey(): Promise<void> {
    const r = this.rekeyRecord
    this.rekeyRecord = null
    if (r) await this.end(r.writer, () => r.end())
  }

  /** The hand-out's record is the session's until the hand-out ends. */
  beginHandOut(record: HandOutRecord): void {
    this.handOutRecord = record
  }

  /**
   * Opens the record of a ceremony that is no attempt (an unseal), named by
   * `id`: the record on screen until `endOther`. Null when there is no directory.
   */
  async openOther<T extends { writer: RecordWriter }>(id: string, open: (path: string) => Promise<T>): Promise<T | null> {
    const dir = this.directory
    if (!dir) return null
    const made = await openNew(defaultRecordPath(dir, id), open)
    this.other = made.writer
    this.otherIsNewer = true
    return made
  }

  /** Ends the record `openOther` opened with its last lines; it stays the last record, printable. */
  async endOther(last: () => Promise<string>): Promise<void> {
    const writer = this.other
    this.other = null
    if (writer) await this.end(writer, last)
  }

  /** The records of the attempts run on `backend`, one file per attempt, for a `RecordingBackend` around it. */
  attemptsOn(backend: Backend, facts: () => Promise<BackendFacts>): AttemptRecords {
    return {
      started: (flow, status) => this.begin(flow, status, backend, facts),
      running: (flow, nonce) => this.of(flow, nonce, backend, facts),
      cancelling: (flow) => this.ofFlow(flow),
      cancelled: () => this.close(),
    }
  }

  /** Opens the record of an attempt just started (or found running) on `backend`, closing the one before. */
  private async begin(flow: Flow, status: AttemptStatus, backend: Backend, facts: () => Promise<BackendFacts>): Promise<AttemptRecord | null> {
    const dir = this.directory
    if (!dir) return null
    await this.close()
    const opened = await facts()
    const record = await openNew(defaultRecordPath(dir, status.nonce), (path) => AttemptRecord.open(path, backend, opened))
    this.current = { record, flow, nonce: status.nonce }
    this.otherIsNewer = false
    return record
  }

  /**
   * The record of the attempt a holder acts on: the open one when it is that
   * attempt's, else a new one for an attempt started elsewhere (resumed), or
   * none when the backend runs no attempt of that flow.
   */
  private async of(flow: Flow, nonce: string, backend: Backend, facts: () => Promise<BackendFacts>): Promise<AttemptRecord | null> {
    const c = this.current
    if (c && c.flow === flow && c.nonce === nonce) return c.record
    const status = await backend.status(flow)
    if (!status.started) return null
    if (c && c.flow === flow && c.nonce === status.nonce) return c.record
    const record = await this.begin(flow, status, backend, facts)
    await record?.started(flow, status)
    return record
  }

  /** The open record, whichever attempt it is of. */
  get open(): AttemptRecord | null {
    return this.current?.record ?? null
  }

  /** The open record when it is of `flow`. */
  private ofFlow(flow: Flow): AttemptRecord | null {
    return this.current?.flow === flow ? this.current.record : null
  }

  /**
   * Records the wipe and closes the records: the ceremony is over. A
   * hand-out's record first says how it ended (finished, or which shares were
   * never handed out, and `reason` why it ended early); it is closed last, so
   * that it is the one left to print.
   */
  async wiped(reason?: AbandonReason): Promise<void> {
    const handOut = this.handOutRecord
    this.handOutRecord = null
    try {
      await this.attemptWiped()
    } finally {
      if (handOut) await this.end(handOut.writer, () => handOut.ended(reason))
    }
  }

  /** Ends the attempt's record with its wipe (its backend is left); a hand-out's record stays open. */
  async attemptWiped(): Promise<void> {
    const c = this.current
    this.current = null
    if (c) await this.end(c.record.writer, () => c.record.wiped())
  }

  /** Closes the attempt's record without a wipe event (the attempt was cancelled or replaced). */
  async close(): Promise<void> {
    const c = this.current
    this.current = null
    if (c) await this.end(c.record.writer, () => c.record.close())
  }

  /** Ends a record with its last lines; it stays the last record, printable, even if they fail. */
  private async end(writer: RecordWriter, last: () => Promise<string>): Promise<void> {
    this.last = { path: writer.path, finalHash: writer.finalHash }
    try {
      this.last.finalHash = await last()
    } catch (err) {
      // The file keeps its valid prefix; its handle is not left open.
      await writer.abandon()
      throw err
    }
  }

  /** The process is going away: the records stay valid prefixes, without a closing line. */
  abandon(): void {
    void this.current?.record.writer.abandon()
    void this.handOutRecord?.writer.abandon()
    void this.other?.abandon()
    this.current = null
    this.handOutRecord = null
    this.other = null
  }

  /** Prints the record to a PDF file the operator picks (the desktop app); the path, or null when they cancelled. */
  async printPdf(pageSize: 'A4' | 'Letter'): Promise<{ saved: string | null }> {
    if (!this.printer) throw new TesseraError('unsupported', 'this window prints the record through the browser, not through Tessera')
    return { saved: await this.printer.printToPdf((await this.printable()).html, pageSize) }
  }

  /** The print-ready record of the current or last ceremony, from its file as verified now. */
  async printable(): Promise<{ html: string; path: string; finalHash: string; verified: boolean }> {
    const path = this.state.path
    if (!path) throw new TesseraError('no_record', 'no ceremony has been recorded in this session yet')
    let text: string
    try {
      text = (await readRegularFile(path, RECORD_LIMIT)).toString('utf8')
    } catch (err) {
      throw new TesseraError('record_read', `could not read the ceremony record ${path}: ${readFailure(err)}`)
    }
    const v = verifyRecord(text)
    const chain = v.ok ? v : v.prefix
    const html = printRecord(chain.lines, chain.finalHash, v.ok ? {} : { problem: v.problem })
    return { html, path, finalHash: chain.finalHash, verified: v.ok }
  }
}
