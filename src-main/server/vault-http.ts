import type { IncomingMessage } from 'node:http'
import { randomUUID } from 'node:crypto'
import { TesseraError } from '../support/errors'
import type { LocalEngine } from '../engine/local-engine'
import { readBoundedBody } from '../support/body'

/** Vault's HTTP at the edge of `tessera serve`: routes, request bodies and their fields, tokens, the logical envelope. */

/** Vault's own default is 32 MiB; nothing on these paths needs more than a PGP key per share. */
export const MAX_BODY_BYTES = 1024 * 1024

export type Json = Record<string, unknown>
/** `search` is the target's query ("" or "?…"): only sys/health reads one. */
export type Handler = (req: IncomingMessage, body: () => Promise<Json>, search: string) => Promise<[number, unknown?]>

/** Path (under /v1/, without trailing slashes) → method → handler. */
export type Routes = Map<string, Record<string, Handler>>

const ANSWER_SEALED = new WeakSet<Record<string, Handler>>()

/**
 * Marks a path's handlers as answering while the barrier is sealed. Every other
 * path answers 503 "Vault is sealed" before any check of its own, as Vault's
 * logical paths do; a handler marked here checks `engine.sealed` itself, in
 * its endpoint's order (Vault's raw handlers: sys/init, sys/unseal …).
 */
export function whileSealed(handlers: Record<string, Handler>): Record<string, Handler> {
  ANSWER_SEALED.add(handlers)
  return handlers
}

export const answersWhileSealed = (handlers: Record<string, Handler>): boolean => ANSWER_SEALED.has(handlers)

export const sealedError = () => new TesseraError('sealed', 'Vault is sealed')

export const permissionDenied = () => new TesseraError('permission_denied', 'permission denied')

export async function readJsonBody(req: IncomingMessage): Promise<Json> {
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
export function field(body: Json, name: string): unknown {
  if (name in body) return body[name]
  const key = Object.keys(body).find((k) => k.toLowerCase() === name)
  return key === undefined ? undefined : body[key]
}

export function stringField(body: Json, name: string): string | undefined {
  const value = field(body, name)
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new TesseraError('invalid_input', `failed to parse JSON input: '${name}' must be a string`)
  return value
}

/** A JSON boolean; absent or null is false, as Go decodes it. */
export function boolField(body: Json, name: string): boolean {
  const value = field(body, name)
  if (value === undefined || value === null) return false
  if (typeof value !== 'boolean') throw new TesseraError('invalid_input', `failed to parse JSON input: '${name}' must be true or false`)
  return value
}

/** A JSON integer; absent or null is 0, as Go decodes it. */
export function intField(body: Json, name: string): number {
  const value = field(body, name)
  if (value === undefined || value === null) return 0
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TesseraError('invalid_input', `failed to parse JSON input: '${name}' must be an integer`)
  return value
}

/** A JSON array of strings; absent or null is empty, as Go decodes it. */
export function stringsField(body: Json, name: string): string[] {
  const value = field(body, name)
  if (value === undefined || value === null) return []
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new TesseraError('invalid_input', `failed to parse JSON input: '${name}' must be a list of strings`)
  }
  return value as string[]
}

/** A secret field of the body as bytes for the engine; the caller wipes them after the call. */
export function secretField(body: Json, name: string): Buffer | undefined {
  const value = stringField(body, name)
  return value ? Buffer.from(value, 'utf8') : undefined
}

export function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers['x-vault-token']
  if (typeof header === 'string' && header) return header
  const auth = req.headers.authorization
  return auth?.startsWith('Bearer ') ? auth.slice(7) : undefined
}

/** Vault's answer to a request without a valid token on an authenticated path: a bare 403. */
export async function assertToken(engine: Pick<LocalEngine, 'lookupToken'>, req: IncomingMessage): Promise<void> {
  const token = tokenOf(req)
  if (!token || (await engine.lookupToken(token)) === undefined) throw permissionDenied()
}

/** What every logical path answers while the server is sealed, before any check of its own. */
export function assertUnsealed(engine: Pick<LocalEngine, 'sealed'>): void {
  if (engine.sealed) throw sealedError()
}

/** Vault's envelope for logical responses (lookup-self, decode-token, sys/rekey/backup). */
export function secretResponse(data: Json): Json {
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
