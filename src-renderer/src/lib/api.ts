import type { IpcError, IpcResult, TesseraApi, TesseraBridge } from '../../../src-main/ipc/contract'

/** A refusal from main, with its code: messages never carry a secret. */
export class ApiError extends Error {
  constructor(readonly code: string, message: string) {
    super(message)
    this.name = 'ApiError'
  }
}

declare global {
  interface Window {
    tessera?: TesseraBridge
  }
}

type Invoke = (channel: string, input: unknown) => Promise<IpcResult<unknown>>

/**
 * `tessera web`: the access token arrives in the URL fragment (never sent to a
 * server, never in a Referer). Read it once, keep it in memory, clear the bar.
 */
function webTransport(): Invoke {
  const match = /(?:^#|&)access=([A-Za-z0-9_-]+)/.exec(window.location.hash)
  const token = match?.[1] ?? ''
  if (match) history.replaceState(null, '', window.location.pathname + window.location.search)
  return async (channel, input) => {
    let res: Response
    try {
      res = await fetch(`/rpc/${channel}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify(input ?? null),
        cache: 'no-store',
        credentials: 'omit',
      })
    } catch {
      return { ok: false, error: { code: 'offline', message: 'Tessera is not answering: is `tessera web` still running?' } }
    }
    const body = (await res.json().catch(() => null)) as unknown
    if (res.ok) return { ok: true, value: body }
    const error = body as IpcError | null
    if (res.status === 401) {
      return { ok: false, error: { code: 'unauthorized', message: 'This page has no valid access token: open the address `tessera web` printed.' } }
    }
    return { ok: false, error: { code: error?.code ?? 'http', message: error?.message ?? `request failed (${res.status})` } }
  }
}

function electronTransport(bridge: TesseraBridge): Invoke {
  return (channel, input) => {
    const [group, method] = channel.split('.') as [string, string]
    const call = (bridge as unknown as Record<string, Record<string, (i: unknown) => Promise<IpcResult<unknown>>>>)[group]?.[method]
    return call ? call(input) : Promise.resolve({ ok: false, error: { code: 'unknown_channel', message: channel } })
  }
}

function createApi(invoke: Invoke): TesseraApi {
  return new Proxy({} as TesseraApi, {
    get: (_, group: string) =>
      new Proxy({}, {
        get: (__, method: string) => async (input?: unknown) => {
          const result = await invoke(`${group}.${method}`, input)
          if (!result.ok) throw new ApiError(result.error.code, result.error.message)
          return result.value
        },
      }),
  })
}

export const api: TesseraApi = createApi(window.tessera ? electronTransport(window.tessera) : webTransport())

export function errorText(err: unknown): string {
  return err instanceof ApiError ? err.message : 'Something went wrong inside Tessera.'
}
