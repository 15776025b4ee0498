import { createServer, type IncomingMessage, type RequestListener, type Server as HttpServer, type ServerResponse } from 'node:http'
import { createServer as createTlsServer, type Server as HttpsServer } from 'node:https'
import type { AttemptStatus, Flow } from '../backend'
import { wipe } from '../crypto/wipe'
import { decodeWithOtp } from '../decode/decode'
import { hasCode, publicError, TesseraError } from '../support/errors'
import type { LocalEngine } from '../engine/local-engine'
import { answersWhileSealed, assertToken, permissionDenied, readJsonBody, sealedError, secretField, secretResponse, stringField, tokenOf, type Handler, type Json, type Routes } from './vault-http'
import { sealRoutes } from './sys-seal'
import { initializedInitRoute, uninitializedRoutes, type InitTarget } from './sys-init'
import { guardServer, requestTarget } from '../support/request'
import { certificateNames, hostPolicy } from './host-policy'
import { registerRekeyRoutes } from './rekey-routes'
import { registerRotateRoutes } from './rotate-routes'

export { MAX_BODY_BYTES } from './vault-http'

const FLOW_PATHS: Record<string, Flow> = {
  'sys/generate-root': 'root',
  'sys/generate-share': 'share',
  'sys/generate-recovery-token': 'recovery',
}

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

/**
 * Vault's HTTP API over `served`: an engine, or a keyset not created yet, whose
 * server answers as an uninitialized Vault until PUT sys/init creates it.
 */
export function createApiServer(served: LocalEngine | InitTarget, opts: ApiOptions = {}): ApiServer {
  const log = opts.log ?? (() => undefined)
  const requireToken = opts.requireToken ?? false
  let engine: LocalEngine | null = 'uninitialized' in served ? null : served
  // Once PUT sys/init created the keyset, the routes over its engine replace these.
  let routes: Routes =
    'uninitialized' in served
      ? uninitializedRoutes(served, (created) => {
          engine = created
          routes = buildRoutes(created, requireToken)
        })
      : buildRoutes(served, requireToken)
  // Sealed, as Vault before init and until unsealed; recovery mode answers its own way.
  const sealed = () => engine === null || (engine.sealed && !engine.recoveryMode)
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
    // Only Vault's API is sealed: a path outside /v1/ stays a 404.
    if (path !== undefined && sealed() && !(route && answersWhileSealed(route))) return answer(...errorResponse(sealedError(), log))
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
  // A sealed server's 503 is an answer, not a fault.
  else if (status >= 500 && code !== 'sealed') log(`server error: ${message}`)
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

/**
 * Vault's JSON for a status. The OTP a start made crosses the backend as bytes;
 * this is where it becomes the string Vault's API returns (once, in the start's
 * reply), and where every other status gets Vault's empty `otp`.
 */
function vaultStatus(status: AttemptStatus, otp: Buffer | null = null): AttemptStatus & { otp: string } {
  return { ...status, otp: otp ? otp.toString('ascii') : '' }
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
        await assertToken(engine, req)
        return handler(req, body, search)
      }) satisfies Handler,
    ]),
  )
}

function buildRoutes(engine: LocalEngine, requireToken: boolean): Routes {
  const routes: Routes = new Map()
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

  for (const [path, handlers] of sealRoutes(engine)) routes.set(path, handlers)
  routes.set('sys/init', initializedInitRoute())

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
    if (!token || !info) throw permissionDenied()
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
    if (!token || !(await engine.revokeToken(token))) throw permissionDenied()
    return [204]
  }
  routes.set('auth/token/revoke-self', { PUT: revokeSelf, POST: revokeSelf })
  registerRekeyRoutes(routes, engine, { requireToken })
  registerRotateRoutes(routes, engine)

  return routes
}
