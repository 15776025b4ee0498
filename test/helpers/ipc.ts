import { expect } from 'vitest'
import type { Dispatch } from '../../src-main/ipc/router'

/**
 * Calls channels as the page does, through a router the test may replace
 * between cases: `call` returns the value or throws the {code, message} it got,
 * `refusal` expects a refusal and returns it.
 */
export function ipcCalls(router: () => Dispatch) {
  return {
    async call(channel: string, input?: unknown): Promise<any> {
      const r = await router()(channel, input)
      if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code })
      return r.value
    },
    async refusal(channel: string, input?: unknown): Promise<{ code: string; message: string }> {
      const r = await router()(channel, input)
      expect(r.ok).toBe(false)
      return (r as { ok: false; error: { code: string; message: string } }).error
    },
  }
}
