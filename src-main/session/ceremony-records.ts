import { readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { AttemptStatus, Flow } from '../backend'
import type { Backend } from '../backend-interface'
import { EngineError } from '../engine/errors'
import { TesseraError } from '../support/errors'
import { CeremonyRecorder, type BackendFacts } from '../transcript/recorder'
import { renderReport } from '../transcript/report'
import { verifyTranscript } from '../transcript/verify'
import { defaultTranscriptPath } from '../transcript/writer'
import type { CeremonyRecord } from '../ipc/contract'

/** Most records one attempt can have: it is recorded again when resumed after its record was closed. */
const MAX_RESUMES = 100

/** A new record at `path`, or beside it ("-2", "-3", …) when the attempt already has one: a transcript is never overwritten. */
async function openNew(path: string, backend: Backend, facts: BackendFacts): Promise<CeremonyRecorder> {
  for (let n = 1; ; n++) {
    try {
      return await CeremonyRecorder.open(n === 1 ? path : path.replace(/\.jsonl$/, `-${n}.jsonl`), backend, facts)
    } catch (err) {
      if (!(err instanceof TesseraError && err.code === 'transcript_exists') || n >= MAX_RESUMES) throw err
    }
  }
}

/** The record of the attempt the session is running. */
interface Current {
  recorder: CeremonyRecorder
  flow: Flow
  nonce: string
}

/**
 * The transcripts of the session's ceremonies: one file per attempt, opened when
 * the attempt is started or first acted on through the session, closed when the
 * attempt is cancelled or its secrets are wiped. The last record stays known
 * after it is closed, so that it can still be printed.
 */
export class CeremonyRecords {
  private current: Current | null = null
  private last: { path: string; finalHash: string } | null = null
  private chosen: string | null = null

  constructor(private readonly configDir: string | undefined) {}

  /** Where new transcripts go: the operator's choice, else the app's data directory; null when there is neither. */
  get directory(): string | null {
    return this.chosen ?? (this.configDir ? join(this.configDir, 'transcripts') : null)
  }

  setDirectory(path: string): void {
    this.chosen = path
  }

  get state(): CeremonyRecord {
    const c = this.current
    const path = c ? c.recorder.transcript.path : this.last?.path ?? null
    const finalHash = c ? c.recorder.transcript.finalHash : this.last?.finalHash ?? null
    return { directory: this.directory, path, finalHash, open: c !== null }
  }

  /** Opens the record of an attempt just started (or found running) on `backend`. */
  async begin(flow: Flow, status: AttemptStatus, backend: Backend, facts: () => Promise<BackendFacts>): Promise<CeremonyRecorder | null> {
    const dir = this.directory
    if (!dir) return null
    await this.close()
    const recorder = await openNew(join(dir, basename(defaultTranscriptPath(dir, status.nonce))), backend, await facts())
    this.current = { recorder, flow, nonce: status.nonce }
    await recorder.started(flow, status)
    return recorder
  }

  /**
   * The record of the attempt a holder acts on: the open one when it is that
   * attempt's, else a new one for an attempt started elsewhere (resumed), or
   * none when the backend runs no attempt of that flow.
   */
  async of(flow: Flow, nonce: string, backend: Backend, facts: () => Promise<BackendFacts>): Promise<CeremonyRecorder | null> {
    const c = this.current
    if (c && c.flow === flow && c.nonce === nonce) return c.recorder
    const status = await backend.status(flow)
    if (!status.started) return null
    if (c && c.flow === flow && c.nonce === status.nonce) return c.recorder
    return this.begin(flow, status, backend, facts)
  }

  /** The open record, whichever attempt it is of. */
  get open(): CeremonyRecorder | null {
    return this.current?.recorder ?? null
  }

  /** The open record when it is of `flow`. */
  ofFlow(flow: Flow): CeremonyRecorder | null {
    return this.current?.flow === flow ? this.current.recorder : null
  }

  /** Records the wipe and closes the record: the ceremony is over. */
  wiped(): Promise<void> {
    return this.end((r) => r.wiped())
  }

  /** Closes the record without a wipe event (the attempt was cancelled or replaced). */
  close(): Promise<void> {
    return this.end((r) => r.transcript.close())
  }

  /** Ends the open record with its last lines; it stays the last record, printable, even if they fail. */
  private async end(last: (recorder: CeremonyRecorder) => Promise<string>): Promise<void> {
    const c = this.current
    if (!c) return
    this.current = null
    this.last = { path: c.recorder.transcript.path, finalHash: c.recorder.transcript.finalHash }
    try {
      this.last.finalHash = await last(c.recorder)
    } catch (err) {
      // The file keeps its valid prefix; its handle is not left open.
      await c.recorder.transcript.abandon()
      throw err
    }
  }

  /** The process is going away: the record stays a valid prefix, without a closing line. */
  abandon(): void {
    void this.current?.recorder.transcript.abandon()
    this.current = null
  }

  /** The print-ready record of the current or last ceremony, from its file as verified now. */
  async report(): Promise<{ html: string; path: string; finalHash: string; verified: boolean }> {
    const path = this.state.path
    if (!path) throw new EngineError(404, 'no ceremony has been recorded in this session yet', 'no_record')
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      throw new EngineError(500, `could not read the ceremony record ${path}: ${(err as NodeJS.ErrnoException).code ?? 'read failed'}`, 'transcript_read')
    }
    const v = verifyTranscript(text)
    const chain = v.ok ? v : v.prefix
    const html = renderReport(chain.lines, chain.finalHash, v.ok ? {} : { problem: v.problem })
    return { html, path, finalHash: chain.finalHash, verified: v.ok }
  }
}
