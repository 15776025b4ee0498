import { createServer, type IncomingMessage, type RequestListener, type Server as HttpServer, type ServerResponse } from 'node:http'
import { createServer as createTlsServer, type Server as HttpsServer } from 'node:https'
import { randomUUID } from 'node:crypto'
import type { AttemptStatus, Flow } from '../backend'
import { wipe } from '../crypto/wipe'
import { decodeWithOtp } from '../decode/decode'
import { hasCode, publicError, TesseraError } from '../support/errors'
import type { LocalEngine } from '../engine/local-engine'
import { VERSION } from '../version'
import { readBoundedBody } from '../support/body'
import { guardServer, requestTarget } from '../support/request'
import { certificateNames, hostPolicy } from './host-policy'

/** Vault's own default is 32 MiB; nothing on these paths needs more than a PGP key. */
export const MAX_BODY_BYTES = 1024 * 1024

const FLOW_PATHS: Record<string, Flow> = {
  'sys/generate-root': 'root',
  'sys/generate-share': 'share',
  'sys/generate-recovery-token': 'recovery',
}

type Json = Record<string, unknown>
/** `search` is the target's query ("" or "?…"): only sys/health reads one. */
type Handler = (req: IncomingMessage, body: () => Promise<Json>, search: string) => Promise<[number, unknown?]>

export interface ApiOptions {
  /** One line per request: method, path, status. Bodies and headers are never logged. */
  log?: (line: string) => void
  /**
   * Behave like a 2026 server: the generate endpoints need a valid token (Vault 2.x),
   * and OpenBao 2.6's authenticated sys/generate-root-token is offered.
   */
  requireToken?: boolean
  /** Serve HTTPS with this certificate chain and key (PEM). */
  tls?: { cert: Buffer; key: Buffer }
  /**
   * The address the server listens on (default 127.0.0.1). On loopback only
   * loopback names and the certificate's names are accepted as Host.
   */
  bindHost?: string
}

/** Vault's HTTP API over the local engine (tessera serve). */
export type ApiServer = HttpServer | HttpsServer

export function createApiServer(engine: LocalEngine, opts: ApiOptions = {}): ApiServer {
  const log = opts.log ?? (() => undefined)
  const routes = buildRoutes(engine, opts.requireToken ?? false)
  const refusal = hostPolicy({
    bindHost: opts.bindHost ?? '127.0.0.1',
    tls: opts.tls !== undefined,
    certNames: opts.tls ? certificateNames(opts.tls.cert) : [],
  })

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET'
    const target = requestTarget(req)
    const path = target && target.pathname.startsWith('/v1/') ? trimSlashes(target.pathname.slice(4)) : undefined
    const route = path === undefined ? undefined : routes.get(path)
    const handler = route?.[method === 'HEAD' ? 'GET' : method]
    let body: Promise<Json> | undefined
    const readJson = () => (body ??= readJsonBody(req))
    // A path that matched no route is not echoed: it may carry a token or a share.
    const shownPath = route ? `/v1/${path}` : '<unknown path>'

    const answer = (status: number, payload?: unknown) => {
      // Drain what the client sent so the connection can be reused.
      if (!body) req.resume()
      send(res, status, method === 'HEAD' ? undefined : payload)
      log(`${method} ${shownPath} ${status}`)
    }

    if (!target) return answer(400, { errors: ['malformed request target'] })
    const refused = refusal(req)
    if (refused) return answer(403, { errors: [refused] })
    if (!handler) return answer(route ? 405 : 404, { errors: [] })
    try {
      return answer(...(await handler(req, readJson, target.search)))
    } catch (err) {
      if (!hasCode(err, 'client_gone')) return answer(...errorResponse(err, log))
      log(`${method} ${shownPath} client closed the connection`)
      res.destroy()
    }
  }
  // No request, however malformed, may end the process: whatever escapes is a 500.
  const listener: RequestListener = (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`internal error: ${err instanceof Error ? err.name : 'unknown'}`)
      if (res.headersSent) res.destroy()
      else send(res, 500, { errors: ['internal error'] })
    })
  }
  const server = opts.tls ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key }, listener) : createServer(listener)
  guardServer(server, log)
  return server
}

/** The path without trailing slashes; a loop, since /\/+$/ backtracks quadratically over a run of slashes. */
function trimSlashes(path: string): string {
  let end = path.length
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--
  return path.slice(0, end)
}

function errorResponse(err: unknown, log: (line: string) => void): [number, unknown] {
  const { status, code, message } = publicError(err)
  // Unexpected: the client learns nothing of the internals, the operator gets the error's class.
  if (code === 'internal') log(`internal error: ${err instanceof Error ? err.name : 'unknown'}`)
  else if (status >= 500) log(`server error: ${message}`)
  return [status, { errors: [message] }]
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  const text = status === 204 || payload === undefined ? '' : JSON.stringify(payload)
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    ...(text ? { 'Content-Length': Buffer.byteLength(text) } : {}),
  })
  res.end(text)
}

async function readJsonBody(req: IncomingMessage): Promise<Json> {
  const raw = await readBoundedBody(req, MAX_BODY_BYTES)
  if (raw === null) throw new TesseraError('too_large', 'http: request body too large')
  const text = raw.toString('utf8')
  raw.fill(0)
  if (text.trim() === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    // V8's message quotes the body, which may hold a share: keep only the position.
    const at = /position (\d+)/.exec((err as Error).message)?.[1]
    throw new TesseraError('invalid_json', `failed to parse JSON input: invalid JSON${at ? ` at position ${at}` : ''}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TesseraError('invalid_json', 'failed to parse JSON input: the body must be a JSON object')
  }
  return parsed as Json
}

/** Go's encoding/json matches field names case-insensitively; Vault clients rely on it. */
function field(body: Json, name: string): unknown {
  if (name in body) return body[name]
  const key = Object.keys(body).find((k) => k.toLowerCase() === name)
  return key === undefined ? undefined : body[key]
}

function stringField(body: Json, name: string): string | undefined {
  const value = field(body, name)
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new TesseraError('invalid_input', `failed to parse JSON input: '${name}' must be a string`)
  return value
}

/**
 * Vault's JSON for a status. The OTP a start made crosses the backend as bytes;
 * this is where it becomes the string Vault's API returns (once, in the start's
 * reply), and where every other status gets Vault's empty `otp`.
 */
function vaultStatus(status: AttemptStatus, otp: Buffer | null = null): AttemptStatus & { otp: string } {
  return { ...status, otp: otp ? otp.toString('ascii') : '' }
}

/** A secret field of the body as bytes for the engine; the caller wipes them after the call. */
function secretField(body: Json, name: string): Buffer | undefined {
  const value = stringField(body, name)
  return value ? Buffer.from(value, 'utf8') : undefined
}

function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers['x-vault-token']
  if (typeof header === 'string' && header) return header
  const auth = req.headers.authorization
  return auth?.startsWith('Bearer ') ? auth.slice(7) : undefined
}

/**
 * Vault 2.x answers an unauthenticated generate-root with a bare 403. A flow the
 * server does not offer stays a 404, as an unregistered path is in Vault.
 */
function withToken(engine: LocalEngine, flow: Flow, handlers: Record<string, Handler>): Record<string, Handler> {
  return Object.fromEntries(
    Object.entries(handlers).map(([method, handler]) => [
      method,
      (async (req, body, search) => {
        engine.assertOffered(flow)
        const token = tokenOf(req)
        if (!token || (await engine.lookupToken(token)) === undefined) throw new TesseraError('permission_denied', 'permission denied')
        return handler(req, body, search)
      }) satisfies Handler,
    ]),
  )
}

function buildRoutes(engine: LocalEngine, requireToken: boolean): Map<string, Record<string, Handler>> {
  const routes = new Map<string, Record<string, Handler>>()
  const flowPaths: Array<[string, Flow]> = Object.entries(FLOW_PATHS)
  // OpenBao 2.6's authenticated twin of sys/generate-root: same JSON, same flow.
  if (requireToken) flowPaths.push(['sys/generate-root-token', 'root'])
  const guard = (flow: Flow, handlers: Record<string, Handler>) => (requireToken ? withToken(engine, flow, handlers) : handlers)

  for (const [path, flow] of flowPaths) {
    const start: Handler = async (_req, body) => {
      const b = await body()
      const otp = secretField(b, 'otp')
      try {
        const started = await engine.start(flow, { otp, pgp_key: stringField(b, 'pgp_key') })
        const reply = vaultStatus(started.status, started.otp)
        wipe(started.otp)
        return [200, reply]
      } finally {
        wipe(otp)
      }
    }
    const update: Handler = async (_req, body) => {
      const b = await body()
      const nonce = stringField(b, 'nonce') ?? ''
      const key = secretField(b, 'key') ?? Buffer.alloc(0)
      try {
        return [200, vaultStatus((await engine.update(flow, { key, nonce })).status)]
      } finally {
        wipe(key)
      }
    }
    routes.set(
      `${path}/attempt`,
      guard(flow, {
        GET: async () => [200, vaultStatus(await engine.status(flow))],
        PUT: start,
        POST: start,
        DELETE: async () => {
          await engine.cancel(flow)
          return [204]
        },
      }),
    )
    routes.set(`${path}/update`, guard(flow, { PUT: update, POST: update }))
  }

  const sealStatus: Handler = async () => {
    const s = await engine.sealStatus()
    return [
      200,
      {
        type: s.type,
        initialized: s.initialized,
        sealed: s.sealed,
        t: s.t,
        n: s.n,
        progress: s.progress,
        nonce: s.nonce,
        version: s.version,
        build_date: '',
        migration: false,
        recovery_seal: false,
        storage_type: 'tessera-keyset',
      },
    ]
  }
  routes.set('sys/seal-status', { GET: sealStatus })

  routes.set('sys/health', {
    GET: async (_req, _body, search) => {
      const s = await engine.sealStatus()
      const query = new URLSearchParams(search)
      // Vault's status overrides (load balancers and monitors set them).
      const code = (name: string, fallback: number) => {
        const value = Number(query.get(name))
        return query.has(name) && Number.isInteger(value) && value >= 100 && value <= 599 ? value : fallback
      }
      return [
        s.sealed ? code('sealedcode', 503) : code('activecode', 200),
        {
          initialized: true,
          sealed: s.sealed,
          standby: false,
          performance_standby: false,
          replication_performance_mode: 'disabled',
          replication_dr_mode: 'disabled',
          server_time_utc: Math.floor(Date.now() / 1000),
          version: VERSION,
        },
      ]
    },
  })

  routes.set('sys/init', { GET: async () => [200, { initialized: true }] })

  const decodeToken: Handler = async (_req, body) => {
    const b = await body()
    const encoded = stringField(b, 'encoded_token')
    const otp = secretField(b, 'otp')
    if (!encoded || !otp) throw new TesseraError('invalid_input', 'encoded_token and otp are both required')
    let value: Buffer
    try {
      value = decodeWithOtp(encoded, otp).value
    } finally {
      wipe(otp)
    }
    const token = value.toString('utf8')
    value.fill(0)
    return [200, secretResponse({ token })]
  }
  routes.set('sys/decode-token', { PUT: decodeToken, POST: decodeToken })

  const lookupSelf: Handler = async (req) => {
    const token = tokenOf(req)
    const info = token ? await engine.lookupToken(token) : undefined
    if (!token || !info) throw new TesseraError('permission_denied', 'permission denied')
    return [
      200,
      secretResponse({
        accessor: info.accessor,
        creation_time: info.creation_time,
        creation_ttl: 0,
        display_name: info.type === 'root' ? 'root' : 'recovery',
        entity_id: '',
        expire_time: null,
        explicit_max_ttl: 0,
        id: token,
        meta: null,
        num_uses: 0,
        orphan: true,
        path: info.type === 'root' ? 'auth/token/root' : 'sys/generate-recovery-token',
        policies: info.policies,
        renewable: false,
        ttl: 0,
        type: info.type === 'root' ? 'service' : 'recovery',
      }),
    ]
  }
  routes.set('auth/token/lookup-self', { GET: lookupSelf, POST: lookupSelf })

  const revokeSelf: Handler = async (req) => {
    const token = tokenOf(req)
    if (!token || !(await engine.revokeToken(token))) throw new TesseraError('permission_denied', 'permission denied')
    return [204]
  }
  routes.set('auth/token/revoke-self', { PUT: revokeSelf, POST: revokeSelf })

  return routes
}

/** Vault's envelope for logical responses (lookup-self, decode-token). */
function secretResponse(data: Json): Json {
  return {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: null,
    auth: null,
  }
}
