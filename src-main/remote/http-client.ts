import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest, type RequestOptions } from 'node:https'
import { canonicalHost, isLoopback } from '../support/address'
import { TesseraError } from '../support/errors'

/** How to reach one server: what a profile says about transport. */
export interface ServerTarget {
  /** https://host:port (or http:// for loopback, or when explicitly allowed). */
  address: string
  namespace?: string
  /** PEM CA bundle that the server's certificate must chain to. */
  ca?: Buffer
  /** The name the certificate must carry, when it differs from the address's host. */
  serverName?: string
  /** Plain HTTP to a non-loopback host: shares would cross the network unencrypted. */
  allowInsecureHttp?: boolean
  /** Accept any certificate. Dangerous: only for a rehearsal against a throwaway server. */
  skipVerify?: boolean
  /** Overall deadline of one call: connect, TLS, headers, body, every hop and retry. */
  timeoutMs?: number
}

export interface HttpReply {
  status: number
  /** The parsed JSON; null for an empty body, undefined when the body is not JSON. */
  body: unknown
  /** The node that answered (scheme://host:port), when a redirect led away from the profile's own. */
  answeredBy?: string
}

export const DEFAULT_TIMEOUT_MS = 30_000
const MAX_REDIRECTS = 3
const MAX_REPLY_BYTES = 1024 * 1024

/** The address rules, for the profile's own address and for every hop a redirect leads to. */
function checkUrl(url: URL, allowInsecureHttp: boolean | undefined, shown: string): URL {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TesseraError('bad_address', `${shown} is not an http(s) address`)
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname) && !allowInsecureHttp) {
    throw new TesseraError('insecure_http', `${url.host} is reached over plain http: shares would cross the network unencrypted. Use https, or allow plain http in the profile.`)
  }
  return url
}

/**
 * Refuses addresses that would send shares in the clear, before any byte is sent;
 * one with a space, line break or control character (the URL parser drops some
 * of those in silence, so the server reached would not be the one written); and
 * one with a user name or password, which would be a secret in the profiles
 * file. The address is never quoted: it may come from a hand-edited file.
 */
export function checkAddress(target: Pick<ServerTarget, 'address' | 'allowInsecureHttp'>, field = 'the server address'): URL {
  if (/[\p{Cc}\p{Cf}\s]/u.test(target.address)) {
    throw new TesseraError('bad_address', `${field} holds a space, line break or control character: type it again`)
  }
  let url: URL
  try {
    url = new URL(target.address)
  } catch {
    throw new TesseraError('bad_address', `${field} is not an http(s) address: expected https://host:port`)
  }
  if (url.username || url.password) {
    throw new TesseraError('bad_address', `${field} holds a user name or password: a profile keeps no secret; give a token instead`)
  }
  return checkUrl(url, target.allowInsecureHttp, field)
}

/**
 * Refuses a namespace or token that cannot travel in its header, before any byte
 * is sent. Node throws on a line break, a control character or a character
 * beyond Latin-1; a Latin-1 letter would reach the server as a byte it reads
 * otherwise. Only printable ASCII is sent; the sentence names the field, never
 * the value (a token is a secret).
 */
export function checkHeaderValues(values: { namespace?: string; token?: string }): void {
  const headers = { namespace: 'X-Vault-Namespace', token: 'X-Vault-Token' } as const
  for (const field of ['namespace', 'token'] as const) {
    const text = values[field]
    if (!text || /^[\x20-\x7e]*$/.test(text)) continue
    // eslint-disable-next-line no-control-regex -- control characters are what this looks for
    const what = /[\u0000-\u001f\u007f]/.test(text) ? 'a line break or control character' : 'a character outside ASCII'
    throw new TesseraError('bad_header', `the ${field} holds ${what}, which its ${headers[field]} header cannot carry: type it again`)
  }
}

const effectivePort = (u: URL) => u.port || (u.protocol === 'https:' ? '443' : '80')

/** Same canonical host and port: the ::ffff: form of an IPv4 address is that address. */
export function sameNode(a: URL, b: URL): boolean {
  return canonicalHost(a.hostname) === canonicalHost(b.hostname) && effectivePort(a) === effectivePort(b)
}

/**
 * Whether a redirect may be followed, decided before the hop sees a byte (its
 * token header included). Plain http stays on the profile's own host and port;
 * another node is reached only over https with a certificate that verifies
 * against the profile's CA under that node's own name — how a standby sends
 * clients to the active node of a cluster.
 */
function checkHop(profile: URL, from: URL, next: URL, target: ServerTarget): void {
  checkUrl(next, target.allowInsecureHttp, next.host)
  if (from.protocol === 'https:' && next.protocol !== 'https:') {
    throw new TesseraError('insecure_redirect', `${from.host} redirected to plain http (${next.host}); Tessera does not follow that.`)
  }
  if (next.protocol === 'http:' && !sameNode(next, profile)) {
    throw new TesseraError('insecure_redirect', `${from.host} redirected to ${next.host} over plain http; Tessera follows plain http only on the profile's own host and port (another node must be reached over https).`)
  }
}

/** TLS settings for one hop: the profile's server name and skip-verify apply to its own node only. */
function tlsOptions(profile: URL, url: URL, target: ServerTarget): RequestOptions {
  if (url.protocol !== 'https:') return {}
  if (sameNode(url, profile)) return { ca: target.ca, servername: target.serverName, rejectUnauthorized: !target.skipVerify }
  return { ca: target.ca, rejectUnauthorized: true }
}

const TLS_REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate chains to a CA that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate chains to a CA that is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate chains to a CA that is not trusted',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is for another name',
}

function networkError(err: NodeJS.ErrnoException, url: URL): TesseraError {
  if (err instanceof TesseraError) return err
  const tls = err.code ? TLS_REASONS[err.code] : undefined
  if (tls) {
    return new TesseraError('tls', `The TLS certificate of ${url.host} is not trusted: ${tls}. Add the server's CA file to the profile, or set its TLS server name.`)
  }
  if (err.code === 'ECONNREFUSED') return new TesseraError('unreachable', `Cannot reach ${url.host}: connection refused. Is the server running?`)
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return new TesseraError('unreachable', `Cannot resolve ${url.hostname}.`)
  if (err.code === 'ECONNRESET') return new TesseraError('unreachable', `${url.host} closed the connection.`)
  if (err.code === 'EPROTO' || err.code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return new TesseraError('tls', `${url.host} did not answer with TLS: is it an http:// address?`)
  }
  return new TesseraError('unreachable', `Cannot reach ${url.host}: ${err.code ?? 'network error'}`)
}

function parseBody(text: string): unknown {
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Reads a whole reply; one that is too large or cut off is an error, never a silent null. */
function readReply(res: IncomingMessage, url: URL): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    res.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_REPLY_BYTES) {
        res.destroy(new TesseraError('bad_reply', `${url.host} sent a reply larger than 1 MiB; Tessera does not read it.`))
      } else chunks.push(c)
    })
    const fail = (err?: Error) =>
      reject(err instanceof TesseraError ? err : new TesseraError('bad_reply', `${url.host} cut its reply off before the end.`))
    res.on('error', fail)
    res.on('close', () => {
      if (!res.complete) fail()
    })
    res.on('end', () => {
      // A reply may hold a new share: the raw bytes do not outlive the parse.
      const all = Buffer.concat(chunks)
      const body = parseBody(all.toString('utf8'))
      for (const c of [all, ...chunks]) c.fill(0)
      resolve({ status: res.statusCode ?? 0, body })
    })
  })
}

/** One call's deadline, shared by every hop and retry. */
interface Deadline {
  signal: AbortSignal
  seconds: number
  expired(): boolean
  /** True when the call was aborted because its backend was closed, not for time. */
  closed(): boolean
}

function timeoutError(url: URL, deadline: Deadline): TesseraError {
  if (deadline.closed()) return new TesseraError('backend_closed', `the call to ${url.host} was stopped: the connection was closed`)
  return new TesseraError('timeout', `${url.host} did not answer within ${deadline.seconds} s.`)
}

/** Reads are retried on a dropped connection; writes never are (a lost reply may hold a result). */
const READ_RETRIES = 2

/**
 * One Vault API call. TLS is verified unless the profile explicitly says not to;
 * redirects are followed only where checkHop allows; everything happens within
 * one overall deadline, after which the socket is destroyed.
 */
export async function vaultRequest(
  target: ServerTarget,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; signal?: AbortSignal } = {},
): Promise<HttpReply> {
  const ms = target.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), ms)
  // The caller's signal (a backend being closed) ends the call as the deadline does.
  const stop = () => controller.abort()
  opts.signal?.addEventListener('abort', stop, { once: true })
  if (opts.signal?.aborted) controller.abort()
  const deadline: Deadline = {
    signal: controller.signal,
    seconds: ms / 1000,
    expired: () => controller.signal.aborted,
    closed: () => opts.signal?.aborted === true,
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        return await requestOnce(target, method, path, opts, deadline)
      } catch (err) {
        const retry = method === 'GET' && attempt < READ_RETRIES && err instanceof TesseraError && err.code === 'unreachable'
        if (!retry) throw err
        await new Promise((r) => setTimeout(r, 250 * (attempt + 1)))
        if (deadline.expired()) throw timeoutError(checkAddress(target), deadline)
      }
    }
  } finally {
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', stop)
  }
}

async function requestOnce(
  target: ServerTarget,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string },
  deadline: Deadline,
): Promise<HttpReply> {
  const profile = checkAddress(target)
  checkHeaderValues({ namespace: target.namespace, token: opts.token })
  const url = new URL(`v1/${path}`, profile.href.replace(/\/?$/, '/'))
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body))
  try {
    return await followHops(target, profile, url, method, payload, opts.token, deadline)
  } finally {
    // The body may hold a share.
    payload?.fill(0)
  }
}

async function followHops(
  target: ServerTarget,
  profile: URL,
  first: URL,
  method: string,
  payload: Buffer | undefined,
  token: string | undefined,
  deadline: Deadline,
): Promise<HttpReply> {
  let url = first
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { Accept: 'application/json' }
    if (payload) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) })
    if (token) headers['X-Vault-Token'] = token
    if (target.namespace) headers['X-Vault-Namespace'] = target.namespace
    const options: RequestOptions = { method, headers, ...tlsOptions(profile, url, target) }
    const here = url
    const reply = await new Promise<{ status: number; body: unknown; location?: string }>((resolve, reject) => {
      if (deadline.expired()) return reject(timeoutError(here, deadline))
      let res: IncomingMessage | undefined
      const onAbort = () => {
        const err = timeoutError(here, deadline)
        res?.destroy(err)
        req.destroy(err)
        reject(err)
      }
      deadline.signal.addEventListener('abort', onAbort, { once: true })
      const settle = <T>(f: (v: T) => void) => (v: T) => {
        deadline.signal.removeEventListener('abort', onAbort)
        f(v)
      }
      const req = (here.protocol === 'https:' ? httpsRequest : httpRequest)(here, options, (r) => {
        res = r
        const location = r.statusCode === 307 || r.statusCode === 308 ? r.headers.location : undefined
        readReply(r, here).then(settle((got) => resolve({ ...got, location })), settle(reject))
      })
      req.on('error', settle((err: NodeJS.ErrnoException) => reject(networkError(err, here))))
      req.end(payload)
    })
    if (reply.location === undefined) {
      return { status: reply.status, body: reply.body, ...(sameNode(url, profile) ? {} : { answeredBy: url.origin }) }
    }
    let next: URL
    try {
      next = new URL(reply.location, url)
    } catch {
      throw new TesseraError('bad_redirect', `${url.host} redirected to something that is not an address.`)
    }
    checkHop(profile, url, next, target)
    url = next
  }
  throw new TesseraError('redirect_loop', `${target.address} redirected more than ${MAX_REDIRECTS} times.`)
}
