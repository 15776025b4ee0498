// What this room shows the operator, as plain data. Types only: the IPC channel
// list names them, and the renderer's type check and the preload bundle must
// not pull in OpenPGP or Node through it.

export interface KeyInfo {
  fingerprint: string
  userIds: string[]
  format: 'armored' | 'binary' | 'base64'
}
