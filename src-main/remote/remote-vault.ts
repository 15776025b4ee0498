import { randomBytes } from 'node:crypto'
import type { AttemptStatus, Flow, SealStatus } from '../backend'
import type { Backend, CheckFileSettlement, Started, StartInput, Updated, UpdateInput } from '../backend-interface'
import { randomBase62 } from '../crypto/base62'
import { wipe } from '../crypto/wipe'
import { TesseraError } from '../support/errors'
import { shareField, VaultConnection } from './connection'
import { AttemptReply, InitReply, LookupSelfReply, parseReply, SealStatusReply } from './replies'
import type { ServerTarget } from './http-client'

const PATHS: Record<Flow, string> = {
  root: 'sys/generate-root',
  share: 'sys/generate-share',
  recovery: 'sys/generate-recovery-token',
}
/** OpenBao 2.6's authenticated twin of sys/generate-root. */
const AUTHENTICATED_ROOT = 'sys/generate-root-token'

const EMPTY_STATUS: AttemptStatus = {
  nonce: '', started: false, progress: 0, required: 0, complete: false,
  encoded_token: '', encoded_root_token: '', pgp_fingerprint: '', otp_length: 0,
}

/** What checks a share of this server as it is entered (its server check file): which share it is, or a refusal; null when nothing can. */
export interface ShareRecognizer {
  recognize(typed: Uint8Array, holder?: string): Promise<{ number: number; holder: string | null; generation: number } | null>
  /** An attempt completed with a share of `generation`: settles a pending generation where that proves which is in effect. */
  settle(generation: number, proof: 'attempt'): Promise<CheckFileSettlement | null>
}

/**
 * A remote Vault or OpenBao server behind the same Backend interface as the local
 * engine. The OTP is always made here, so that results decode offline whatever
 * the server's version; the server's sys/decode-token is never used.
 */
export class RemoteVault implements Backend {
  private rootPath: string | undefined
  /** The connection, shared with the other clients of this server the backend opens (its rekey). */
  readonly connection: VaultConnection

  /** Checks each share before it is sent, where the profile has a server check file: a share it refuses never reaches the server. */
  shareChecks: ShareRecognizer | undefined

  constructor(target: ServerTarget, token?: string) {
    this.connection = new VaultConnection(target, token)
  }

  /** Aborts the calls in flight (this backend's and its rekey's), drops the token, and refuses every later call. */
  async close(): Promise<void> {
    this.connection.close()
  }

  private request(method: string, path: string, body?: unknown) {
    return this.connection.request(method, path, body)
  }

  /** Which generate-root path this server offers: the authenticated one where it exists. */
  async rootGeneratePath(): Promise<string> {
    if (this.rootPath) return this.rootPath
    const { status } = await this.request('GET', `${AUTHENTICATED_ROOT}/attempt`)
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

  /** The node that answered the last call, when a redirect led away from the profile's address. */
  get answeredBy(): string | undefined {
    return this.connection.answeredBy
  }

  private call(method: string, path: string, body?: unknown): Promise<unknown> {
    return this.connection.call(method, path, body)
  }

  /** A call whose reply must be an attempt status; the server's own `otp`, if any, is never taken. */
  private async attempt(method: string, path: string, body?: unknown): Promise<AttemptStatus> {
    return { ...EMPTY_STATUS, ...parseReply(AttemptReply, await this.call(method, path, body), `${method} ${path}`) }
  }

  async sealStatus(): Promise<SealStatus> {
    const s = parseReply(SealStatusReply, await this.call('GET', 'sys/seal-status'), 'GET sys/seal-status')
    // Before init no ceremony but init can run: there is nothing to probe.
    if (!s.initialized) return { ...s, recovery_mode: false, flows: [] }
    // A sealed server answers 503 on every flow it cannot run until unsealed (a
    // server in recovery mode runs its recovery flow sealed): none is offered.
    const offers = async (flow: Flow) => {
      const reply = await this.request('GET', `${await this.path(flow)}/attempt`)
      return reply.status !== 404 && !(s.sealed && reply.status === 503)
    }
    const flows = (['root', 'share', 'recovery'] as Flow[])
    const offered = await Promise.all(flows.map(offers))
    return { ...s, recovery_mode: offered[2]!, flows: flows.filter((_, i) => offered[i]) }
  }

  /**
   * PUT sys/init without pgp_keys: the new shares in Vault's order and the
   * root token (encrypted when `root_token_pgp_key` is given), as bytes the
   * caller wipes.
   */
  async init(request: { secret_shares: number; secret_threshold: number; root_token_pgp_key?: string }): Promise<{ keys: Buffer[]; rootToken: Buffer }> {
    const reply = parseReply(InitReply, await this.call('PUT', 'sys/init', request), 'PUT sys/init')
    if (reply.keys.length !== request.secret_shares) {
      throw new TesseraError('bad_reply', `The server's reply to PUT sys/init is not what Vault sends: ${reply.keys.length} shares for the ${request.secret_shares} asked.`)
    }
    return { keys: reply.keys.map((k) => Buffer.from(k, 'hex')), rootToken: Buffer.from(reply.root_token, 'ascii') }
  }

  /** Whether the server accepts the token (auth/token/lookup-self). */
  async tokenAccepted(): Promise<boolean> {
    const reply = await this.request('GET', 'auth/token/lookup-self')
    if (reply.status !== 200) return false
    parseReply(LookupSelfReply, reply.body, 'GET auth/token/lookup-self')
    return true
  }

  async status(flow: Flow): Promise<AttemptStatus> {
    return this.attempt('GET', `${await this.path(flow)}/attempt`)
  }

  async start(flow: Flow, input: StartInput): Promise<Started> {
    const path = await this.path(flow)
    // The share flow's API takes only pgp_key: its result is the share itself, or
    // the share encrypted to that key; there is no OTP to make or send.
    if (input.pgp_key || flow === 'share') {
      return { status: await this.attempt('PUT', `${path}/attempt`, input.pgp_key ? { pgp_key: input.pgp_key } : {}), otp: null }
    }
    // Vault's alphabet and the server's own otp_length; servers too old to report
    // one took a base64 16-byte OTP and return a UUID token.
    const otp = input.otp?.length ? input.otp : await this.newOtp(flow)
    try {
      // Vault's API takes the OTP as a JSON string: this is the one string made of it, for the request body.
      const status = await this.attempt('PUT', `${path}/attempt`, { otp: otp.toString('ascii') })
      // The nonce is shown and recorded as the server gives it: never when it carries the OTP back.
      if (Buffer.from(status.nonce, 'ascii').includes(otp)) {
        throw new TesseraError('bad_reply', `The server's reply to PUT ${path}/attempt is not what Vault sends: its nonce repeats the one-time password.`)
      }
      return { status, otp: otp === input.otp ? null : otp }
    } catch (err) {
      if (otp !== input.otp) wipe(otp)
      throw err
    }
  }

  private async newOtp(flow: Flow): Promise<Buffer> {
    const { otp_length: length } = await this.status(flow)
    if (length > 0) return randomBase62(length)
    const raw = randomBytes(16)
    // Node encodes base64 only to a string: for these old servers the OTP passes through one more.
    const text = Buffer.from(raw.toString('base64'), 'ascii')
    wipe(raw)
    return text
  }

  async cancel(flow: Flow): Promise<void> {
    await this.call('DELETE', `${await this.path(flow)}/attempt`)
  }

  /**
   * A server does not say which share it took: only the status comes back, and
   * the share its check file recognized. A completed attempt proves that
   * share's generation is the server's (the server combined it with the others
   * into its key, or refused), which settles a pending one.
   */
  async update(flow: Flow, input: UpdateInput): Promise<Updated> {
    const key = shareField(input.key ?? Buffer.alloc(0))
    const known = await this.shareChecks?.recognize(input.key, input.holder)
    const path = await this.path(flow)
    // The share flow's document lists only `key`; a nonce is sent whenever there is one.
    const status = await this.attempt('PUT', `${path}/update`, input.nonce ? { key, nonce: input.nonce } : { key })
    if (!known) return { status }
    const settled = status.complete ? await this.shareChecks!.settle(known.generation, 'attempt') : null
    return { status, share: { number: known.number, holder: known.holder, checked: true }, ...(settled ? { settled } : {}) }
  }
}
