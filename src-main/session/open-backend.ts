import { access } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Flow, SealStatus } from '../backend'
import type { Backend } from '../backend-interface'
import type { Reference } from '../decode/verify'
import type { Keyset } from '../engine/keyset'
import { KeysetRekeyer } from '../engine/keyset-rekeyer'
import { LocalEngine } from '../engine/local-engine'
import type { Rekeyer } from '../rekey-interface'
import { risks, type Connections } from '../profiles/connections'
import type { ServerTarget } from '../remote/http-client'
import { RemoteRekeyer } from '../remote/remote-rekey'
import type { RemoteVault } from '../remote/remote-vault'
import { TesseraError } from '../support/errors'
import { keysetFacts, type BackendFacts } from '../record/attempt-record'
import type { ShareCheckResult, ShareList } from '../engine/views'
import { ServerRekeyer } from './server-rekey'
import { ServerShareChecks } from './server-share-checks'
import type { BackendInfo } from './views'

/**
 * An open backend, and what a ceremony asks of it whatever its kind: the one
 * place that tells a local keyset from a server is here, where it is opened.
 */
export interface OpenBackend {
  readonly backend: Backend
  /** What the operator sees: the keyset's file path, or the profile's name and address. */
  readonly label: string
  /** `seal`: a seal status just read, so that it is not asked again. */
  describe(seal?: SealStatus): Promise<BackendInfo>
  /** What the ceremony record says the ceremony runs on. */
  facts(): Promise<BackendFacts>
  /** The flow holding the attempt, where the backend knows it (a server's status does not say). */
  runningFlow(): Flow | null
  /** The keyset that checks shares and lays out cards; null on a server. */
  readonly keyset: Keyset | null
  /** What tells a correctly decoded value from a mistyped one; null on a server. */
  readonly reference: Reference | null
  /**
   * What runs a rekey here, the same object each time it is offered; null
   * where none can run now (a keyset in recovery mode; a server sealed,
   * uninitialized or in recovery mode).
   */
  rekeyer(): Promise<Rekeyer | null>
  /** A server's nodes (the profile's address first), each with the profile's TLS settings; null for a local keyset, which has no seal. */
  readonly cluster: ServerTarget[] | null
  /** The server behind a profile; null for a keyset. */
  readonly server: OpenServer | null
  /** What lists and checks its shares with no ceremony: a keyset, or a server's check file; null when nothing can. */
  shareBook(): { list(): ShareList; check(typed: Buffer): Promise<ShareCheckResult> } | null
}

/** A server opened through its profile: what its init needs. */
export interface OpenServer {
  readonly remote: RemoteVault
  readonly profileId: string
  /** The profile's name and address, as the operator sees them. */
  readonly label: string
  /** The server's origin, as its record and check file name it. */
  readonly origin: string
  /** Where the profile's server check file lives. */
  checksPath(): string
  /** Its shares as the server check file knows them. */
  readonly checks: ServerShareChecks
}

/** Opens the keyset at `typed`, read from the folder Tessera was started in when relative. */
export async function openLocal(typed: string, recovery: boolean): Promise<OpenBackend> {
  const path = resolve(typed)
  const engine = await LocalEngine.open(path, { recovery }).catch(async (err: unknown) => {
    if (await access(path).then(() => false, () => true)) {
      const from = path === typed ? '' : ` (${typed}, read from the folder Tessera was started in)`
      throw new TesseraError('keyset_missing', `there is no keyset at ${path}${from}: check the path, or create a new keyset with "Create a keyset"`)
    }
    throw err
  })
  const { keyset } = engine
  const rekeyer = recovery ? null : new KeysetRekeyer(engine.rekey)
  return {
    backend: engine,
    label: path,
    describe: async () => ({ kind: 'local', label: path, risks: [], scheme: keyset.scheme, seal: await engine.sealStatus() }),
    facts: () => keysetFacts(keyset, engine.recoveryMode),
    runningFlow: () => engine.runningFlow,
    keyset,
    cluster: null,
    server: null,
    shareBook: () => ({
      list: () => ({ canCheck: keyset.canCheckShares, shares: keyset.listShares() }),
      check: async (typed) => {
        const { checked: _checked, ...result } = await keyset.check(typed)
        return result
      },
    }),
    reference: {
      name: `the keyset ${path}`,
      // The engine knows its recovery tokens too, which live in memory only.
      knowsToken: async (token) => (await engine.lookupToken(token)) !== undefined,
      checkShare: (text) => keyset.check(text),
    },
    // Recovery mode keeps the barrier sealed, and a sealed keyset is not rekeyed.
    rekeyer: async () => rekeyer,
  }
}

/** Connects to the server of profile `id`; resolves once it answered, with the seal status it gave. */
export async function openRemote(connections: Connections, id: string, token?: string): Promise<{ open: OpenBackend; seal: SealStatus }> {
  const { profile, remote } = await connections.connect(id, token)
  const cluster = await connections.clusterTargets(profile)
  const seal = await remote.sealStatus().catch(async (err: unknown) => {
    await remote.close()
    throw err
  })
  const label = `${profile.name} (${profile.address})`
  const origin = new URL(profile.address).origin
  const checksPath = () => connections.profiles.serverChecksPath(profile.id)
  const checks = await ServerShareChecks.load(checksPath, origin, seal, () => rekeyIdle())
  remote.shareChecks = checks
  // Choosing the rekey API takes calls, and a server answers them only unsealed: made at the first offer, then kept.
  let made: Promise<Rekeyer> | null = null
  const serverRekeyer = async (): Promise<Rekeyer | null> => {
    const now = await remote.sealStatus()
    if (!now.initialized || now.sealed || now.recovery_mode) return null
    made ??= RemoteRekeyer.open(remote.connection).then((rekey) => new ServerRekeyer(rekey, checks, checksPath), (err: unknown) => {
      made = null
      throw err
    })
    return made
  }
  /** Whether the server runs no rekey now, by its rekey status; false where it cannot say (sealed, or no token where one is needed). */
  const rekeyIdle = async (): Promise<boolean> => {
    try {
      const rekeyer = await serverRekeyer()
      return rekeyer !== null && !(await rekeyer.status()).started
    } catch {
      return false
    }
  }
  await checks.settleByCounts(seal)
  const open: OpenBackend = {
    backend: remote,
    label,
    describe: async (given) => ({
      kind: 'remote',
      label,
      risks: risks(profile),
      scheme: 'vault',
      seal: given ?? (await remote.sealStatus()),
      shareChecks: checks.view,
    }),
    facts: async () => {
      const now = await remote.sealStatus()
      return {
        backend: 'remote',
        server: origin,
        server_version: now.version.slice(0, 80) || 'unknown',
        shares: now.n,
        threshold: now.t,
        recovery_mode: now.recovery_mode,
      }
    },
    runningFlow: () => null,
    keyset: null,
    reference: null,
    rekeyer: () => serverRekeyer(),
    cluster,
    server: { remote, profileId: profile.id, label, origin, checksPath, checks },
    shareBook: () => {
      const list = checks.list()
      return list && { list: () => list, check: (typed) => checks.check(typed) }
    },
  }
  return { open, seal }
}
