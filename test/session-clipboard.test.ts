import { afterEach, describe, expect, it, vi } from 'vitest'
import { createRouter } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'
import { CLIPBOARD_SECONDS, type Clipboard } from '../src-main/session/clipboard'

/** An in-memory clipboard with the Electron clipboard's shape. */
function fakeClipboard(): Clipboard & { content: string } {
  return {
    content: '',
    writeText(text) {
      this.content = text
    },
    readText() {
      return this.content
    },
    clear() {
      this.content = ''
    },
  }
}

afterEach(() => vi.useRealTimers())

describe('copying a secret through main', () => {
  it('clears the clipboard after 30 s if it still holds the value', async () => {
    vi.useFakeTimers()
    const clipboard = fakeClipboard()
    const dispatch = createRouter(handlersFor(new Session({ clipboard })))
    expect(await dispatch('clipboard.copy', { text: 'hvs.secret' })).toEqual({ ok: true, value: { clearsInSeconds: CLIPBOARD_SECONDS } })
    expect(clipboard.content).toBe('hvs.secret')
    await vi.advanceTimersByTimeAsync((CLIPBOARD_SECONDS - 1) * 1000)
    expect(clipboard.content).toBe('hvs.secret')
    await vi.advanceTimersByTimeAsync(1000)
    expect(clipboard.content).toBe('')
  })

  it('leaves alone what the operator copied since', async () => {
    vi.useFakeTimers()
    const clipboard = fakeClipboard()
    const dispatch = createRouter(handlersFor(new Session({ clipboard })))
    await dispatch('clipboard.copy', { text: 'hvs.secret' })
    clipboard.writeText('a shopping list')
    await vi.advanceTimersByTimeAsync(CLIPBOARD_SECONDS * 1000)
    expect(clipboard.content).toBe('a shopping list')
  })

  it('is refused where main has no clipboard (the web transport)', async () => {
    const result = await createRouter(handlersFor(new Session()))('clipboard.copy', { text: 'hvs.secret' })
    expect(result).toEqual({ ok: false, error: { code: 'unsupported', message: 'This window copies through the browser, not through Tessera.' } })
  })
})
