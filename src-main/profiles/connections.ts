import { readFailure, readRegularFile } from '../support/bounded-read'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { TesseraError } from '../support/errors'
import { RemoteVault } from '../remote/remote-vault'
import { readSeal } from '../remote/seal-node'
import { checkAddress, checkHeaderValues, DEFAULT_TIMEOUT_MS, sameNode, type ServerTarget } from '../remote/http-client'
import { isLoopback } from '../support/address'
import { forOperator } from '../support/plain-errors'
import { credentialStore, type CredentialStore } from './credentials'
import { ProfileStore, type Profile, type ProfileInput } from './profile-store'
import type { ConnectionTest, NodeProblem, NodeTest, ProfileView, Risk } from './views'

/** Where profiles live: TESSERA_CONFIG_DIR, else $XDG_CONFIG_HOME/tessera, else ~/.config/tessera. */
export function defaultConfigDir(): string {
  return process.env.TESSERA_CONFIG_DIR ?? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'tessera')
}

/** A bundle of a few hundred CA certificates is well under this. */
const CA_LIMIT = { bytes: 1024 * 1024, what: 'a CA file' }

/** What the UI must warn about: plain http beyond loopback, or no certificate check. */
export function risks(p: Profile): Risk[] {
  const out: Risk[] = []
  try {
    const url = new URL(p.address)
    if (url.protocol === 'http:' && !isLoopback(url.hostname.replace(/^\[|\]$/g, ''))) out.push('plain-http')
  } catch {
    // an unparsable address is reported when it is used
  }
  if (p.skipVerify) out.push('no-tls-verification')
  return out
}

/**
 * The profile's address and its cluster nodes, each held to the address rules;
 * a node listed twice (the same host and port, however written) is refused.
 */
export function checkCluster(input: Pick<ProfileInput, 'address' | 'nodes' | 'allowInsecureHttp'>): void {
  const seen: URL[] = []
  for (const [i, address] of [input.address, ...(input.nodes ?? [])].entries()) {
    const field = i === 0 ? 'the server address' : `cluster node ${i}`
    const url = checkAddress({ address: address.trim(), allowInsecureHttp: input.allowInsecureHttp }, field)
    const twin = seen.findIndex((other) => sameNode(other, url))
    if (twin >= 0) {
      const first = twin === 0 ? "the profile's own address" : `cluster node ${twin}`
      throw new TesseraError('profile', `cluster node ${i} is ${first} again (${url.host}): list each node once`)
    }
    seen.push(url)
  }
}

/** Profiles plus their tokens in the credential store, and what it takes to reach a server. */
export class Connections {
  constructor(
    readonly profiles: ProfileStore,
    readonly credentials: CredentialStore,
    /** Why tokens are not saved, when there is no keychain: the sentence, and the technical reason. */
    readonly keychainWarning?: { message: string; detail: string },
  ) {}

  async list(): Promise<ProfileView[]> {
    return Promise.all(
      (await this.profiles.list()).map(async (p) => ({ ...p, hasToken: Boolean(await this.credentials.get(p.id)), risks: risks(p) })),
    )
  }

  /** `token`: a string saves it, null forgets it, undefined leaves it as it is. */
  async save(input: ProfileInput, id: string | undefined, token: string | null | undefined): Promise<ProfileView> {
    checkCluster(input)
    checkHeaderValues({ namespace: input.namespace, token: token ?? undefined })
    const profile = await this.profiles.save(input, id)
    if (token === null) await this.credentials.delete(profile.id)
    else if (token) await this.credentials.set(profile.id, token)
    return { ...profile, hasToken: Boolean(await this.credentials.get(profile.id)), risks: risks(profile) }
  }

  /** The token goes only once the file no longer names the profile: a failed write orphans nothing. */
  async remove(id: string): Promise<void> {
    await this.profiles.remove(id)
    await this.credentials.delete(id)
  }

  async target(profile: Profile): Promise<ServerTarget> {
    let ca: Buffer | undefined
    if (profile.caFile) {
      try {
        ca = await readRegularFile(profile.caFile, CA_LIMIT)
      } catch (err) {
        throw new TesseraError('bad_ca', `cannot read the CA file ${profile.caFile}: ${readFailure(err)}`)
      }
    }
    return {
      address: profile.address,
      namespace: profile.namespace || undefined,
      ca,
      serverName: profile.serverName || undefined,
      allowInsecureHttp: profile.allowInsecureHttp,
      skipVerify: profile.skipVerify,
      timeoutMs: (profile.timeoutSeconds ?? DEFAULT_TIMEOUT_MS / 1000) * 1000,
    }
  }

  /** One target per node of the profile's cluster, its own address first: the same TLS settings for each. */
  async clusterTargets(profile: Profile): Promise<ServerTarget[]> {
    const target = await this.target(profile)
    return [profile.address, ...(profile.nodes ?? [])].map((address) => ({ ...target, address }))
  }

  /** The token to use: the one given for this session, else the saved one. */
  private async token(id: string, given?: string): Promise<string | undefined> {
    return given || (await this.credentials.get(id))
  }

  async connect(id: string, token?: string): Promise<{ profile: Profile; remote: RemoteVault }> {
    const profile = await this.profiles.get(id)
    const remote = new RemoteVault(await this.target(profile), await this.token(id, token))
    return { profile, remote }
  }

  /**
   * Version, seal state, which generate-root path the server offers, whether
   * the token is accepted; and each other node's seal status, asked at the same
   * time, each within its own deadline (no token goes to them), so that a node
   * with a wrong certificate or no Vault behind it is named before a ceremony.
   * The profile's own address failing is one node's failure: the others are
   * still reported, so the operator learns which ones are fine. A profile or
   * token that no request could carry is refused first, for every node at once.
   */
  async test(id: string, token?: string): Promise<ConnectionTest> {
    const profile = await this.profiles.get(id)
    const secret = await this.token(id, token)
    checkCluster(profile)
    checkHeaderValues({ namespace: profile.namespace, token: secret })
    const [own, ...others] = await this.clusterTargets(profile)
    const [main, nodes] = await Promise.all([testOwn(own!, secret), Promise.all(others.map(testNode))])
    const line: NodeTest = main.ok
      ? { address: own!.address, reachable: true, version: main.test.version, initialized: main.test.initialized, sealed: main.test.sealed }
      : failedNode(own!.address, main.error)
    const head = main.ok ? main.test : { reachable: false as const, error: forOperator(main.error) }
    return { ...head, nodes: [line, ...nodes] }
  }
}

type OwnTest = Extract<ConnectionTest, { reachable: true }>

async function testOwn(target: ServerTarget, token: string | undefined): Promise<{ ok: true; test: Omit<OwnTest, 'nodes'> } | { ok: false; error: TesseraError }> {
  const remote = new RemoteVault(target, token)
  try {
    const seal = await remote.sealStatus()
    const answeredBy = remote.answeredBy
    const test = {
      ...(answeredBy ? { answeredBy } : {}),
      reachable: true as const,
      version: seal.version,
      initialized: seal.initialized,
      sealed: seal.sealed,
      rootPath: await remote.rootGeneratePath(),
      tokenAccepted: token ? await remote.tokenAccepted() : null,
    }
    return { ok: true, test }
  } catch (err) {
    if (err instanceof TesseraError) return { ok: false, error: err }
    throw err
  }
}

/** Every Vault node answers sys/seal-status, unauthenticated: a node that answers otherwise is not one. */
async function testNode(target: ServerTarget): Promise<NodeTest> {
  const answer = await readSeal(target)
  if (!answer.ok) return failedNode(target.address, answer.error)
  const { version, initialized, sealed } = answer.seal
  return { address: target.address, reachable: true, version, initialized, sealed }
}

function failedNode(address: string, error: TesseraError): NodeTest {
  const code = error.code
  const problem: NodeProblem = code === 'tls' || code === 'unreachable' || code === 'timeout' ? code : 'not_vault'
  return { address, reachable: false, problem, reason: error.message }
}

/** Profiles from the config directory, tokens from the OS keychain (or this session). */
export async function openConnections(configDir = defaultConfigDir()): Promise<Connections> {
  const profiles = await ProfileStore.open(join(configDir, 'profiles.json'))
  const { store, warning } = await credentialStore()
  return new Connections(profiles, store, warning)
}
