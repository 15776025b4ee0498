import type { CeremonyEvent, HandOutHow } from './events'
import type { RecordWriter } from './writer'

export type AbandonReason = Extract<CeremonyEvent, { type: 'init_abandoned' }>['data']['reason']

/**
 * The record of a hand-out of new shares, whichever ceremony made them: each
 * share as it leaves (and how), the root token revealed where there is one, and
 * how the hand-out ended. A recording failure fails the step being recorded.
 */
export interface HandOutRecord {
  readonly writer: RecordWriter
  shareHandedOut(number: number, how: HandOutHow): Promise<void>
  rootTokenRevealed(how: Extract<CeremonyEvent, { type: 'root_token_revealed' }>['data']['how']): Promise<void>
  /** Says how the hand-out ended (`reason` why it ended early), records the wipe, closes; resolves with the final hash. */
  ended(reason?: AbandonReason): Promise<string>
}
