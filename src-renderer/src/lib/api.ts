import type { Channel, IpcResult, OperatorError, TesseraApi, TesseraBridge } from '../../../src-main/ipc/channels'
import { createApi, type Invoke } from './api-client'

export { ApiError, errorText, shownError, type ShownError } from './api-error'

declare global {
  interface Window {
    tessera?: TesseraBridge
  }
}

const ACCESS_KEY = 'tessera.access'

/** Takes an access token from the address's fragment into this tab's storage and clears the bar. */
function takeAccessFromFragment(): boolean {
  const match = /(?:^#|&)access=([A-Za-z0-9_-]+)/.exec(window.location.hash)
  if (!match) return false
  sessionStorage.setItem(ACCESS_KEY, match[1]!)
  history.replaceState(null, '', window.location.pathname + window.location.search)
  return true
}

/**
 * `tessera web`: the access token arrives in the URL fragment (never sent to a
 * server, never in a Referer). It is kept in this tab's sessionStorage, which no
 * other tab or site can read and which dies with the tab, so that a reload keeps
 * working; the address bar is cleared. Pasting a new printed address into the tab
 * changes only the fragment: the page takes the new token and starts afresh.
 */
function webTransport(): Invoke {
  takeAccessFromFragment()
  window.addEventListener('hashchange', () => {
    if (takeAccessFromFragment()) window.location.reload()
  })
  return async (channel, input) => {
    let res: Response
    try {
      res = await fetch(`/rpc/${channel}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${sessionStorage.getItem(ACCESS_KEY) ?? ''}` },
        body: JSON.stringify(input ?? null),
        cache: 'no-store',
        credentials: 'omit',
      })
    } catch {
      return { ok: false, error: { code: 'offline', message: 'Tessera is not answering. Check that the tessera web command is still running.' } }
    }
    const body = (await res.json().catch(() => null)) as unknown
    if (res.ok) return { ok: true, value: body }
    const error = body as OperatorError | null
    if (res.status === 401) {
      return { ok: false, error: { code: 'unauthorized', message: 'This page has no valid access key. Open the address that the tessera web command printed (it ends in #access=…) in this tab.' } }
    }
    const detail = typeof error?.detail === 'string' ? { detail: error.detail } : {}
    return { ok: false, error: { code: error?.code ?? 'http', message: error?.message ?? `request failed (${res.status})`, ...detail } }
  }
}

function electronTransport(bridge: TesseraBridge): Invoke {
  return (channel, input) => {
    const [group, method] = channel.split('.') as [string, string]
    const call = (bridge as unknown as Record<string, Record<string, (i: unknown) => Promise<IpcResult<unknown>>>>)[group]?.[method]
    return call ? call(input) : Promise.resolve({ ok: false, error: { code: 'unknown_channel', message: channel } })
  }
}

type RecordListener = (channel: Channel, ok: boolean) => void
const recordListeners = new Set<RecordListener>()

/** Calls `listener` after every answered call that may have added a line to the ceremony record, with its channel and whether main accepted it. */
export function afterRecordingCall(listener: RecordListener): void {
  recordListeners.add(listener)
}

export const api: TesseraApi = createApi(window.tessera ? electronTransport(window.tessera) : webTransport(), (channel, ok) => {
  for (const listener of recordListeners) listener(channel, ok)
})
