import { TesseraError } from '../support/errors'

/** An engine refusal; `status` is the HTTP status Vault answers with. */
export class EngineError extends TesseraError {}

export const badRequest = (message: string, code = 'bad_request') => new EngineError(400, message, code)
