import { ERRORS, type ErrorCode, type ErrorEntry, type OperatorError } from './error-codes'
import { publicError } from './errors'

/**
 * What an operator reads in the app, per error code (error-codes.ts): the
 * code's sentence of what happened and what to do. The engine keeps Vault's
 * exact wording in its messages (`tessera serve` must answer as Vault does)
 * and a remote server has its own; those words travel beside the sentence as
 * the detail, never as the headline. Codes marked `headline: 'message'` show
 * the message written where they were raised, which names what only it knows.
 */

/** Codes where the whole set of shares failed at the threshold, not the holder who gave the last one. */
export const SET_FAILURE_CODES: ReadonlySet<ErrorCode> = new Set(['authentication_failed', 'combine_failed'])

/** A message written for operators elsewhere, as a sentence: capital first word, final stop. */
export function asSentence(text: string): string {
  // Only a plain first word is capitalized: a path or a host keeps its case.
  const capital = /^[a-z][a-z']*[ ,:;]/.test(text) ? text[0]!.toUpperCase() + text.slice(1) : text
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`
}

/** Any error as the app shows it: the plain sentence first, someone else's words as the detail. */
export function forOperator(err: unknown): OperatorError {
  const { code, message, detail } = publicError(err)
  const entry: ErrorEntry = ERRORS[code]
  const sentence = entry.sentence
  // A detail on the error is always a server's words (only the remote client sets one).
  const said = detail ? `Server said: ${detail}` : undefined
  if (entry.headline === 'message') return said ? { code, message: asSentence(message), detail: said } : { code, message: asSentence(message) }
  if (said) return { code, message: sentence, detail: said }
  // An internal error's own words are hidden by publicError, and say nothing more.
  if (message === sentence || code === 'internal') return { code, message: sentence }
  return { code, message: sentence, detail: `Engine said: ${message}` }
}
