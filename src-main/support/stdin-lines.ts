import type { ReadLimit } from './bounded-read'
import { TesseraError } from './errors'

/** One line of standard input at a time, as bytes the caller wipes; null once it ended. */
export interface LineReader {
  next(prompt: string): Promise<Buffer | null>
  close(): void
}

const NEWLINE = 0x0a

/**
 * Standard input read a line at a time, each bounded by `limit`, for commands
 * that answer between lines (a rekey hands out its new shares, then reads them
 * back). On a terminal the prompt goes to `ask` and nothing typed is echoed, as
 * a password prompt; a pipe is read as it comes. Nothing read is kept beyond
 * the line handed out: every buffer is wiped once copied on.
 */
export function stdinLines(limit: ReadLimit, ask: (prompt: string) => void): LineReader {
  const stdin = process.stdin
  const tty = stdin.isTTY === true
  let pending = Buffer.alloc(0)
  let ended = false
  let failure: unknown
  let wake: (() => void) | null = null
  const append = (bytes: Buffer) => {
    const joined = Buffer.concat([pending, bytes])
    pending.fill(0)
    pending = joined
  }
  const typed = (chunk: Buffer) => {
    for (const byte of chunk) {
      if (byte === 0x03) failure = new TesseraError('cli', 'interrupted')
      else if (byte === 0x04 && pending.length === 0) ended = true
      else if (byte === 0x7f || byte === 0x08) pending = pending.subarray(0, Math.max(0, pending.length - 1))
      else append(Buffer.of(byte === 0x0d ? NEWLINE : byte))
    }
  }
  const onData = (chunk: Buffer) => {
    if (tty) typed(chunk)
    else append(chunk)
    chunk.fill(0)
    if (pending.indexOf(NEWLINE) < 0 && pending.length > limit.bytes) {
      failure = new TesseraError('read_refused', `a line of standard input is longer than ${limit.bytes} bytes, the limit for ${limit.what}`)
      stdin.destroy()
    }
    wake?.()
  }
  const onEnd = () => {
    ended = true
    wake?.()
  }
  const onError = (err: unknown) => {
    failure = err
    wake?.()
  }
  stdin.on('data', onData).on('end', onEnd).on('error', onError)
  if (tty) stdin.setRawMode(true)
  stdin.resume()

  const take = (end: number, skip: number) => {
    const line = Buffer.from(pending.subarray(0, end))
    const rest = Buffer.from(pending.subarray(end + skip))
    pending.fill(0)
    pending = rest
    return line
  }
  return {
    async next(prompt) {
      if (tty) ask(prompt)
      for (;;) {
        const at = pending.indexOf(NEWLINE)
        if (at >= 0) {
          if (tty) ask('\n')
          return take(at, 1)
        }
        if (failure) throw failure
        if (ended) return pending.length > 0 ? take(pending.length, 0) : null
        await new Promise<void>((resolve) => (wake = resolve))
        wake = null
      }
    },
    close() {
      stdin.off('data', onData).off('end', onEnd).off('error', onError)
      if (tty) stdin.setRawMode(false)
      stdin.pause()
      pending.fill(0)
    },
  }
}
