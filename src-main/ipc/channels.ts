import type { Flow } from '../backend'
import type { KeyInfo } from '../crypto/views'
import type { DecodedValue } from '../decode/views'
import type { Scheme } from '../engine/schemes'
import type { NewShare, RevealedShare, ShareCard, ShareCheckResult, ShareList, ShareRef } from '../engine/views'
import type { ProfileInput } from '../profiles/profile-schema'
import type { ConnectionTest, NodeProblem, NodeTest, ProfileList, ProfileView, Risk } from '../profiles/views'
import type { OperatorError } from '../support/error-codes'
import type {
  BackendInfo,
  BackendView,
  CeremonyRecord,
  PrintableRecord,
  HeldResult,
  HandOutProgress,
  HandOutSummary,
  LogEntry,
  RecentKeyset,
  RekeyReply,
  RekeyView,
  SessionSnapshot,
  SessionState,
  UiAttemptStatus,
  UpdateReply,
} from '../session/views'
import type { UnsealView } from '../session/unseal-views'
import type { RekeyBackup } from '../rekey-views'

/**
 * The IPC channel list, half of the one IPC contract: every channel by group,
 * with its input and output types. It imports nothing at run time, so that the
 * sandboxed preload and the renderer build `window.tessera` and `api` from it
 * without carrying a schema library. The other half, the input schemas that main
 * checks before any handler runs, is `./schemas` (main only).
 */

export const CHANNEL_GROUPS = {
  app: ['info'],
  backend: ['describe', 'openKeyset', 'initKeyset', 'connectRemote', 'recent', 'initServer'],
  profiles: ['list', 'save', 'remove', 'test'],
  handout: ['revealShare', 'shareCard', 'revealRootToken', 'finish', 'shareSaved', 'cardPrinted', 'printCard'],
  attempt: ['status', 'start', 'cancel', 'confirmNonce', 'update'],
  rekey: ['status', 'start', 'confirmNonce', 'update', 'verify', 'restartVerification', 'cancel', 'backup', 'deleteBackup'],
  result: ['revealShare', 'shareSaved', 'shareCard', 'cardPrinted'],
  shares: ['list', 'check'],
  decode: ['held', 'otp', 'pgp', 'gpg'],
  pgp: ['inspect'],
  clipboard: ['copy'],
  record: ['setDirectory', 'printable', 'printPdf'],
  session: ['wipe', 'state', 'snapshot'],
  unseal: ['status', 'submit', 'reset', 'finish'],
} as const

/** Nothing, null or an empty object. */
type NoInput = undefined | null | Record<never, never>

/** Each channel's input (as the caller sends it) and output. */
export interface Contract {
  'app.info': { input: NoInput; output: { name: 'tessera'; version: string } }

  'backend.describe': { input: NoInput; output: BackendInfo }
  'backend.openKeyset': { input: { path: string; recovery?: boolean }; output: BackendInfo }
  'backend.initKeyset': {
    input: {
      path: string
      shares: number
      threshold: number
      scheme?: Scheme
      /** Public keys' text (armored or base64), one per share, in holder order. */
      pgpKeys?: string[]
      /** One name per share, in share order; the keyset checks each and names the one it refuses, in a sentence. */
      holders?: string[]
      /** The operator confirmed that one person holds several shares: one PGP key may be given for several holders. */
      allowSharedKey?: boolean
    }
    output: HandOutSummary
  }
  'backend.connectRemote': { input: { id: string; token?: string }; output: BackendInfo }
  /**
   * Initializes the connected server (PUT sys/init), writes its server check file, and holds its shares for the hand-out.
   * `pgpKeys`: Tessera encrypts each share to its holder's key; `rootTokenPgpKey`: the server encrypts the root token to it.
   */
  'backend.initServer': {
    input: { shares: number; threshold: number; pgpKeys?: string[]; holders?: string[]; allowSharedKey?: boolean; rootTokenPgpKey?: string }
    output: HandOutSummary
  }
  'backend.recent': { input: NoInput; output: { recent: RecentKeyset[] } }

  'profiles.list': { input: NoInput; output: ProfileList }
  'profiles.save': { input: { id?: string; profile: ProfileInput; token?: string | null }; output: ProfileView }
  'profiles.remove': { input: { id: string }; output: { removed: true } }
  'profiles.test': { input: { id: string; token?: string }; output: ConnectionTest }

  /** One holder's share, for the screen to show at once: a share in the clear counts as handed out (an encrypted one once `handout.shareSaved`). */
  'handout.revealShare': { input: { index: number }; output: RevealedShare }
  /** The card of one holder's share, shown at their turn; it counts as revealing that share (`card_shown`). */
  'handout.shareCard': { input: { index: number }; output: ShareCard }
  /** The page saved the holder's encrypted share file: now it is handed out. */
  'handout.shareSaved': { input: { index: number }; output: { recorded: true } }
  /** The page printed the holder's shown card (its print dialog closed): recorded as `card_printed`. */
  'handout.cardPrinted': { input: { index: number }; output: { recorded: true } }
  /** The desktop app prints the window (only the shown card prints) through the system dialog; `card_printed` once the printer took it. */
  'handout.printCard': { input: { index: number }; output: { printed: boolean } }
  'handout.revealRootToken': { input: NoInput; output: DecodedValue }
  /** `abandon`: the operator confirmed that shares never revealed or saved are lost. */
  'handout.finish': { input: undefined | null | { abandon?: boolean }; output: { wiped: true } }

  'attempt.status': { input: { flow: Flow }; output: UiAttemptStatus }
  /**
   * `newHolder`: who gets the share flow's new share; the keyset records it with the share, the record and the card name it.
   * `allowSharedKey`: the new share may go to a key that already holds a share of the keyset (one person, several shares).
   */
  'attempt.start': { input: { flow: Flow; pgpKey?: string; newHolder?: string; allowSharedKey?: boolean }; output: UiAttemptStatus }
  'attempt.cancel': { input: { flow: Flow }; output: { cancelled: true } }
  /** A holder ticked that the nonce on screen is the one announced: written to the record (`recorded` false when no running attempt has that nonce). */
  'attempt.confirmNonce': { input: { flow: Flow; nonce: string; holder: string }; output: { recorded: boolean } }
  /**
   * `holder`: who enters the share, for the log; a named holder entering another named holder's share is refused.
   * The reply carries `state`, as `session.state` gives it after the update, so that one share costs one call;
   * the last share's reply also carries `backend`, as it stands after the result (a share flow added a share out).
   */
  'attempt.update': { input: { flow: Flow; key: string; nonce: string; holder?: string }; output: UpdateReply }

  'rekey.status': { input: NoInput; output: RekeyView }
  /**
   * New shares for the open backend: `pgpKeys` (public keys' text, one per new share) and `holders` (one name per share)
   * in share order; `backup` keeps the encrypted new shares; `verification`: 'all' only where the rekey offers it.
   */
  'rekey.start': {
    input: { shares: number; threshold: number; pgpKeys?: string[]; holders?: string[]; backup?: boolean; verification: 'none' | 'threshold' | 'all' }
    output: RekeyView
  }
  /** A holder ticked that the nonce (the rekey's, or its verification's) and the new parameters match what was announced. */
  'rekey.confirmNonce': { input: { nonce: string; holder: string }; output: { recorded: boolean } }
  /** One current share; the completing one makes the new shares, which go to the hand-out (`state.handOut`), never in this reply. */
  'rekey.update': { input: { key: string; nonce: string; holder?: string }; output: RekeyReply }
  /** One new share entered back; `complete` once the new shares took effect (then `backend` as it stands). */
  'rekey.verify': { input: { key: string; nonce: string; holder?: string }; output: RekeyReply }
  /** The verification starts over under a new nonce; the new shares stay. */
  'rekey.restartVerification': { input: NoInput; output: RekeyView }
  /** Nothing changes; the current shares stay in effect. Refused while the new shares are being handed out. */
  'rekey.cancel': { input: NoInput; output: RekeyView }
  /** The PGP-encrypted new shares kept by a rekey asked for a backup, as Vault's sys/rekey/backup gives them. */
  'rekey.backup': { input: NoInput; output: RekeyBackup }
  'rekey.deleteBackup': { input: NoInput; output: RekeyView }

  /** The new share for its holder: a share in the clear is handed out (`revealed`), recorded before it leaves main; an encrypted one once `result.shareSaved`. */
  'result.revealShare': { input: NoInput; output: NewShare }
  /** The page saved the new share's encrypted file: now it is handed out (`encrypted_file_saved`). */
  'result.shareSaved': { input: NoInput; output: { recorded: true } }
  /** The new share's card (a local keyset's share in the clear): showing it hands the share out, and is recorded. */
  'result.shareCard': { input: NoInput; output: ShareCard }
  /** The new share's card was printed: recorded as such. */
  'result.cardPrinted': { input: NoInput; output: { recorded: true } }

  'shares.list': { input: NoInput; output: ShareList }
  'shares.check': { input: { share: string }; output: ShareCheckResult }

  'decode.held': { input: { flow: Flow; encoded: string }; output: DecodedValue }
  /** `verify` (default true): a decoded token or share must be one the open keyset knows. */
  'decode.otp': { input: { encoded: string; otp: string; verify?: boolean }; output: DecodedValue }
  'decode.pgp': { input: { encoded: string; privateKey: string; passphrase?: string; verify?: boolean }; output: DecodedValue }
  /** Decrypts with the system's gpg, run by main: the private key stays in gpg-agent or on a smartcard, whose PIN its pinentry asks. */
  'decode.gpg': { input: { encoded: string; verify?: boolean }; output: DecodedValue }

  'pgp.inspect': { input: { key: string }; output: KeyInfo }

  'clipboard.copy': { input: { text: string }; output: { clearsInSeconds: number } }

  /** Where the records of the next ceremonies go. */
  'record.setDirectory': { input: { path: string }; output: CeremonyRecord }
  'record.printable': { input: NoInput; output: PrintableRecord }
  /** Prints the record to a PDF file the operator picks (the desktop app only; a browser prints `record.printable`). */
  'record.printPdf': { input: { pageSize: 'A4' | 'Letter' }; output: { saved: string | null } }

  'session.wipe': { input: NoInput; output: { wiped: true } }
  'session.state': { input: NoInput; output: SessionState }
  'session.snapshot': { input: NoInput; output: SessionSnapshot }

  /** Each node of the open server (the profile's address, then its cluster nodes): its seal status, read now, and what this unseal did there. */
  'unseal.status': { input: NoInput; output: UnsealView }
  /** One holder's share, sent once to every node still sealed; each node's outcome comes back on its line. */
  'unseal.submit': { input: { holder: string; key: string }; output: UnsealView }
  /** Drops the shares given toward the unseal on node `node` (numbered from 1), or on every node still sealed. */
  'unseal.reset': { input: undefined | null | { node?: number }; output: UnsealView }
  /** The operator leaves the unseal: its record ends with each node's state. */
  'unseal.finish': { input: NoInput; output: UnsealView }
}

type Groups = typeof CHANNEL_GROUPS
export type Group = keyof Groups
export type Channel = keyof Contract
export type Input<C extends Channel> = Contract[C]['input']
export type Output<C extends Channel> = Contract[C]['output']

/** Fails to compile, naming the channels, unless T is empty. */
type NoneOf<T extends never> = T
type Listed = { [G in Group]: `${G}.${Groups[G][number]}` }[Group]
// The list and the types name the same channels, both ways.
type _UnlistedChannels = NoneOf<Exclude<Channel, Listed>>
type _ChannelsWithoutTypes = NoneOf<Exclude<Listed, Channel>>

/**
 * Channels that never write a line of the ceremony record. After any other
 * call, the page reads the record's final hash again, so that what it shows is
 * the file's at every moment.
 */
export const UNRECORDED_CHANNELS: ReadonlySet<Channel> = new Set<Channel>([
  'app.info',
  'backend.describe',
  'backend.recent',
  'profiles.list',
  'profiles.save',
  'profiles.remove',
  'profiles.test',
  'attempt.status',
  'rekey.status',
  'rekey.backup',
  'shares.list',
  'shares.check',
  'pgp.inspect',
  'clipboard.copy',
  'record.printable',
  'record.printPdf',
  'session.state',
  'session.snapshot',
  'unseal.status',
])

/** Every channel, dotted (`attempt.update`): what Electron's ipcMain and the web host serve. */
export const CHANNELS: readonly Channel[] = Object.entries(CHANNEL_GROUPS).flatMap(([group, methods]) =>
  methods.map((method) => `${group}.${method}` as Channel),
)

/**
 * Builds the two-level object of calls the list names (`calls.attempt.update`),
 * each made by `call` for its dotted channel. Plain frozen objects: a method the
 * list does not name is `undefined`, never a channel call.
 */
export function channelCalls<F>(call: (channel: Channel) => F): { readonly [G in Group]: { readonly [M in Groups[G][number]]: F } } {
  const groups = Object.entries(CHANNEL_GROUPS).map(([group, methods]) => [
    group,
    Object.freeze(Object.fromEntries(methods.map((method) => [method, call(`${group}.${method}` as Channel)]))),
  ])
  return Object.freeze(Object.fromEntries(groups))
}

/** Errors cross IPC as data, never carrying a secret. */
export type { OperatorError }
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: OperatorError }

type Method<C extends Channel, R> = (...args: undefined extends Input<C> ? [input?: Input<C>] : [input: Input<C>]) => Promise<R>

/** What the preload exposes as window.tessera: `tessera.attempt.update({...})` resolves an IpcResult. */
export type TesseraBridge = {
  [G in Group]: { [C in Channel as C extends `${G}.${infer M}` ? M : never]: Method<C, IpcResult<Output<C>>> }
}

/** The renderer's view: the same calls, resolving the value and throwing the OperatorError. */
export type TesseraApi = {
  [G in Group]: { [C in Channel as C extends `${G}.${infer M}` ? M : never]: Method<C, Output<C>> }
}

export type {
  BackendInfo,
  BackendView,
  CeremonyRecord,
  PrintableRecord,
  ConnectionTest,
  DecodedValue,
  Flow,
  HeldResult,
  HandOutProgress,
  HandOutSummary,
  KeyInfo,
  LogEntry,
  NewShare,
  NodeProblem,
  NodeTest,
  ProfileList,
  ProfileView,
  RecentKeyset,
  RekeyBackup,
  RekeyReply,
  RekeyView,
  RevealedShare,
  Risk,
  SessionSnapshot,
  SessionState,
  ShareCard,
  ShareCheckResult,
  ShareList,
  ShareRef,
  UiAttemptStatus,
  UnsealView,
  UpdateReply,
}
