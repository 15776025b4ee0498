// What this room shows the operator, as plain data. Types only: the IPC channel
// list names them, and the renderer's type check and the preload bundle must
// not pull in OpenPGP or Node through it.

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
