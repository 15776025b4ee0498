/**
 * The one error base for everything an operator may read. Every transport maps
 * it in one place: the HTTP API to `{"errors": [message]}` with `status`, the
 * IPC router to `{code, message}`, the CLI to exit code 1 with the message.
 * Messages are written by Tessera and never carry a value that was sent; they
 * are bounded so that no caller can turn an error into a flood.
 */
export const MAX_MESSAGE_CHARS = 600

export class TesseraError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string = 'bad_request',
  ) {
    super(message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…` : message)
    this.name = new.target.name
  }
}

export const badRequest = (message: string, code = 'bad_request') => new TesseraError(400, message, code)

/** The operator-facing view of any error: ours pass through, anything else is hidden. */
export function publicError(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof TesseraError) return { status: err.status, code: err.code, message: err.message }
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
