// What this room shows the operator, as plain data. Types only: the IPC channel
// list names them, and the renderer's type check and the preload bundle must
// not pull in OpenPGP or Node through it.

export interface DecodedValue {
  value: string
  kind: string
  /** First 8 hex digits of SHA-256 of the value: lets an operator verify a copy. */
  checksum: string
  /** Said whenever `verified` is false: why nothing could check the value, and how to check it. */
  note?: string
  /** True only when a keyset confirmed the value (a token it minted, a share it issued); false when nothing could check it. */
  verified: boolean
}
