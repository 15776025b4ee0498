import * as v from 'valibot'
import type { Channel, IpcResult, Output } from './channels'
import { schemas, type Schemas } from './schemas'
import { describeIssue } from '../support/issues'
import { forOperator } from '../support/plain-errors'

/** One handler per channel: it gets the input as its schema parsed it (defaults filled in). */
export type Handlers = {
  [C in Channel]: (input: v.InferOutput<Schemas[C]>) => Promise<Output<C>>
}

export type Dispatch = (channel: string, input: unknown) => Promise<IpcResult<unknown>>

/** The transport-free router that Electron's ipcMain and the web host both serve. */
export function createRouter(handlers: Handlers, opts: { onInternalError?: (channel: string, err: unknown) => void } = {}): Dispatch {
  return async (channel, input) => {
    if (!Object.hasOwn(schemas, channel)) {
      // The name is not repeated: it is the caller's text.
      return { ok: false, error: { code: 'unknown_channel', message: 'unknown channel' } }
    }
    const name = channel as Channel
    const parsed = v.safeParse(schemas[name], input)
    if (!parsed.success) return { ok: false, error: { code: 'invalid_input', message: describeIssue(parsed.issues) } }
    try {
      const handler = handlers[name] as (i: unknown) => Promise<unknown>
      return { ok: true, value: await handler(parsed.output) }
    } catch (err) {
      const error = forOperator(err)
      if (error.code === 'internal' || error.code === 'system_error') opts.onInternalError?.(name, err)
      return { ok: false, error }
    }
  }
}
