/**
 * The one error base for everything an operator may read. Every transport maps
 * it in one place: the HTTP API to `{"errors": [message]}` with `status`, the
 * IPC router to `{code, message}`, the CLI to exit code 1 with the message.
 * Messages are written by Tessera and never carry a value that was sent; they
 * are bounded so that no caller can turn an error into a flood.
 */
export const MAX_MESSAGE_CHARS = 600

export class TesseraError extends Error {
  readonly status: number
  readonly code: string

  constructor(status: number, message: string, code = 'bad_request') {
    // A refusal is an answer, not a bug: it carries no stack. That keeps a
    // refused request cheap, and leaves no trace of where a value travelled.
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    super(message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…` : message)
    Error.stackTraceLimit = limit
    this.status = status
    this.code = code
    this.name = new.target.name
  }
}

export const badRequest = (message: string, code = 'bad_request') => new TesseraError(400, message, code)

/**
 * The operator-facing view of any error: ours pass through; a system fault
 * (ENOSPC, EACCES …) is named in words, never with its message (which may
 * carry a path or a value); anything else is hidden.
 */
export function publicError(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof TesseraError) return { status: err.status, code: err.code, message: err.message }
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
