// What this room shows the operator, as plain data. Types only: the IPC channel
// list names them, and the renderer's type check and the preload bundle must
// not pull in the keychain or Node through it.
import type { Profile } from './profile-schema'

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

export interface ConnectionTest {
  reachable: true
  /** The node that answered (scheme://host:port), when a redirect led away from the profile's address. */
  answeredBy?: string
  version: string
  initialized: boolean
  sealed: boolean
  rootPath: string
  tokenAccepted: boolean | null
}
