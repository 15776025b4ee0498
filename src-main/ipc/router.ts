import * as v from 'valibot'
import type { Channel, IpcError, IpcResult, Output } from './channels'
import { schemas, type Schemas } from './schemas'
import { publicError } from '../support/errors'

/** One handler per channel: it gets the input as its schema parsed it (defaults filled in). */
export type Handlers = {
  [C in Channel]: (input: v.InferOutput<Schemas[C]>) => Promise<Output<C>>
}

export type Dispatch = (channel: string, input: unknown) => Promise<IpcResult<unknown>>

/** Errors written for operators pass through with their message; anything else is hidden. */
export function toIpcError(err: unknown): IpcError {
  const { code, message } = publicError(err)
  return { code, message }
}

/** Longest field path or expectation an error names; schema names are far shorter. */
const MAX_PART_CHARS = 120

/**
 * Describes why input was refused by naming the field and what was expected,
 * never echoing anything received: not a value (it may be a share), and not an
 * unknown key either (a key is as much the caller's text as a value is). Only
 * keys the schema itself declares are named.
 */
function describe(issues: [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]]): string {
  const issue = issues[0]
  const names: string[] = []
  for (const item of issue.path ?? []) {
    // An unknown key of a strict object: the path item's key is the caller's own text.
    if (item.origin === 'key' && issue.expected === 'never') {
      return `${names.join('.') || 'input'}: unexpected field`.slice(0, MAX_PART_CHARS * 2)
    }
    names.push(typeof item.key === 'number' ? String(item.key) : String(item.key).slice(0, MAX_PART_CHARS))
  }
  const where = names.join('.').slice(0, MAX_PART_CHARS) || 'input'
  return `${where}: expected ${String(issue.expected ?? issue.type).slice(0, MAX_PART_CHARS)}`
}

/** The transport-free router that Electron's ipcMain and the web host both serve. */
export function createRouter(handlers: Handlers, opts: { onInternalError?: (channel: string, err: unknown) => void } = {}): Dispatch {
  return async (channel, input) => {
    if (!Object.hasOwn(schemas, channel)) {
      // The name is not repeated: it is the caller's text.
      return { ok: false, error: { code: 'unknown_channel', message: 'unknown channel' } }
    }
    const name = channel as Channel
    const parsed = v.safeParse(schemas[name], input)
    if (!parsed.success) return { ok: false, error: { code: 'invalid_input', message: describe(parsed.issues) } }
    try {
      const handler = handlers[name] as (i: unknown) => Promise<unknown>
      return { ok: true, value: await handler(parsed.output) }
    } catch (err) {
      const error = toIpcError(err)
      if (error.code === 'internal' || error.code === 'system_error') opts.onInternalError?.(name, err)
      return { ok: false, error }
    }
  }
}
