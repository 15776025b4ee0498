/** A refusal from main, with its code: messages never carry a secret. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export function errorText(err: unknown): string {
  return err instanceof ApiError ? err.message : 'Something went wrong inside Tessera.'
}
