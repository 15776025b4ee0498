// The plain data a rekey answers with, field for field as Vault's JSON. Types
// only, free of Node: the page's views name them too (see rekey-interface.ts).

/** How the new shares are confirmed before they take effect: not at all, a threshold of them (Vault), or every one (Tessera). */
export type Verification = 'none' | 'threshold' | 'all'

/** What a rekey and its verification both report: shares entered toward what completes them. */
interface Progress {
  started: boolean
  nonce: string
  /** The new threshold and share count. */
  t: number
  n: number
  progress: number
  required: number
}

/** GET sys/rekey/init (or sys/rotate/root/init's data), field for field; `required` is the current threshold. */
export interface RekeyState extends Progress {
  pgp_fingerprints: string[] | null
  backup: boolean
  verification_required: boolean
  /** Set once the new shares are made and wait for verification. */
  verification_nonce?: string
}

/** GET sys/rekey/verify; `required`: how many new shares complete it (the new threshold, or every share). */
export type VerifyState = Progress

/** sys/rekey/backup's data: per PGP fingerprint, the encrypted new shares in share order. */
export interface RekeyBackup {
  nonce: string
  keys: Record<string, string[]>
  keys_base64: Record<string, string[]>
}

/** A share the backend recognized, where it can tell (a keyset, a server with a check file). */
export interface RecognizedShare {
  number: number | null
  holder: string | null
  checked: boolean
}
