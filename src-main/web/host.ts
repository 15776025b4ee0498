import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { sameBytes } from '../crypto/same-bytes'
import type { Dispatch } from '../ipc/router'
import { RENDERER_CSP } from '../csp'
import { rendererFile, StaticFiles } from './static-files'
import { readBoundedBody } from '../support/body'
import { hasCode } from '../support/errors'
import { guardServer, requestTarget } from '../support/request'
import { ERRORS } from '../support/error-codes'

/**
 * `tessera web`: the built renderer and the IPC router on 127.0.0.1, for
 * machines without Electron. A security boundary like Electron's: every RPC
 * carries the run's access token, Host and Origin must be this server's own
 * (DNS rebinding, cross-site requests), and no CORS header is ever sent.
 */

export const MAX_RPC_BYTES = 2 * 1024 * 1024

/** 32 random bytes, base64url: fresh for each run, never stored. */
export function newAccessToken(): string {
  return randomBytes(32).toString('base64url')
}

export interface WebHostOptions {
  rendererDir: string
  dispatch: Dispatch
  token: string
  /** The port once bound: Host and Origin checks need it. */
  port: () => number
  /** One line per fault; never a request's content. */
  log?: (line: string) => void
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  })
  res.end(text)
}

/** The host's own refusal: `{code, message}` as the IPC router's, with the code's status. */
function refuse(res: ServerResponse, code: WebRefusal, message: string, headers: Record<string, string> = {}): void {
  reply(res, ERRORS[code].status, { code, message }, headers)
}

type WebRefusal = 'forbidden' | 'unauthorized' | 'method' | 'too_large' | 'invalid_json' | 'not_found' | 'bad_request' | 'unknown_channel' | 'internal'

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false
  const given = Buffer.from(header.slice(7))
  const expected = Buffer.from(token)
  return sameBytes(given, expected)
}

export function createWebHost(opts: WebHostOptions): Server {
  const root = resolve(opts.rendererDir)
  const files = new StaticFiles()
  const log = opts.log ?? (() => undefined)
  const allowedHosts = () => [`127.0.0.1:${opts.port()}`, `localhost:${opts.port()}`]

  const serveRpc = async (req: IncomingMessage, res: ServerResponse, channel: string) => {
    const origin = req.headers.origin
    if (origin !== undefined && origin !== `http://${req.headers.host}`) {
      return refuse(res, 'forbidden', 'cross-origin request refused')
    }
    if (!tokenMatches(req.headers.authorization, opts.token)) {
      return refuse(res, 'unauthorized', 'missing or wrong access token')
    }
    if (req.method !== 'POST') return refuse(res, 'method', 'use POST', { Allow: 'POST' })
    const raw = await readBoundedBody(req, MAX_RPC_BYTES)
    if (raw === null) return refuse(res, 'too_large', 'request body too large')
    let input: unknown
    try {
      input = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'))
    } catch {
      return refuse(res, 'invalid_json', 'the request body is not valid JSON')
    } finally {
      raw.fill(0)
    }
    const result = await opts.dispatch(channel, input)
    if (result.ok) return reply(res, 200, result.value ?? null)
    // A channel's refusal is a 400 whatever its code, but for a channel or a fault that is not the caller's.
    const { code } = result.error
    const status = code === 'unknown_channel' || code === 'internal' || code === 'system_error' ? ERRORS[code].status : 400
    return reply(res, status, result.error)
  }

  const serveStatic = async (req: IncomingMessage, res: ServerResponse, pathname: string) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return refuse(res, 'method', 'method not allowed', { Allow: 'GET, HEAD' })
    }
    const file = rendererFile(root, pathname)
    if (!file) return refuse(res, 'not_found', 'not found')
    const found = await files.get(file)
    if (!found) return refuse(res, 'not_found', 'not found')
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': found.type,
      'Content-Length': String(found.body.length),
      'Content-Security-Policy': RENDERER_CSP,
    })
    res.end(req.method === 'HEAD' ? undefined : found.body)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!allowedHosts().includes(req.headers.host ?? '')) {
      return refuse(res, 'forbidden', 'unexpected Host header')
    }
    const target = requestTarget(req)
    if (!target) {
      log('refused a malformed request target')
      return refuse(res, 'bad_request', 'malformed request target')
    }
    const rpc = /^\/rpc\/([A-Za-z]+\.[A-Za-z]+)$/.exec(target.pathname)
    if (rpc) return serveRpc(req, res, rpc[1]!)
    if (target.pathname.startsWith('/rpc/')) return refuse(res, 'unknown_channel', 'unknown channel')
    return serveStatic(req, res, target.pathname)
  }

  // No request, however malformed, may end the process.
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (hasCode(err, 'client_gone')) return void res.destroy()
      log(`internal error: ${err instanceof Error ? err.name : 'unknown'}`)
      if (!res.headersSent) refuse(res, 'internal', 'internal error')
      else res.destroy()
    })
  })
  guardServer(server, log)
  return server
}
