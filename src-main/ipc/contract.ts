import * as v from 'valibot'
import { FLOWS, type Flow } from '../backend'
import { SCHEMES } from '../engine/schemes'
import { ProfileInput } from '../profiles/profile-schema'

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

import type { KeyInfo } from '../crypto/views'
import type { DecodedValue } from '../decode/views'
import type { InitSummary, NewShare, RevealedShare, ShareCard, ShareCheckResult, ShareList, ShareRef } from '../engine/views'
import type { ConnectionTest, ProfileList, ProfileView, Risk } from '../profiles/views'
import type {
  BackendInfo,
  CeremonyRecord,
  CeremonyReport,
  HeldResult,
  InitProgress,
  LogEntry,
  RecentKeyset,
  SessionState,
  UiAttemptStatus,
} from '../session/views'

export type {
  BackendInfo,
  CeremonyRecord,
  CeremonyReport,
  ConnectionTest,
  DecodedValue,
  HeldResult,
  InitProgress,
  InitSummary,
  KeyInfo,
  LogEntry,
  NewShare,
  ProfileList,
  ProfileView,
  RecentKeyset,
  RevealedShare,
  Risk,
  SessionState,
  ShareCard,
  ShareCheckResult,
  ShareList,
  ShareRef,
  UiAttemptStatus,
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
  message: string
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
