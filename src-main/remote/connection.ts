import { withoutSpaces } from '../crypto/text-bytes'
import { wipe } from '../crypto/wipe'
import { TesseraError } from '../support/errors'
import { explainRefusal } from './explain'
import { vaultRequest, type HttpReply, type ServerTarget } from './http-client'

/**
 * One profile's connection to a server: its target, its token and the calls in
 * flight. Every client of the server that a backend opens (its attempts, its
 * rekey) goes through one, so that closing the backend stops them all.
 */
export class VaultConnection {
  /** Aborts every call in flight when the connection is closed. */
  private readonly calls = new AbortController()
  /** The node that answered the last call, when a redirect led away from the profile's address. */
  answeredBy: string | undefined

  constructor(
    readonly target: ServerTarget,
    /** A string, as keytar and the IPC edge give it and the X-Vault-Token header takes it: close drops it. */
    private token?: string,
  ) {}

  get hasToken(): boolean {
    return Boolean(this.token)
  }

  /** Aborts the calls in flight, drops the token, and refuses every later call. */
  close(): void {
    this.token = undefined
    this.calls.abort()
  }

  /** One request, whatever its answer, unless the connection was closed. */
  request(method: string, path: string, body?: unknown): Promise<HttpReply> {
    if (this.calls.signal.aborted) {
      throw new TesseraError('backend_closed', `the connection to ${this.target.address} was closed: connect again`)
    }
    return vaultRequest(this.target, method, path, { body, token: this.token, signal: this.calls.signal })
  }

  /** One request whose refusal becomes a sentence (explain.ts); the reply's body otherwise. */
  async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const reply = await this.request(method, path, body)
    this.answeredBy = reply.answeredBy
    if (reply.status >= 200 && reply.status < 300) return reply.body
    throw this.refusal(method, path, reply)
  }

  /** A refusal the server answered, as a sentence. */
  refusal(method: string, path: string, reply: HttpReply): TesseraError {
    const errors = (reply.body as { errors?: unknown } | null | undefined)?.errors
    return explainRefusal({
      path,
      method,
      status: reply.status,
      errors: Array.isArray(errors) ? errors.filter((e) => typeof e === 'string') : [],
      hasToken: this.hasToken,
    })
  }
}

/**
 * A share as Vault's API takes it, a JSON string: made here, once, for the
 * request body. A server reads a share as it stands: the spaces and line
 * breaks of a pasted share are not part of it.
 */
export function shareField(key: Buffer): string {
  if (!key.length) throw new TesseraError('missing_key', "'key' must be specified in request body as JSON")
  const compact = withoutSpaces(key)
  try {
    return compact.toString('utf8')
  } finally {
    wipe(compact)
  }
}
