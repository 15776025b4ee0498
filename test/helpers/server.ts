import { LocalEngine, type EngineOptions } from '../../src-main/engine/local-engine'
import { createApiServer, type ApiOptions } from '../../src-main/server/http-api'
import type { InitTarget } from '../../src-main/server/sys-init'
import { listen } from '../../src-main/server/listen'

export interface Reply {
  status: number
  json: any
  text: string
}

/** One Vault API call over real HTTP: a string body is sent as is (malformed JSON tests). */
export async function callApi(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${url}/v1/${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: res.status, json, text }
}

export interface Api {
  url: string
  logs: string[]
  engine: LocalEngine
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>
  close(): Promise<void>
}

/** A server over `served` on a free loopback port. */
async function serveApi(served: LocalEngine | InitTarget, opts: ApiOptions = {}) {
  const logs: string[] = []
  const server = createApiServer(served, { ...opts, log: (l) => logs.push(l) })
  const { port } = await listen(server, '127.0.0.1', 0)
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    logs,
    call: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => callApi(url, method, path, body, headers),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** The real HTTP API of a keyset not created yet (`tessera serve --uninitialized`); `engine` is set once PUT sys/init made it. */
export async function startUninitializedApi(keysetPath: string, opts: ApiOptions = {}): Promise<Omit<Api, 'engine'> & { engine: () => LocalEngine | undefined }> {
  let engine: LocalEngine | undefined
  const api = await serveApi(
    {
      uninitialized: true,
      path: keysetPath,
      opened: async (keyset) => (engine = LocalEngine.fromKeyset(keyset, { sealed: true })),
    },
    opts,
  )
  return { ...api, engine: () => engine }
}

/** The real HTTP API of a keyset on a free loopback port. */
export async function startApi(keysetPath: string, opts: EngineOptions & Pick<ApiOptions, 'requireToken'> = {}): Promise<Api> {
  const engine = await LocalEngine.open(keysetPath, opts)
  return { ...(await serveApi(engine, { requireToken: opts.requireToken })), engine }
}

/** Flow name → Vault path prefix. */
export const FLOW_PATH = {
  root: 'sys/generate-root',
  share: 'sys/generate-share',
  recovery: 'sys/generate-recovery-token',
} as const
