// The one interface the renderer's operations reach, whether the attempts run in
// the local engine or on a remote Vault/OpenBao server. Field names follow
// Vault's JSON exactly so that the same objects travel over HTTP and IPC.

export const FLOWS = ['root', 'share', 'recovery'] as const
export type Flow = (typeof FLOWS)[number]

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

/** Vault's GenerateRootStatusResponse; share attempts add `key` and `key_base64`. */
export interface AttemptStatus {
  nonce: string
  started: boolean
  progress: number
  required: number
  complete: boolean
  encoded_token: string
  encoded_root_token: string
  pgp_fingerprint: string
  otp: string
  otp_length: number
  key?: string
  key_base64?: string
}

export interface StartInput {
  /** Base64 of a binary public key, or an armored key. */
  pgp_key?: string
  /** A client-supplied OTP of exactly `otp_length` characters. */
  otp?: string
}

export interface UpdateInput {
  key: string
  nonce: string
}

export interface Backend {
  sealStatus(): Promise<SealStatus>
  status(flow: Flow): Promise<AttemptStatus>
  start(flow: Flow, input: StartInput): Promise<AttemptStatus>
  cancel(flow: Flow): Promise<void>
  update(flow: Flow, input: UpdateInput): Promise<AttemptStatus>
}
