import * as v from 'valibot'
import { FLOWS, type AttemptStatus, type Flow, type SealStatus } from '../backend'
import { SCHEMES } from '../engine/schemes'
import { ProfileInput, type Profile } from '../profiles/profile-schema'

/**
 * The one IPC contract. Each channel names its input schema (checked at run time
 * in main before any handler runs) and its output type. The preload, the web
 * host and the renderer's client are all derived from this object.
 */

const flow = v.picklist(FLOWS)
/** Shares, keys and encoded values are bounded: nothing legitimate is larger. */
const text = (max: number) => v.pipe(v.string(), v.maxLength(max))
const path = v.pipe(v.string(), v.minLength(1), v.maxLength(4096))
const noInput = v.optional(v.union([v.undefined(), v.null(), v.strictObject({})]))

export type Risk = 'plain-http' | 'no-tls-verification'

export interface BackendInfo {
  kind: 'none' | 'local' | 'remote'
  /** What the operator sees: the keyset's file path, or the profile's name and address. */
  label: string
  /** Remote only: what the UI must warn about while connected. */
  risks: Risk[]
  /** How shares are spelled, so the UI can check them as they are typed. */
  scheme: (typeof SCHEMES)[number] | null
  seal: SealStatus | null
}

/**
 * A status as the UI gets it: the OTP itself stays in main, which says whether it
 * holds one. `running_flow` names the flow holding the attempt where the backend
 * knows it (the local engine); a remote server's status does not say (null).
 */
export type UiAttemptStatus = Omit<AttemptStatus, 'otp'> & {
  otp_held: boolean
  running_flow: Flow | null
  /** After an update on a local keyset: which share was recognized ("share 3 (Carol)"). */
  last_share?: ShareRef & { checked: boolean }
}

/** A share as a keyset knows it: its place from 1 (null where a format-1 keyset cannot tell) and its holder. */
export interface ShareRef {
  number: number | null
  holder: string | null
}

/** One share checked with no ceremony; `code` is stable ('share_unknown', 'share_mismatch', 'share_length', …). */
export interface ShareCheckResult extends ShareRef {
  valid: boolean
  reason?: string
  code?: string
}

export interface ShareList {
  /** False for format-1 keysets, which record no check values. */
  canCheck: boolean
  shares: Array<{ number: number; holder: string | null }>
}

export interface ProfileView extends Profile {
  hasToken: boolean
  risks: Risk[]
}

export interface ProfileList {
  profiles: ProfileView[]
  /** 'session': no OS keychain, tokens are kept for this session only. */
  credentials: 'keychain' | 'session'
  /** Without a keychain: what it means for the operator, and the technical reason. */
  warning: string | null
  warningDetail: string | null
}

export interface ConnectionTest {
  reachable: true
  /** The node that answered (scheme://host:port), when a redirect led away from the profile's address. */
  answeredBy?: string
  version: string
  initialized: boolean
  sealed: boolean
  rootPath: string
  tokenAccepted: boolean | null
}

export interface KeyInfo {
  fingerprint: string
  userIds: string[]
  format: 'armored' | 'binary' | 'base64'
}

export interface DecodedValue {
  value: string
  kind: string
  /** First 8 hex digits of SHA-256 of the value: lets an operator verify a copy. */
  checksum: string
  /** Said when the value could not be verified (a legacy 16-byte OTP makes any bytes a UUID). */
  note?: string
  /** True when the value was checked against a keyset (a token it knows); false when nothing could check it. */
  verified: boolean
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
  /** The share flow's new share, held by main until revealed to its holder or saved (`result.revealShare`). */
  share: { encrypted: boolean; handedOut: boolean; number: number | null } | null
}

/** An init ceremony whose shares are being handed out. */
export interface InitProgress {
  summary: InitSummary
  /** Per holder: the share was revealed on screen, or its encrypted file handed to the page to save. */
  handedOut: boolean[]
}

/** What main keeps for the page, so that a reload loses nothing. */
export interface SessionState {
  result: HeldResult | null
  init: InitProgress | null
  /** The holder log of the current attempt (or of the held result's). */
  log: LogEntry[]
  record: CeremonyRecord
}

/** The transcript of the current (or last) ceremony of this session. */
export interface CeremonyRecord {
  /** Where new transcripts go; null when this window has no data directory and none was chosen. */
  directory: string | null
  /** The current or last transcript file; null before the first ceremony. */
  path: string | null
  /** The hash of its last line, what a verified copy ends with. */
  finalHash: string | null
  /** True while the ceremony is still being recorded (until cancel or wipe). */
  open: boolean
}

/** A ceremony record laid out for print (HTML with its own print styles). */
export interface CeremonyReport {
  html: string
  path: string
  finalHash: string
  /** False when the file no longer verifies: the report then shows only the valid part and says so. */
  verified: boolean
}

export interface RecentKeyset {
  path: string
  recovery: boolean
}

export interface InitSummary {
  path: string
  shares: number
  threshold: number
  scheme: (typeof SCHEMES)[number]
  /** One entry per holder when the shares were encrypted to PGP keys. */
  recipients: KeyInfo[]
  /** The holders' names in share order, when they were given. */
  holders: string[]
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

export const contract = {
  'app.info': { input: noInput, output: {} as { name: 'tessera'; version: string } },

  'backend.describe': { input: noInput, output: {} as BackendInfo },
  'backend.openKeyset': {
    input: v.strictObject({ path, recovery: v.optional(v.boolean(), false) }),
    output: {} as BackendInfo,
  },
  'backend.initKeyset': {
    input: v.strictObject({
      path,
      shares: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255)),
      threshold: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255)),
      scheme: v.optional(v.picklist(SCHEMES), 'vault'),
      /** Public keys' text (armored or base64), one per share, in holder order. */
      pgpKeys: v.optional(v.array(text(1024 * 1024))),
      /** One name per share, in share order; the keyset checks each and names the one it refuses, in a sentence. */
      holders: v.optional(v.pipe(v.array(text(64)), v.maxLength(255))),
    }),
    output: {} as InitSummary,
  },
  'backend.connectRemote': {
    input: v.strictObject({ id: text(64), token: v.optional(text(4096)) }),
    output: {} as BackendInfo,
  },
  'profiles.list': { input: noInput, output: {} as ProfileList },
  'profiles.save': {
    input: v.strictObject({ id: v.optional(text(64)), profile: ProfileInput, token: v.optional(v.nullable(text(4096))) }),
    output: {} as ProfileView,
  },
  'profiles.remove': { input: v.strictObject({ id: text(64) }), output: {} as { removed: true } },
  'profiles.test': { input: v.strictObject({ id: text(64), token: v.optional(text(4096)) }), output: {} as ConnectionTest },
  'init.revealShare': { input: v.strictObject({ index: v.pipe(v.number(), v.integer(), v.minValue(0)) }), output: {} as RevealedShare },
  /** The card of one holder's share, to print at their turn; it counts as revealing that share. */
  'init.shareCard': { input: v.strictObject({ index: v.pipe(v.number(), v.integer(), v.minValue(0)) }), output: {} as ShareCard },
  'init.revealRootToken': { input: noInput, output: {} as DecodedValue },
  'init.finish': {
    /** `abandon`: the operator confirmed that shares never revealed or saved are lost. */
    input: v.optional(v.union([v.undefined(), v.null(), v.strictObject({ abandon: v.optional(v.boolean(), false) })])),
    output: {} as { wiped: true },
  },

  'attempt.status': { input: v.strictObject({ flow }), output: {} as UiAttemptStatus },
  'attempt.start': {
    input: v.strictObject({ flow, pgpKey: v.optional(text(1024 * 1024)) }),
    output: {} as UiAttemptStatus,
  },
  'attempt.cancel': { input: v.strictObject({ flow }), output: {} as { cancelled: true } },
  /** A holder ticked that the nonce on screen is the one announced: recorded in the transcript (`recorded` false when no running attempt has that nonce). */
  'attempt.confirmNonce': { input: v.strictObject({ flow, nonce: text(64), holder: v.pipe(text(64), v.minLength(1)) }), output: {} as { recorded: boolean } },
  'attempt.update': {
    /** `holder`: who enters the share, for the log; a named holder entering another named holder's share is refused. */
    input: v.strictObject({ flow, key: text(4096), nonce: text(64), holder: v.optional(text(64)) }),
    output: {} as UiAttemptStatus,
  },

  'result.revealShare': { input: noInput, output: {} as NewShare },

  'shares.list': { input: noInput, output: {} as ShareList },
  'shares.check': { input: v.strictObject({ share: text(4096) }), output: {} as ShareCheckResult },

  'decode.held': { input: v.strictObject({ flow, encoded: text(64 * 1024) }), output: {} as DecodedValue },
  /** `verify` (default true): a decoded token must be one the open keyset knows. */
  'decode.otp': {
    input: v.strictObject({ encoded: text(64 * 1024), otp: text(4096), verify: v.optional(v.boolean(), true) }),
    output: {} as DecodedValue,
  },
  'decode.pgp': {
    input: v.strictObject({
      encoded: text(64 * 1024),
      privateKey: text(1024 * 1024),
      passphrase: v.optional(text(4096)),
      verify: v.optional(v.boolean(), true),
    }),
    output: {} as DecodedValue,
  },
  'pgp.inspect': { input: v.strictObject({ key: text(1024 * 1024) }), output: {} as KeyInfo },

  'clipboard.copy': { input: v.strictObject({ text: text(4096) }), output: {} as { clearsInSeconds: number } },

  /** Where the transcripts of the next ceremonies go. */
  'transcript.setDirectory': { input: v.strictObject({ path }), output: {} as CeremonyRecord },
  'transcript.report': { input: noInput, output: {} as CeremonyReport },
  /** Prints the record to a PDF file the operator picks (the desktop app only; a browser prints `transcript.report`). */
  'transcript.print': {
    input: v.strictObject({ pageSize: v.picklist(['A4', 'Letter']) }),
    output: {} as { saved: string | null },
  },

  'session.wipe': { input: noInput, output: {} as { wiped: true } },
  'session.state': { input: noInput, output: {} as SessionState },
  'backend.recent': { input: noInput, output: {} as { recent: RecentKeyset[] } },
} as const

export type Contract = typeof contract
export type Channel = keyof Contract
export type Input<C extends Channel> = v.InferInput<Contract[C]['input']>
export type Output<C extends Channel> = Contract[C]['output']

export const CHANNELS = Object.keys(contract) as Channel[]

/** Errors cross IPC as data, never carrying a secret. */
export interface IpcError {
  code: string
  /** A plain sentence: what happened and what to do. */
  message: string
  /** The server's own words or the engine's Vault wording, bounded and redacted; shown under the sentence. */
  detail?: string
}
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError }

type Group = Channel extends `${infer G}.${string}` ? G : never
type Method<C extends Channel, R> = (...args: undefined extends Input<C> ? [input?: Input<C>] : [input: Input<C>]) => Promise<R>

/** What the preload exposes as window.tessera: `tessera.attempt.update({...})` resolves an IpcResult. */
export type TesseraBridge = {
  [G in Group]: { [C in Channel as C extends `${G}.${infer M}` ? M : never]: Method<C, IpcResult<Output<C>>> }
}

/** The renderer's view: the same calls, resolving the value and throwing the IpcError. */
export type TesseraApi = {
  [G in Group]: { [C in Channel as C extends `${G}.${infer M}` ? M : never]: Method<C, Output<C>> }
}

export type { Flow }
