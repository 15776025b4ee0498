// What a backend reports, whether the attempts run in the local engine or on a
// remote Vault/OpenBao server. Field names follow Vault's JSON exactly so that
// the same objects travel over HTTP and IPC. The renderer's types read this
// file, so it names nothing of Node's; the interface itself, whose secrets are
// Buffers, is in backend-interface.ts.

export const FLOWS = ['root', 'share', 'recovery'] as const
export type Flow = (typeof FLOWS)[number]

/**
 * An attempt's nonce as Tessera takes it from any server and records it: Vault
 * makes a UUID, a fork may make something else. One bounded run of characters
 * that are safe to show and to record.
 */
export const NONCE = /^[A-Za-z0-9._~:+/=-]{1,64}$/
/** NONCE in words, for a refusal. */
export const NONCE_RULE = 'at most 64 letters, digits or . _ ~ : + / = -'

export interface SealStatus {
  type: string
  initialized: boolean
  sealed: boolean
  t: number
  n: number
  progress: number
  nonce: string
  version: string
  recovery_mode: boolean
  flows: Flow[]
}

/**
 * Vault's GenerateRootStatusResponse less `otp`, which a start returns as bytes
 * (`Started`) and the HTTP layer writes as Vault's string; share attempts add
 * `key` and `key_base64`.
 */
export interface AttemptStatus {
  nonce: string
  started: boolean
  progress: number
  required: number
  complete: boolean
  encoded_token: string
  encoded_root_token: string
  pgp_fingerprint: string
  otp_length: number
  key?: string
  key_base64?: string
}
