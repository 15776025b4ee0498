/**
 * An error whose message is safe to show to a client: it never carries a share,
 * an OTP or a token. `status` is the HTTP status Vault answers with.
 */
export class EngineError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string = 'bad_request',
  ) {
    super(message)
    this.name = 'EngineError'
  }
}

export const badRequest = (message: string, code = 'bad_request') => new EngineError(400, message, code)
