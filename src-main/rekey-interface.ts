// The one interface a rekey ceremony reaches, whether it runs over a local
// keyset (the engine's Rekeying) or on a server (Vault's legacy sys/rekey/*, or
// OpenBao's authenticated sys/rotate/root/*). It mirrors Vault's rekey API, as
// `Backend` mirrors the attempts: field names follow Vault's JSON. Secrets cross
// it as Buffers, owned by the side the comment names, which wipes them.

import type { RecognizedShare, RekeyState, Verification, VerifyState } from './rekey-views'

export type { RecognizedShare, RekeyState, Verification, VerifyState } from './rekey-views'

/** What a rekey is asked to make (sys/rekey/init's request, and Tessera's extensions). */
export interface RekeyConfig {
  shares: number
  threshold: number
  /** One public key per new share, in share order (armored, or base64 of the binary key). */
  pgpKeys?: string[]
  /** Keep the PGP-encrypted new shares for `readBackup` (needs pgpKeys). */
  backup?: boolean
  /** 'all' only where `verifyAll` says the backend can. */
  verification: Verification
  /** One holder's name per new share, where the backend records holders. */
  holders?: string[]
}

/** The completing update's new shares, in share order. */
export interface IssuedShares {
  /** Each share's text as its holder types it, or (encrypted) the binary PGP message; owned by the caller, who wipes them. */
  keys: Buffer[]
  encrypted: boolean
  /** Each share's number (Vault's "Unseal Key N") and holder, in the order of `keys`. */
  shares: Array<{ number: number; holder: string | null }>
  pgp_fingerprints: string[] | null
  backup: boolean
  /** Set when verification is required: the new shares take effect only once verified. */
  verification_nonce?: string
}

export interface Rekeyer {
  /** Which API runs it: a keyset's engine, Vault's legacy sys/rekey, or OpenBao's sys/rotate/root. */
  readonly api: 'keyset' | 'legacy' | 'rotate'
  /** Whether verification 'all' (every new share entered back) is offered. */
  readonly verifyAll: boolean
  status(): Promise<RekeyState>
  start(config: RekeyConfig): Promise<RekeyState>
  /** Cancels the rekey: nothing changes, shares entered are dropped; no error when none runs. */
  cancel(): Promise<void>
  /**
   * One current share (the caller wipes `key` after the call); the completing
   * one carries `issued`. `holder`: who entered it, where the backend knows
   * holders (a named holder entering another named holder's share is refused).
   */
  update(key: Buffer, nonce: string, holder?: string): Promise<{ state: RekeyState; share?: RecognizedShare; issued?: IssuedShares }>
  verifyStatus(): Promise<VerifyState>
  /** One new share entered back (the caller wipes `key`), by `holder` as in `update`; `complete` once the new shares took effect. */
  verify(key: Buffer, nonce: string, holder?: string): Promise<{ state: VerifyState; share?: RecognizedShare; complete: boolean }>
  /** Starts the verification over under a new nonce; the new shares stay. */
  restartVerification(): Promise<VerifyState>
  /** The PGP-encrypted new shares kept by a rekey with `backup`, per key fingerprint; null when none is kept. */
  readBackup(): Promise<{ nonce: string; keys: Record<string, string[]> } | null>
  deleteBackup(): Promise<void>
  /**
   * Puts new shares made without verification in effect once they were handed
   * out, where the backend can hold them (a keyset); a server applies them at
   * the completing update and answers nothing here.
   */
  release(): Promise<void>
}
