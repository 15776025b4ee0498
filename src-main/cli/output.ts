import { systemReason } from '../support/errors'

/** A write's failure in words: a pipe whose reader went away, or a system fault (ENOSPC …). */
export function outputFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' ? 'the reading end was closed' : systemReason(err)
}

/**
 * Standard output or error, where a failed write (EPIPE, ENOSPC, a closed
 * stream) is recorded instead of ending the process with an unhandled 'error'
 * event. After the first failure nothing more is written to it: the caller
 * decides what the loss means (a server keeps serving; a command exits 1).
 */
export class Output {
  failure: unknown
  private pending = 0
  private waiting: Array<() => void> = []

  constructor(
    private readonly stream: NodeJS.WritableStream,
    readonly name: string,
    private readonly onFailure: (output: Output) => void = () => undefined,
  ) {
    stream.on('error', (err: unknown) => this.fail(err))
  }

  /** For messages whose loss is handled by `onFailure` and the exit code, not by the writer (a log line: no promise each). */
  say(text: string): void {
    if (this.failure !== undefined) return
    this.pending++
    this.stream.write(text, this.written)
  }

  /** Settles once the system took the text; rejects when it could not. */
  write(text: string): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    this.pending++
    return new Promise((resolve, reject) => {
      this.stream.write(text, (err) => {
        this.written(err)
        if (err) reject(err)
        else resolve()
      })
    })
  }

  /** Every write made so far has succeeded or failed. */
  settled(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve))
  }

  private readonly written = (err?: Error | null) => {
    if (err) this.fail(err)
    if (--this.pending === 0) for (const resolve of this.waiting.splice(0)) resolve()
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return
    this.failure = err ?? new Error('write failed')
    this.onFailure(this)
  }
}
