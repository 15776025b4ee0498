import { ERRORS, type ErrorCode } from './error-codes'
import { redact } from './redact'

export type { ErrorCode } from './error-codes'

/** The codes main raises: all but those the page gives itself (no status: no Tessera server answered). */
export type RaisedCode = { [C in ErrorCode]: (typeof ERRORS)[C]['status'] extends number ? C : never }[ErrorCode]

/**
 * The one error for everything an operator may read; its code is one of
 * error-codes.ts, which gives its status and sentence. Every transport maps it
 * in one place: the HTTP API to `{"errors": [message]}` with `status`, the IPC
 * router and the web host to `{code, message, detail?}`, the CLI to the code's
 * exit status with the message.
 * Messages are written by Tessera and never carry a value that was sent; they
 * are bounded so that no caller can turn an error into a flood.
 */
export const MAX_MESSAGE_CHARS = 600
/** A detail is someone else's words (a server's): shorter still. */
export const MAX_DETAIL_CHARS = 300

const bounded = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text)

export class TesseraError extends Error {
  override readonly name = 'TesseraError'
  readonly status: number
  readonly code: RaisedCode
  /**
   * Optional words beside the message, such as what a remote server said. They
   * come from outside Tessera, so they pass the redactor (a server may echo a
   * secret it was sent) and are bounded.
   */
  readonly detail?: string

  constructor(code: RaisedCode, message: string, detail?: string) {
    // A refusal is an answer, not a bug: it carries no stack. Capturing one was
    // the largest cost of a refused update (docs/benchmarks.md, "Kept for speed").
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    super(bounded(message, MAX_MESSAGE_CHARS))
    Error.stackTraceLimit = limit
    this.status = ERRORS[code].status
    this.code = code
    const words = detail === undefined ? '' : bounded(redact(detail), MAX_DETAIL_CHARS).trim()
    if (words) this.detail = words
  }
}

/** Whether an error is Tessera's with this code: the one test a caller needs where it handles one kind. */
export const hasCode = (err: unknown, code: ErrorCode): err is TesseraError => err instanceof TesseraError && err.code === code

/**
 * The operator-facing view of any error: ours pass through; a system fault
 * (ENOSPC, EACCES …) is named in words, never with its message (which may
 * carry a path or a value); anything else is hidden.
 */
export function publicError(err: unknown): { status: number; code: ErrorCode; message: string; detail?: string } {
  if (err instanceof TesseraError) {
    return err.detail ? { status: err.status, code: err.code, message: err.message, detail: err.detail } : { status: err.status, code: err.code, message: err.message }
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  if (typeof code === 'string' && /^E[A-Z0-9]{2,15}$/.test(code)) {
    return { status: 500, code: 'system_error', message: `the operation failed: ${systemReason(err)}` }
  }
  return { status: 500, code: 'internal', message: 'internal error' }
}

/** A node system error's code (ENOSPC, EACCES …), in words an operator understands. */
export function systemReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined
  const words: Record<string, string> = {
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOENT: 'no such file or directory',
    EISDIR: 'is a directory',
    ENOTDIR: 'a part of the path is not a directory',
    EEXIST: 'already exists',
    EIO: 'input/output error',
    EFBIG: 'file too large',
    EMFILE: 'too many open files',
    ENAMETOOLONG: 'file name too long',
  }
  const code = e?.code
  if (code && words[code]) return words[code]
  return code ?? 'unknown error'
}
