// What this room shows the operator, as plain data. Types only: the IPC channel
// list names them, and the renderer's type check and the preload bundle must
// not pull in Shamir or Node through it.
import type { ErrorCode } from '../support/error-codes'

/** A share as a keyset knows it: its place from 1 (null where a format-1 keyset cannot tell) and its holder. */
export interface ShareRef {
  number: number | null
  holder: string | null
}

/** Why a share checked with no ceremony is not valid: the refusal's code, or that this keyset cannot tell. */
export type ShareCheckCode = ErrorCode | 'cannot_check'

/** One share checked with no ceremony. */
export interface ShareCheckResult extends ShareRef {
  valid: boolean
  reason?: string
  code?: ShareCheckCode
}

export interface ShareList {
  /** False for format-1 keysets, which record no check values. */
  canCheck: boolean
  shares: Array<{ number: number; holder: string | null }>
}

/** The share flow's new share: as its holder types it, or (encrypted) a PGP message in base64. */
export interface NewShare {
  key: string
  key_base64: string
  encrypted: boolean
}

/** One holder's share card, laid out for print: the share in numbered lines of four groups, each with its check. */
export interface ShareCard {
  holder: string | null
  /** The share's number, as the keyset knows it. */
  number: number
  shares: number
  threshold: number
  /** SHA-256 of the keyset's encrypted keyring: names the keyset without revealing it. */
  fingerprint: string
  /** The keyset's creation date (YYYY-MM-DD). */
  created: string
  /** The keyset file, for `tessera verify-share --keyset`. */
  path: string
  lines: string[]
}

export interface RevealedShare extends NewShare {
  index: number
}
