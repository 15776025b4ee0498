import { randomBytes } from 'node:crypto'
import type { AttemptStatus, Backend, Flow, SealStatus, StartInput, UpdateInput } from '../backend'
import { randomBase62 } from '../crypto/base62'
import { EngineError } from '../engine/errors'
import { explainRefusal } from './explain'
import { vaultRequest, type ServerTarget } from './http-client'

const PATHS: Record<Flow, string> = {
  root: 'sys/generate-root',
  share: 'sys/generate-share',
  recovery: 'sys/generate-recovery-token',
}
/** OpenBao 2.6's authenticated twin of sys/generate-root. */
const AUTHENTICATED_ROOT = 'sys/generate-root-token'

const EMPTY_STATUS: AttemptStatus = {
  nonce: '', started: false, progress: 0, required: 0, complete: false,
  encoded_token: '', encoded_root_token: '', pgp_fingerprint: '', otp: '', otp_length: 0,
}

/**
 * A remote Vault or OpenBao server behind the same Backend interface as the local
 * engine. The OTP is always made here, so that results decode offline whatever
 * the server's version; the server's sys/decode-token is never used.
 */
export class RemoteVault implements Backend {
  private rootPath: string | undefined

  constructor(
    private readonly target: ServerTarget,
    private readonly token?: string,
  ) {}

  /** Which generate-root path this server offers: the authenticated one where it exists. */
  async rootGeneratePath(): Promise<string> {
    if (this.rootPath) return this.rootPath
    const { status } = await vaultRequest(this.target, 'GET', `${AUTHENTICATED_ROOT}/attempt`, { token: this.token })
    // An answer, or a refusal for want of a token, proves the path exists; 404/405
    // prove it does not. Anything else (sealed, failing) decides nothing yet: the
    // legacy path is tried and its own answer explained.
    if (status === 404 || status === 405) this.rootPath = PATHS.root
    else if (status < 300 || status === 401 || status === 403) this.rootPath = AUTHENTICATED_ROOT
    return this.rootPath ?? PATHS.root
  }

  private async path(flow: Flow): Promise<string> {
    return flow === 'root' ? this.rootGeneratePath() : PATHS[flow]
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const reply = await vaultRequest(this.target, method, path, { body, token: this.token })
    if (reply.status >= 200 && reply.status < 300) return reply.body
    const errors = (reply.body as { errors?: unknown } | null)?.errors
    throw explainRefusal({
      path,
      method,
      status: reply.status,
      errors: Array.isArray(errors) ? errors.map(String) : [],
      hasToken: Boolean(this.token),
    })
  }

  async sealStatus(): Promise<SealStatus> {
    const s = (await this.call('GET', 'sys/seal-status')) as Record<string, unknown>
    const offers = async (flow: Flow) => {
      const reply = await vaultRequest(this.target, 'GET', `${await this.path(flow)}/attempt`, { token: this.token })
      return reply.status !== 404
    }
    const flows = (['root', 'share', 'recovery'] as Flow[])
    const offered = await Promise.all(flows.map(offers))
    return {
      type: String(s.type ?? ''),
      initialized: Boolean(s.initialized),
      sealed: Boolean(s.sealed),
      t: Number(s.t ?? 0),
      n: Number(s.n ?? 0),
      progress: Number(s.progress ?? 0),
      nonce: String(s.nonce ?? ''),
      version: String(s.version ?? ''),
      recovery_mode: offered[2]!,
      flows: flows.filter((_, i) => offered[i]),
    }
  }

  async status(flow: Flow): Promise<AttemptStatus> {
    return { ...EMPTY_STATUS, ...((await this.call('GET', `${await this.path(flow)}/attempt`)) as object), otp: '' }
  }

  async start(flow: Flow, input: StartInput): Promise<AttemptStatus> {
    const path = await this.path(flow)
    // generate-share's API document has no OTP: its result is the share itself, or encrypted to pgp_key.
    if (input.pgp_key || flow === 'share') {
      const body = input.pgp_key ? { pgp_key: input.pgp_key } : {}
      return { ...EMPTY_STATUS, ...((await this.call('PUT', `${path}/attempt`, body)) as object), otp: '' }
    }
    // Vault's alphabet and the server's own otp_length; servers too old to report
    // one took a base64 16-byte OTP and return a UUID token.
    const otp = input.otp ?? (await this.newOtp(flow))
    const started = (await this.call('PUT', `${path}/attempt`, { otp })) as object
    return { ...EMPTY_STATUS, ...started, otp }
  }

  private async newOtp(flow: Flow): Promise<string> {
    const { otp_length: length } = await this.status(flow)
    return length > 0 ? randomBase62(length).toString('ascii') : randomBytes(16).toString('base64')
  }

  async cancel(flow: Flow): Promise<void> {
    await this.call('DELETE', `${await this.path(flow)}/attempt`)
  }

  async update(flow: Flow, input: UpdateInput): Promise<AttemptStatus> {
    if (!input.key) throw new EngineError(400, "'key' must be specified in request body as JSON", 'missing_key')
    const path = await this.path(flow)
    return { ...EMPTY_STATUS, ...((await this.call('PUT', `${path}/update`, { key: input.key, nonce: input.nonce })) as object), otp: '' }
  }
}
