// What this room shows the operator, as plain data. Types only: the IPC channel
// list names them, and the renderer's type check and the preload bundle must
// not pull in the keychain or Node through it.
import type { Profile } from './profile-schema'
import type { OperatorError } from '../support/error-codes'

export type Risk = 'plain-http' | 'no-tls-verification'

export interface ProfileView extends Profile {
  hasToken: boolean
  risks: Risk[]
}

export interface ProfileList {
  profiles: ProfileView[]
  /** 'session': no OS keychain, tokens are kept for this session only. */
  credentials: 'keychain' | 'session'
  /** Without a keychain: what it means for the operator, and the technical reason. */
  warning: string | null
  warningDetail: string | null
}

/** Why a node of the profile did not answer as a Vault: its TLS, no connection, no answer in time, or an answer that is not Vault's. */
export type NodeProblem = 'tls' | 'unreachable' | 'timeout' | 'not_vault'

/** One node of the profile (its own address first), as its sys/seal-status answered, or why it did not. */
export type NodeTest =
  | { address: string; reachable: true; version: string; initialized: boolean; sealed: boolean }
  | { address: string; reachable: false; problem: NodeProblem; reason: string }

/**
 * The profile's own address: what it offers, or the error that stopped its
 * test (shown as a refused call would be); `nodes` adds every node of the
 * profile, its own address first, whether or not that address answered.
 */
export type ConnectionTest = (
  | {
      reachable: true
      /** The node that answered (scheme://host:port), when a redirect led away from the profile's address. */
      answeredBy?: string
      version: string
      initialized: boolean
      sealed: boolean
      rootPath: string
      tokenAccepted: boolean | null
    }
  | { reachable: false; error: OperatorError }
) & { nodes: NodeTest[] }
