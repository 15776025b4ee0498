import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest, type RequestOptions } from 'node:https'
import { isLoopback } from '../support/address'
import { EngineError } from '../engine/errors'

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
  timeoutMs?: number
}

export interface HttpReply {
  status: number
  body: unknown
}

const MAX_REDIRECTS = 3
const MAX_REPLY_BYTES = 1024 * 1024

/** Refuses addresses that would send shares in the clear, before any byte is sent. */
export function checkAddress(target: ServerTarget): URL {
  let url: URL
  try {
    url = new URL(target.address)
  } catch {
    throw new EngineError(400, `"${target.address}" is not a server address: expected https://host:port`, 'bad_address')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new EngineError(400, `"${target.address}" is not an http(s) address`, 'bad_address')
  }
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (url.protocol === 'http:' && !isLoopback(host) && !target.allowInsecureHttp) {
    throw new EngineError(
      400,
      `${url.host} is reached over plain http: shares would cross the network unencrypted. Use https, or allow plain http in the profile.`,
      'insecure_http',
    )
  }
  return url
}

const TLS_REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate chains to a CA that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate chains to a CA that is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate chains to a CA that is not trusted',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is for another name',
}

function networkError(err: NodeJS.ErrnoException, url: URL): EngineError {
  const tls = err.code ? TLS_REASONS[err.code] : undefined
  if (tls) {
    return new EngineError(
      502,
      `The TLS certificate of ${url.host} is not trusted: ${tls}. Add the server's CA file to the profile, or set its TLS server name.`,
      'tls',
    )
  }
  if (err.code === 'ECONNREFUSED') return new EngineError(502, `Cannot reach ${url.host}: connection refused. Is the server running?`, 'unreachable')
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return new EngineError(502, `Cannot resolve ${url.hostname}.`, 'unreachable')
  if (err.code === 'ECONNRESET') return new EngineError(502, `${url.host} closed the connection.`, 'unreachable')
  if (err.code === 'EPROTO' || err.code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return new EngineError(502, `${url.host} did not answer with TLS: is it an http:// address?`, 'tls')
  }
  return new EngineError(502, `Cannot reach ${url.host}: ${err.code ?? err.message}`, 'unreachable')
}

function readReply(res: IncomingMessage): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    res.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_REPLY_BYTES) res.destroy(new Error('reply too large'))
      else chunks.push(c)
    })
    res.on('error', reject)
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      let body: unknown = null
      try {
        body = text ? JSON.parse(text) : null
      } catch {
        body = null
      }
      resolve({ status: res.statusCode ?? 0, body })
    })
  })
}

/** Reads are retried on a dropped connection; writes never are (a lost reply may hold a result). */
const READ_RETRIES = 2
const RETRYABLE = new Set(['unreachable', 'timeout'])

/**
 * One Vault API call. TLS is verified unless the profile explicitly says not to;
 * a standby's 307 is followed (same method and body, never from https to http).
 */
export async function vaultRequest(
  target: ServerTarget,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string } = {},
): Promise<HttpReply> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await requestOnce(target, method, path, opts)
    } catch (err) {
      const retry = method === 'GET' && attempt < READ_RETRIES && err instanceof EngineError && RETRYABLE.has(err.code)
      if (!retry) throw err
      await new Promise((r) => setTimeout(r, 250 * (attempt + 1)))
    }
  }
}

async function requestOnce(
  target: ServerTarget,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string } = {},
): Promise<HttpReply> {
  let url = new URL(`v1/${path}`, checkAddress(target).href.replace(/\/?$/, '/'))
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body))
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { Accept: 'application/json' }
    if (payload) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) })
    if (opts.token) headers['X-Vault-Token'] = opts.token
    if (target.namespace) headers['X-Vault-Namespace'] = target.namespace
    const options: RequestOptions = {
      method,
      headers,
      timeout: target.timeoutMs ?? 15_000,
      ...(url.protocol === 'https:'
        ? { ca: target.ca, servername: target.serverName, rejectUnauthorized: !target.skipVerify }
        : {}),
    }
    const reply = await new Promise<{ reply: HttpReply; location?: string }>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (res) => {
        const location = res.statusCode === 307 || res.statusCode === 308 ? res.headers.location : undefined
        readReply(res).then((r) => resolve({ reply: r, location }), reject)
      })
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })))
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ETIMEDOUT') {
          reject(new EngineError(504, `${url.host} did not answer within ${(options.timeout ?? 0) / 1000} s.`, 'timeout'))
        } else reject(networkError(err, url))
      })
      req.end(payload)
    })
    if (!reply.location) return reply.reply
    const next = new URL(reply.location, url)
    if (url.protocol === 'https:' && next.protocol !== 'https:') {
      throw new EngineError(502, `${url.host} redirected to plain http (${next.host}); Tessera does not follow that.`, 'insecure_redirect')
    }
    url = next
  }
  throw new EngineError(502, `${target.address} redirected more than ${MAX_REDIRECTS} times.`, 'redirect_loop')
}
