import { createHash } from 'node:crypto'
import type { AttemptStatus, Backend, Flow } from '../backend'
import { readPrivateKey, readPublicKey, type PublicKeyInfo } from '../crypto/pgp'
import { wipe } from '../crypto/wipe'
import { decodeWithOtp, decodeWithPgp, type Decoded } from '../decode/decode'
import { EngineError } from '../engine/errors'
import { initKeyset } from '../engine/init'
import { KeysetError, type Keyset } from '../engine/keyset'
import { LocalEngine } from '../engine/local-engine'
import { VERSION } from '../version'
import type { BackendInfo, DecodedValue, KeyInfo, UiAttemptStatus } from './contract'
import { risks, type Connections } from '../profiles/connections'
import type { Handlers } from './router'

interface HeldOtp {
  nonce: string
  otp: Buffer
}

/** Shares of a keyset just created, held until each holder has seen theirs. */
interface InitCeremony {
  /** Per holder: the share's text, or the PGP message encrypted to the holder. */
  items: Array<{ bytes: Buffer; encrypted: boolean }>
  rootToken: Buffer
}

const notReady = () => new EngineError(409, 'no backend is open: open or create a keyset, or connect to a server', 'no_backend')
const noProfiles = () => new EngineError(409, 'server profiles are not available in this window', 'no_profiles')

/** The system clipboard, where main can reach it (the Electron shell). */
export interface Clipboard {
  writeText(text: string): void | Promise<void>
  readText(): string | Promise<string>
  clear(): void | Promise<void>
}

export interface SessionOptions {
  /** Server profiles and their tokens; absent, remote mode is not offered. */
  connections?: Connections
  clipboard?: Clipboard
}

/** Seconds a copied secret stays on the clipboard. */
export const CLIPBOARD_SECONDS = 30

type Open =
  | { kind: 'local'; engine: LocalEngine; label: string }
  | { kind: 'remote'; backend: Backend; label: string; risks: BackendInfo['risks'] }

function keyInfo(k: Pick<PublicKeyInfo, 'fingerprint' | 'userIds' | 'format'>): KeyInfo {
  return { fingerprint: k.fingerprint, userIds: k.userIds, format: k.format }
}

export function checksum(value: Uint8Array): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 8)
}

function shown(decoded: Decoded): DecodedValue {
  const result: DecodedValue = { value: decoded.value.toString('utf8'), kind: decoded.kind, checksum: checksum(decoded.value) }
  if (decoded.note) result.note = decoded.note
  wipe(decoded.value)
  return result
}

/**
 * The main-process side of one UI: the open backend, the server OTPs it holds for
 * decoding (never sent to the renderer), and an init ceremony's shares until each
 * has been revealed. Every secret here is a Buffer that `wipe` zeroes.
 */
export class Session {
  private open: Open | null = null
  private readonly held = new Map<Flow, HeldOtp>()
  private ceremony: InitCeremony | null = null

  constructor(private readonly opts: SessionOptions = {}) {}

  private get connections(): Connections | undefined {
    return this.opts.connections
  }

  async openKeyset(path: string, recovery = false): Promise<BackendInfo> {
    const engine = await LocalEngine.open(path, { recovery })
    this.wipe()
    this.open = { kind: 'local', engine, label: path }
    return this.describe()
  }

  async connectRemote(id: string, token?: string): Promise<BackendInfo> {
    if (!this.connections) throw noProfiles()
    const { profile, remote } = await this.connections.connect(id, token)
    const next: Open = { kind: 'remote', backend: remote, label: `${profile.name} (${profile.address})`, risks: risks(profile) }
    // Reach the server before dropping what this session held.
    const seal = await remote.sealStatus()
    this.wipe()
    this.open = next
    return { kind: 'remote', label: next.label, risks: next.risks, scheme: 'vault', seal }
  }

  async describe(): Promise<BackendInfo> {
    const open = this.open
    if (!open) return { kind: 'none', label: '', risks: [], scheme: null, seal: null }
    if (open.kind === 'local') {
      return { kind: 'local', label: open.label, risks: [], scheme: open.engine.keyset.scheme, seal: await open.engine.sealStatus() }
    }
    return { kind: 'remote', label: open.label, risks: open.risks, scheme: 'vault', seal: await open.backend.sealStatus() }
  }

  /** Drops every secret this session holds. */
  wipe(): void {
    for (const h of this.held.values()) wipe(h.otp)
    this.held.clear()
    if (this.ceremony) {
      wipe(this.ceremony.rootToken, ...this.ceremony.items.map((i) => i.bytes))
      this.ceremony = null
    }
  }

  private backend(): Backend {
    if (!this.open) throw notReady()
    return this.open.kind === 'local' ? this.open.engine : this.open.backend
  }

  private localKeyset(): Keyset {
    if (this.open?.kind !== 'local') {
      throw new EngineError(409, 'checking shares needs a local keyset: open one first', 'no_keyset')
    }
    return this.open.engine.keyset
  }

  private profiles(): Connections {
    if (!this.connections) throw noProfiles()
    return this.connections
  }

  private toUi(flow: Flow, status: AttemptStatus): UiAttemptStatus {
    const { otp: _otp, ...rest } = status
    const held = this.held.get(flow)
    const running = this.open?.kind === 'local' ? this.open.engine.runningFlow : null
    return { ...rest, otp_held: held !== undefined && (held.nonce === status.nonce || status.complete), running_flow: running }
  }

  private hold(flow: Flow, nonce: string, otp: string): void {
    const previous = this.held.get(flow)
    if (previous) wipe(previous.otp)
    this.held.set(flow, { nonce, otp: Buffer.from(otp, 'utf8') })
  }

  private release(flow: Flow): void {
    const held = this.held.get(flow)
    if (held) wipe(held.otp)
    this.held.delete(flow)
  }

  readonly handlers: Handlers = {
    'app.info': async () => ({ name: 'tessera', version: VERSION }),

    'backend.describe': () => this.describe(),
    'backend.openKeyset': ({ path, recovery }) => this.openKeyset(path, recovery),
    'backend.connectRemote': ({ id, token }) => this.connectRemote(id, token),
    'profiles.list': async () => {
      const c = this.profiles()
      const w = c.keychainWarning
      return { profiles: await c.list(), credentials: c.credentials.kind, warning: w?.message ?? null, warningDetail: w?.detail ?? null }
    },
    'profiles.save': ({ id, profile, token }) => this.profiles().save(profile, id, token),
    'profiles.remove': async ({ id }) => {
      await this.profiles().remove(id)
      return { removed: true }
    },
    'profiles.test': ({ id, token }) => this.profiles().test(id, token),
    'backend.initKeyset': async ({ path, shares, threshold, scheme, pgpKeys, holders }) => {
      const recipients: PublicKeyInfo[] = []
      for (const [i, key] of (pgpKeys ?? []).entries()) {
        try {
          recipients.push(await readPublicKey(key))
        } catch (err) {
          throw new EngineError(400, `key for holder ${i + 1}: ${(err as Error).message}`, 'invalid_pgp_key')
        }
      }
      let ceremony: InitCeremony | undefined
      try {
        await initKeyset({ path, shares, threshold, scheme, holders, recipients }, async (handed, rootToken) => {
          ceremony = {
            items: handed.map((s) => ({ bytes: s.text(), encrypted: s.encrypted })),
            rootToken: Buffer.from(rootToken),
          }
        })
      } catch (err) {
        if (ceremony) wipe(ceremony.rootToken, ...ceremony.items.map((i) => i.bytes))
        if (err instanceof KeysetError && err.code === 'keyset') throw new EngineError(400, err.message, 'invalid_input')
        throw err
      }
      await this.openKeyset(path)
      this.ceremony = ceremony!
      return { path, shares, threshold, scheme, recipients: recipients.map(keyInfo) }
    },
    'init.revealShare': async ({ index }) => {
      const item = this.ceremony?.items[index]
      if (!item) throw new EngineError(404, `no share ${index + 1} to reveal: the init ceremony is over or has fewer shares`, 'no_share')
      const key = item.encrypted ? item.bytes.toString('base64') : item.bytes.toString('utf8')
      return { index, key, key_base64: item.encrypted ? key : item.bytes.toString('base64'), encrypted: item.encrypted }
    },
    'init.revealRootToken': async () => {
      if (!this.ceremony) throw new EngineError(404, 'the init ceremony is over', 'no_share')
      const value = this.ceremony.rootToken
      return { value: value.toString('ascii'), kind: 'root token', checksum: checksum(value) }
    },
    'init.finish': async () => {
      this.wipe()
      return { wiped: true }
    },

    'attempt.status': async ({ flow }) => this.toUi(flow, await this.backend().status(flow)),
    'attempt.start': async ({ flow, pgpKey }) => {
      const status = await this.backend().start(flow, pgpKey ? { pgp_key: pgpKey } : {})
      if (status.otp) this.hold(flow, status.nonce, status.otp)
      else this.release(flow)
      return this.toUi(flow, status)
    },
    'attempt.cancel': async ({ flow }) => {
      await this.backend().cancel(flow)
      this.release(flow)
      return { cancelled: true }
    },
    'attempt.update': async ({ flow, key, nonce, holder }) => {
      if (this.open?.kind !== 'local') return this.toUi(flow, await this.backend().update(flow, { key, nonce }))
      const { status, share } = await this.open.engine.updateNamed(flow, { key, nonce }, holder)
      return { ...this.toUi(flow, status), last_share: share }
    },

    'shares.list': async () => {
      const keyset = this.localKeyset()
      return { canCheck: keyset.canCheckShares, shares: keyset.listShares() }
    },
    'shares.check': async ({ share }) => {
      const { checked: _checked, ...result } = await this.localKeyset().check(share)
      return result
    },

    'decode.held': async ({ flow, encoded }) => {
      const held = this.held.get(flow)
      if (!held) {
        throw new EngineError(
          409,
          'Tessera holds no OTP for this attempt (it was started elsewhere or already decoded): enter the OTP or use a PGP key',
          'no_held_otp',
        )
      }
      const decoded = decodeWithOtp(encoded, held.otp.toString('utf8'))
      this.release(flow)
      return shown(decoded)
    },
    'decode.otp': async ({ encoded, otp }) => shown(decodeWithOtp(encoded, otp)),
    'decode.pgp': async ({ encoded, privateKey, passphrase }) =>
      shown(await decodeWithPgp(encoded, await readPrivateKey(privateKey, passphrase))),
    'pgp.inspect': async ({ key }) => keyInfo(await readPublicKey(key)),

    'clipboard.copy': async ({ text }) => {
      const clipboard = this.opts.clipboard
      if (!clipboard) throw new EngineError(501, 'this window copies through the browser, not through Tessera', 'unsupported')
      await clipboard.writeText(text)
      // Cleared only if it still holds our value: never wipe what the operator copied since.
      setTimeout(async () => {
        if ((await clipboard.readText()) === text) await clipboard.clear()
      }, CLIPBOARD_SECONDS * 1000).unref()
      return { clearsInSeconds: CLIPBOARD_SECONDS }
    },

    'session.wipe': async () => {
      this.wipe()
      return { wiped: true }
    },
  }
}
