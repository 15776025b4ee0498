// What the session shows the page, as plain data. Types only: the IPC channel
// list names them, and the renderer's type check and the preload bundle must
// not pull in Node through it.
import type { AttemptStatus, Flow, SealStatus } from '../backend'
import type { SCHEMES } from '../engine/schemes'
import type { KeyInfo } from '../crypto/views'
import type { ShareList, ShareRef } from '../engine/views'
import type { Risk } from '../profiles/views'
import type { RekeyState, Verification, VerifyState } from '../rekey-views'

export interface BackendInfo {
  kind: 'none' | 'local' | 'remote'
  /** What the operator sees: the keyset's file path, or the profile's name and address. */
  label: string
  /** Remote only: what the UI must warn about while connected. */
  risks: Risk[]
  /** How shares are spelled, so the UI can check them as they are typed. */
  scheme: (typeof SCHEMES)[number] | null
  seal: SealStatus | null
  /** A server: whether its shares are checked as entered (its server check file), and what the page says of it. */
  shareChecks?: ShareChecksView
}

/** Whether a server's shares are checked as entered, in a sentence either way. */
export interface ShareChecksView {
  checked: boolean
  note: string
}

/**
 * A status as the UI gets it: the OTP itself stays in main, which says whether it
 * holds one. `running_flow` names the flow holding the attempt where the backend
 * knows it (the local engine); a remote server's status does not say (null).
 */
export type UiAttemptStatus = AttemptStatus & {
  otp_held: boolean
  running_flow: Flow | null
  /** After an update on a local keyset: which share was recognized ("share 3 (Carol)"). */
  last_share?: ShareRef & { checked: boolean }
}

/** One line of the holder log of an attempt, kept by main: names, outcomes and times only. */
export interface LogEntry {
  /** ISO 8601 time. */
  at: string
  operator: string
  outcome: string
  ok: boolean
}

/** A finished attempt's result, held by main until the operator wipes it. */
export interface HeldResult {
  flow: Flow
  encoded: string
  pgp_fingerprint: string
  /** Main holds the OTP that decodes it (never sent here). */
  otp_held: boolean
  /** Where the result was made: the keyset path or the server's name and address. */
  backend: string
  /**
   * The share flow's new share, held by main until its holder got it: shown
   * (`result.revealShare`), shown on its card (`result.shareCard`), or its encrypted file saved.
   * `card`: a card can be printed (a local keyset's share in the clear).
   */
  share: { encrypted: boolean; handedOut: boolean; number: number | null; holder: string | null; card: boolean } | null
}

/** New shares to hand out: a keyset's or a server's just initialized (with the initial root token), or a rekey's. */
export interface HandOutSummary {
  ceremony: 'init' | 'rekey'
  /** Where the shares open: the keyset's file path, or the server's name and address. */
  place: { kind: 'keyset' | 'server'; name: string }
  shares: number
  threshold: number
  scheme: (typeof SCHEMES)[number]
  /** One entry per holder when the shares were encrypted to PGP keys. */
  recipients: KeyInfo[]
  /** The holders' names in share order, when they were given. */
  holders: string[]
  /** The hand-out ends with the initial root token (an init). */
  rootToken: boolean
  /** A server's init: the key the server encrypted the root token to (root_token_pgp_key); it is then saved as a file, not shown. */
  rootTokenKey?: KeyInfo
  /** A server's init: where its server check file was written; absent when none was. */
  checkFile?: string
  /** What went wrong without stopping the hand-out (a check file or record that could not be written), in sentences. */
  warnings?: string[]
}

/** A hand-out of new shares in progress. */
export interface HandOutProgress {
  summary: HandOutSummary
  /** Per holder: the share was revealed on screen, or its encrypted file handed to the page to save. */
  handedOut: boolean[]
}

/** What main keeps for the page, so that a reload loses nothing. */
export interface SessionState {
  result: HeldResult | null
  handOut: HandOutProgress | null
  /** The holder log of the current attempt (or of the held result's). */
  log: LogEntry[]
  record: CeremonyRecord
}

/** The open backend as the page shows it. */
export interface BackendView {
  info: BackendInfo
  /** The open keyset's shares, or a server's from its check file; null when neither is known. */
  shares: ShareList | null
}

/** Everything the page's first screen shows, in one answer: opening or reloading the page costs one call. */
export interface SessionSnapshot {
  version: string
  backend: BackendView
  state: SessionState
  /** The open backend's flows' attempts; a flow whose status could not be read is absent (the page asks again and shows why). */
  statuses: Partial<Record<Flow, UiAttemptStatus>>
  /** The rekey the open backend offers or runs. */
  rekey: RekeyView
}

/**
 * An update's reply: the attempt's status and main's state after it; after
 * the last share, the backend as it stands (a share flow added a share out).
 */
export type UpdateReply = UiAttemptStatus & { state: SessionState; backend?: BackendView }

/** The record of the current (or last) ceremony of this session. */
export interface CeremonyRecord {
  /** Where new records go; null when this window has no data directory and none was chosen. */
  directory: string | null
  /** The current or last record file; null before the first ceremony. */
  path: string | null
  /** The hash of its last line, what a verified copy ends with. */
  finalHash: string | null
  /** True while the ceremony is still being recorded (until cancel or wipe). */
  open: boolean
}

/** A ceremony record laid out for print (HTML with its own print styles). */
export interface PrintableRecord {
  html: string
  path: string
  finalHash: string
  /** False when the file no longer verifies: the printed record then shows only the valid part and says so. */
  verified: boolean
}

export interface RecentKeyset {
  path: string
  recovery: boolean
}

/** A rekey as the page shows it: what the open backend offers, and the rekey running there. */
export interface RekeyView {
  /** Null when the open backend cannot rekey (none open, a server, a keyset in recovery mode). */
  offered: {
    api: 'keyset' | 'legacy' | 'rotate'
    /** Verification of every new share is offered. */
    verifyAll: boolean
    /** Verification 'none' may be chosen: a keyset holds unverified new shares until their hand-out ends; a server would apply them at once, so it is refused there. */
    verificationNone: boolean
    /** A keyset keeps its backup in memory only: it is gone once Tessera stops. */
    backupInMemory: boolean
    /**
     * The generation of the server check file a rekey here keeps true (a rekey
     * writes the next one, which takes effect with the new shares); null for a
     * keyset, or a server with no usable check file. Asking for a backup there
     * retires that file once the new shares take effect: the server encrypts
     * them, so Tessera can make no check value of them.
     */
    checkFile: number | null
  } | null
  /** The rekey as the backend has it (sys/rekey/init's status); null when none is offered. */
  status: RekeyState | null
  /** The verification of the new shares, once they were made and wait for it (not for a rekey held until its hand-out ends). */
  verify: VerifyState | null
  /** How the new shares are verified, and their holders' names, as the rekey started here asked; null for one started elsewhere. */
  asked: { verification: Verification; holders: string[] } | null
  /** A backup of the new shares is held (PGP-encrypted, per key fingerprint); null when it could not be read. */
  backup: boolean | null
  /** Why the backup could not be read (the server's refusal or the failure, as a sentence); null when it was read. */
  backupUnread: string | null
  /** The rekey's holder log: names, outcomes and times; never a share. */
  log: LogEntry[]
  /** Why no rekey is offered where the server refused to answer one (a token missing or refused), as a sentence; null otherwise. */
  unavailable: string | null
}

/** A share entered toward a rekey or its verification: the rekey after it, the share recognized, and main's state (a hand-out begun). */
export type RekeyReply = RekeyView & {
  last_share?: ShareRef & { checked: boolean }
  /** The new shares took effect (the verification completed). */
  complete?: boolean
  state: SessionState
  /** The backend as it stands once the new shares took effect. */
  backend?: BackendView
}
