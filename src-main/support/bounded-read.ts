import { constants, fstat, type Stats } from 'node:fs'
import { open } from 'node:fs/promises'
import { hasCode, systemReason, TesseraError } from './errors'

/** The most a reader takes from one file or stream, and what it is for, as its refusal names it. */
export interface ReadLimit {
  bytes: number
  /** "a PGP key", "a keyset": said in "larger than 1 MiB, the limit for a PGP key". */
  what: string
}

/** A file or stream refused before it could cost anything: not a regular file, or above its limit. */
const readRefused = (message: string) => new TesseraError('read_refused', message)

/** Why a read failed, in words: a refusal as it was said, a system fault by name. */
export function readFailure(err: unknown): string {
  return hasCode(err, 'read_refused') ? err.message : systemReason(err)
}

function sizeInWords(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / 1024 / 1024} MiB`
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`
  return `${bytes} bytes`
}

const tooLarge = (limit: ReadLimit) => readRefused(`it is larger than ${sizeInWords(limit.bytes)}, the limit for ${limit.what}`)

function notRegular(info: Stats): TesseraError | undefined {
  if (info.isFile()) return undefined
  if (info.isDirectory()) return readRefused('is a directory')
  const kind = info.isFIFO() ? 'a FIFO' : info.isSocket() ? 'a socket' : 'a device'
  return readRefused(`it is ${kind}, not a regular file`)
}

/**
 * Without O_NONBLOCK, opening a FIFO for reading parks a thread-pool thread
 * until a writer appears (four such opens stall every file operation of the
 * process); with it the open returns at once, and the handle is then checked.
 * O_NOCTTY: a terminal named as a file must not become the controlling one.
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0)

/**
 * Reads a regular file of at most `limit.bytes`. The checks are made on the open
 * handle, so a path swapped after a check cannot slip past; a file that grows
 * past the limit while it is read is refused too. System faults (ENOENT …) are
 * thrown as they are; a refusal has the code read_refused. `readFailure` words either.
 */
export async function readRegularFile(path: string, limit: ReadLimit): Promise<Buffer> {
  const handle = await open(path, OPEN_FLAGS)
  try {
    const info = await handle.stat()
    const refused = notRegular(info) ?? (info.size > limit.bytes ? tooLarge(limit) : undefined)
    if (refused) throw refused
    // Sized by the file, not the limit; grown if the file grows while it is read (a record being appended to).
    let buffer = Buffer.alloc(info.size + 1)
    let filled = 0
    for (;;) {
      if (filled === buffer.length) {
        if (filled > limit.bytes) {
          buffer.fill(0)
          throw tooLarge(limit)
        }
        const bigger = Buffer.alloc(Math.min(limit.bytes + 1, buffer.length * 2))
        buffer.copy(bigger)
        buffer.fill(0)
        buffer = bigger
      }
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    const content = Buffer.from(buffer.subarray(0, filled))
    // The file may be a secret (a share, an OTP, a passphrase): no copy stays behind.
    buffer.fill(0)
    return content
  } finally {
    await handle.close()
  }
}

/**
 * Reads standard input to its end, at most `limit.bytes`: a regular file is
 * refused by its size before it is read; anything else (a pipe, a terminal,
 * /dev/null or /dev/zero) is read only up to the limit and refused past it,
 * with what came wiped.
 */
export async function readStdin(limit: ReadLimit): Promise<Buffer> {
  const info = await new Promise<Stats>((resolve, reject) => fstat(0, (err, s) => (err ? reject(err) : resolve(s))))
  if (info.isFile() && info.size > limit.bytes) throw tooLarge(limit)
  const stdin = process.stdin
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let total = 0
    const settle = (outcome: () => void) => {
      stdin.off('data', onData).off('end', onEnd).off('error', onError)
      outcome()
      for (const c of chunks) c.fill(0)
    }
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      total += chunk.length
      if (total <= limit.bytes) return
      settle(() => reject(tooLarge(limit)))
      // Nothing more is read: the writer gets EPIPE instead of filling memory.
      stdin.destroy()
    }
    const onEnd = () => settle(() => resolve(Buffer.concat(chunks)))
    const onError = (err: unknown) => settle(() => reject(err))
    stdin.on('data', onData).on('end', onEnd).on('error', onError)
  })
}
