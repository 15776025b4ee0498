import type { LogEntry } from '../../../src-main/ipc/channels'

/**
 * What the collect screen enters shares into, one holder at a time: an
 * attempt's quorum, a rekey's current shares, or the rekey's new shares
 * entered back to verify them. Refusals show at the 'collect' place, a
 * failed cancel at 'cancel'.
 */
export interface Collection {
  /** What is being collected, after "Collect shares — ". */
  readonly title: string
  readonly status: { started: boolean; nonce: string; progress: number; required: number }
  /** What the nonce is of: "this attempt", "this rekey", "this verification". */
  readonly nonceOf: string
  /** What each holder checks beside the nonce, finishing "I checked that the nonce …". */
  readonly confirms: string
  /** The holder log, as main keeps it. */
  readonly log: LogEntry[]
  /** What the last accepted share was recognized as. */
  readonly accepted: string
  /** Said when the collection vanished from the backend. */
  readonly lostText: string
  /** One holder's share; true when it was accepted. */
  submit(operator: string, key: string): Promise<boolean>
  /** Records a holder's confirmation of the nonce; false when main refused it. */
  confirmNonce(holder: string): Promise<boolean>
  readonly cancelWords: { ask: string; question: string; yes: string; keep: string }
  cancel(): Promise<void>
  /** Back to the operations, once the collection vanished. */
  lost(): void
}
