import * as v from 'valibot'
import { contract, type Channel, type Contract, type IpcError, type IpcResult, type Output } from './contract'
import { publicError } from '../support/errors'

export type Handlers = {
  [C in Channel]: (input: v.InferOutput<Contract[C]['input']>) => Promise<Output<C>>
}

export type Dispatch = (channel: string, input: unknown) => Promise<IpcResult<unknown>>

/** Errors written for operators pass through with their message; anything else is hidden. */
export function toIpcError(err: unknown): IpcError {
  const { code, message } = publicError(err)
  return { code, message }
}

/**
 * Describes why input was refused by naming the field and what was expected,
 * never echoing the value received (it may be a share).
 */
function describe(issues: [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]]): string {
  const issue = issues[0]
  const where = issue.path?.map((p) => String(p.key)).join('.') || 'input'
  return `${where}: expected ${issue.expected ?? issue.type}`
}

/** The transport-free router that Electron's ipcMain and the web host both serve. */
export function createRouter(handlers: Handlers, opts: { onInternalError?: (channel: string, err: unknown) => void } = {}): Dispatch {
  return async (channel, input) => {
    if (!Object.hasOwn(contract, channel)) {
      return { ok: false, error: { code: 'unknown_channel', message: `unknown channel "${channel.slice(0, 64)}"` } }
    }
    const name = channel as Channel
    const parsed = v.safeParse(contract[name].input, input)
    if (!parsed.success) return { ok: false, error: { code: 'invalid_input', message: describe(parsed.issues) } }
    try {
      const handler = handlers[name] as (i: unknown) => Promise<unknown>
      return { ok: true, value: await handler(parsed.output) }
    } catch (err) {
      const error = toIpcError(err)
      if (error.code === 'internal') opts.onInternalError?.(name, err)
      return { ok: false, error }
    }
  }
}
