import type { OperatorError } from '../../../src-main/ipc/channels'

/** A refusal from main, with its code: messages never carry a secret. */
export class ApiError extends Error {
  constructor(
    readonly code: OperatorError['code'],
    message: string,
    /** The server's own words or the engine's wording, shown under the message in smaller type. */
    readonly detail?: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** An error as the screen shows it: a plain sentence, and optionally someone else's words under it. */
export interface ShownError {
  text: string
  detail?: string
}

export function shownError(err: unknown): ShownError {
  if (!(err instanceof ApiError)) return { text: 'Something went wrong inside Tessera.' }
  return shownOperatorError(err)
}

/** An error main sent as part of an answer rather than as a refusal. */
export function shownOperatorError({ message, detail }: Pick<OperatorError, 'message' | 'detail'>): ShownError {
  return detail ? { text: message, detail } : { text: message }
}

export function errorText(err: unknown): string {
  return shownError(err).text
}
