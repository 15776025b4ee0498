import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import * as v from 'valibot'
import { NONCE } from '../backend'
import { systemReason, TesseraError } from '../support/errors'
import { VERSION } from '../version'
import { GENESIS, lineHash, MAX_FILE_BYTES, MAX_LINE_BYTES, serializeLine } from './chain'
import { EventSchema, FORMAT_VERSION, SERVER_ORIGIN, SHAPED_FIELDS, type BackendFacts, type CeremonyEvent, type RecordEvent } from './events'
import { describeIssue } from '../support/issues'
import { looksLikeSecret } from '../support/secret-shape'

/**
 * Where a ceremony's record goes by default: one file per ceremony, named by
 * date and something unique that is not secret (an attempt's nonce; for an init,
 * `init-` and the new keyset's fingerprint prefix).
 */
export function defaultRecordPath(dir: string, id: string, date = new Date()): string {
  if (!NONCE.test(id)) throw new TesseraError('record_event', 'a record is named by an attempt nonce or a keyset fingerprint')
  // A server's nonce may hold '/' or ':', which have no place in a file name.
  return join(dir, `${date.toISOString().slice(0, 10)}-${id.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`)
}

/** Throws when a string anywhere in the event looks like a secret; names the field, never the text. */
function refuseSecrets(type: string, value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (looksLikeSecret(value)) {
      throw new TesseraError('record_secret', `refused to record a ${type} event: ${path} looks like a secret`)
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (SHAPED_FIELDS.has(key) || (key === 'server' && typeof inner === 'string' && SERVER_ORIGIN.test(inner))) continue
      refuseSecrets(type, inner, `${path}.${key}`)
    }
  }
}

/**
 * The room kept at the end of the file for the lines that end a ceremony, so
 * that a full record still closes in order below the size `verify` reads.
 */
const ENDING_ROOM = 16 * 1024
const ENDINGS: ReadonlySet<string> = new Set(['refusals_summarized', 'cancelled', 'init_finished', 'init_abandoned', 'wiped', 'closed'])

/** Checks an event against its type's schema and the secret guard: a failure is a bug in the caller. */
function checked(event: RecordEvent): RecordEvent {
  const type = typeof (event as { type?: unknown })?.type === 'string' ? (event as { type: string }).type : 'unknown'
  // The guard goes first, so that a secret typed where a name goes is called one, whatever else is wrong with it.
  refuseSecrets(type, (event as { data?: unknown })?.data, 'data')
  const parsed = v.safeParse(EventSchema, event)
  if (!parsed.success) {
    throw new TesseraError('record_event', `refused to record a ${type} event: ${describeIssue(parsed.issues, 'event')}`)
  }
  return parsed.output
}

/**
 * A ceremony's record: JSON Lines, each line hash-chained to the one before
 * and fsynced before `append` resolves, so that a crash leaves a valid prefix.
 * Appends run one at a time in call order. The file is created new (mode 0600)
 * and never overwritten; its first line records the tool and the backend. After
 * a failed write the file may end in a torn line, so every later append fails
 * with the same sentence.
 */
export class RecordWriter {
  private queue: Promise<unknown> = Promise.resolve()
  private failure: TesseraError | undefined
  private closed = false
  private bytes = 0

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private seq: number,
    private prev: string,
  ) {}

  static async create(path: string, backend: BackendFacts): Promise<RecordWriter> {
    let handle: FileHandle
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 })
      handle = await open(path, 'wx', 0o600)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new TesseraError('record_exists', `a record already exists at ${path}; Tessera never overwrites one`)
      }
      throw new TesseraError('record_write', `could not create the record ${path}: ${systemReason(err)}`)
    }
    const writer = new RecordWriter(path, handle, 0, GENESIS)
    try {
      await writer.write({ type: 'backend_opened', data: { tool: 'tessera', version: VERSION, format: FORMAT_VERSION, ...backend } })
      // The new name must survive a crash as well as the line.
      const dir = await open(dirname(path), 'r')
      await dir.sync().finally(() => dir.close())
    } catch (err) {
      // A record without its first line records nothing: no empty file is left behind.
      await handle.close().catch(() => undefined)
      await unlink(path).catch(() => undefined)
      throw err instanceof TesseraError ? err : writeError(err)
    }
    return writer
  }

  /** The hash of the last line written: what a verified copy of this file ends with. */
  get finalHash(): string {
    return this.prev
  }

  /** Records one event; resolves once its line is on disk, with that line's hash. */
  append(event: CeremonyEvent): Promise<string> {
    const type: string = event.type
    if (type === 'backend_opened' || type === 'closed') {
      return Promise.reject(new TesseraError('record_event', `refused to record a ${type} event: only the record itself writes it`))
    }
    return this.enqueue(() => this.write(event))
  }

  /** Writes the closing line, after which nothing can be appended, and closes the file. */
  close(): Promise<string> {
    return this.enqueue(async () => {
      const hash = await this.write({ type: 'closed', data: {} })
      this.closed = true
      await this.handle.close().catch(() => undefined)
      return hash
    })
  }

  /** Closes the file without a closing line (the process is going away; the record stays a valid prefix). */
  async abandon(): Promise<void> {
    await this.enqueue(async () => {
      this.closed = true
      await this.handle.close().catch(() => undefined)
    }).catch(() => undefined)
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task)
    this.queue = run.catch(() => undefined)
    return run
  }

  private async write(event: RecordEvent): Promise<string> {
    if (this.failure) throw this.failure
    if (this.closed) throw new TesseraError('record_closed', 'the record is closed; nothing more can be recorded')
    const ok = checked(event)
    const text = serializeLine({ seq: this.seq, time: new Date().toISOString(), type: ok.type, data: ok.data, prev: this.prev })
    const size = Buffer.byteLength(text) + 1
    if (size > MAX_LINE_BYTES) {
      throw new TesseraError('record_event', `refused to record a ${ok.type} event: longer than a record line may be`)
    }
    if (this.bytes + size > MAX_FILE_BYTES - (ENDINGS.has(ok.type) ? 0 : ENDING_ROOM)) {
      throw new TesseraError('record_full', `the record is full (${MAX_FILE_BYTES / 1024 / 1024} MiB, the most tessera record verify reads): nothing more can be recorded; cancel or wipe to close it`)
    }
    try {
      // writeFile, unlike write, carries on after a partial write until all is written or it fails.
      await this.handle.writeFile(`${text}\n`)
      await this.handle.sync()
    } catch (err) {
      this.failure = writeError(err)
      throw this.failure
    }
    this.seq += 1
    this.bytes += size
    this.prev = lineHash(text)
    return this.prev
  }
}

function writeError(err: unknown): TesseraError {
  return new TesseraError('record_write', `could not write the record: ${systemReason(err)}`)
}
