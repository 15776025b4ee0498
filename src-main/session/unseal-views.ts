// What the unseal of a cluster shows the page, as plain data. Types only: the
// IPC channel list names them, and the renderer's type check and the preload
// bundle must not pull in Node through it.
import type { SealStatus } from '../backend'
import type { LogEntry } from './views'

/** What one node made of a share: `already_unsealed`, it was not sent (the node needs none); `reset`, its progress was reset. */
export type NodeOutcome = 'accepted' | 'unsealed' | 'already_unsealed' | 'refused' | 'failed' | 'reset'

/** One node's seal, as its sys/seal-status said (`t`, `n`: threshold and share count; `nonce`: set once it holds a share toward its unseal). */
export type NodeSealView = Pick<SealStatus, 'initialized' | 'sealed' | 't' | 'n' | 'progress' | 'nonce' | 'version'>

export interface UnsealNodeView {
  /** 1 is the profile's own address, then its cluster nodes in order. */
  number: number
  /** scheme://host:port */
  address: string
  /** Null when the node could not be read: `error` says why. */
  seal: NodeSealView | null
  error: string | null
  /** What the last share or reset of this ceremony did on this node, in a sentence naming it. */
  last: { holder: string | null; outcome: NodeOutcome; message: string } | null
}

export interface UnsealView {
  nodes: UnsealNodeView[]
  /** Every node answered that it is unsealed. */
  unsealed: boolean
  /** An unseal ceremony is under way here: a share or a reset was sent and it has not ended. */
  running: boolean
  /** Its holder log: names and outcomes per node, never a share. */
  log: LogEntry[]
  /** After a share the server check file recognized: which share it was, by number and holder. */
  share?: { number: number; holder: string | null }
}
