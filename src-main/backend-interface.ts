// The one interface the renderer's operations reach, whether the attempts run in
// the local engine or on a remote Vault/OpenBao server (main process only).
// Secrets cross it as Buffers (strings cannot be wiped): the OTP a start makes
// and the share an update carries. Vault's JSON strings exist only at the HTTP
// and IPC edges, which convert once and wipe the Buffer after the call.

import type { AttemptStatus, Flow, SealStatus } from './backend'

/** A started attempt: its status, and the OTP made for it, returned this once. */
export interface Started {
  status: AttemptStatus
  /** The OTP's characters as bytes, owned by the caller, who wipes them; null when none was made here. */
  otp: Buffer | null
  /** The new share goes to a key that already holds a share of the keyset, as the operator confirmed. */
  sharedKey?: boolean
}

export interface StartInput {
  /** Base64 of a binary public key, or an armored key. */
  pgp_key?: string
  /** A client-supplied OTP of exactly `otp_length` characters; the caller wipes it after the call. */
  otp?: Buffer
  /** The operator confirmed that one person holds several shares: a new share may go to a key that already holds one. */
  allow_shared_key?: boolean
  /** Who gets the share flow's new share, where the backend records holders (Vault's API has no field for it). */
  new_holder?: string
}

export interface UpdateInput {
  /** The share as typed (hex, base64, a secrets.js share, a share card); the caller wipes it after the call. */
  key: Buffer
  nonce: string
  /** Who enters the share, where the backend knows holders: a named holder entering another named holder's share is refused. */
  holder?: string
}

/** An accepted share, and what the attempt made of it. */
export interface Updated {
  status: AttemptStatus
  /** The share recognized, where the backend can tell (a local keyset); a server says nothing. */
  share?: { number: number | null; holder: string | null; checked: boolean }
  /** The completing update of a share attempt: the new share's number and holder, where the backend can tell. */
  issued?: { number: number; holder: string | null }
  /** The completing update proved which generation of the server check file is in effect, and so settled its pending one. */
  settled?: CheckFileSettlement
}

/** A server check file's pending generation settled: generation `generation` is in effect, and the pending one was made current or dropped. */
export interface CheckFileSettlement {
  generation: number
  pending: 'made_current' | 'dropped'
}

export interface Backend {
  sealStatus(): Promise<SealStatus>
  status(flow: Flow): Promise<AttemptStatus>
  start(flow: Flow, input: StartInput): Promise<Started>
  cancel(flow: Flow): Promise<void>
  update(flow: Flow, input: UpdateInput): Promise<Updated>
  /**
   * Ends this backend: a running local attempt is cancelled and what it collected
   * wiped, in-flight remote calls are aborted, and every later call is refused.
   */
  close(): Promise<void>
}
