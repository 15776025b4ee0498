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
  private last: Promise<void> = Promise.resolve()

  constructor(
    private readonly stream: NodeJS.WritableStream,
    readonly name: string,
    private readonly onFailure: (output: Output) => void = () => undefined,
  ) {
    stream.on('error', (err: unknown) => this.fail(err))
  }

  /** Settles once the system took the text; rejects when it could not. */
  write(text: string): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    const written = new Promise<void>((resolve, reject) => {
      this.stream.write(text, (err) => {
        if (!err) return resolve()
        this.fail(err)
        reject(err)
      })
    })
    this.last = written.catch(() => undefined)
    return written
  }

  /** For messages whose loss is handled by `onFailure` and the exit code, not by the writer. */
  say(text: string): void {
    this.write(text).catch(() => undefined)
  }

  /** Every write made so far has succeeded or failed. */
  async settled(): Promise<void> {
    await this.last
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return
    this.failure = err ?? new Error('write failed')
    this.onFailure(this)
  }
}
