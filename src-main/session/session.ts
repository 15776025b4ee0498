import { createHash } from 'node:crypto'
import { access } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { AttemptStatus, Flow } from '../backend'
import type { Backend } from '../backend-interface'
import { readPrivateKey, readPublicKey, type PublicKeyInfo } from '../crypto/pgp'
import { wipe } from '../crypto/wipe'
import { decodeWithOtp, decodeWithPgp, type Decoded } from '../decode/decode'
import { verifyDecoded, type Reference } from '../decode/verify'
import { TesseraError } from '../support/errors'
import { checkOneKeyOneHolder } from '../engine/holder-keys'
import { initKeyset, recipientKeys } from '../engine/init'
import { cardLines } from '../engine/share-card'
import { KEYSET_LIMIT, KeysetError, type Keyset, type ShareIdentity } from '../engine/keyset'
import { readRegularFile } from '../support/bounded-read'
import { shareLabel } from '../../src-shared/share-grammar'
import { LocalEngine } from '../engine/local-engine'
import { VERSION } from '../version'
import type { DecodedKind } from '../transcript/events'
import { initFacts, type InitRecorder } from '../transcript/init-recorder'
import { keysetFingerprint, type BackendFacts } from '../transcript/recorder'
import { CeremonyRecords } from './ceremony-records'
import type { BackendInfo, HeldResult, LogEntry, SessionState, UiAttemptStatus } from './views'
import type { DecodedValue } from '../decode/views'
import type { InitSummary, ShareCard } from '../engine/views'
import type { KeyInfo } from '../crypto/views'
import { risks, type Connections } from '../profiles/connections'
import { forOperator, SET_FAILURE_CODES } from '../support/plain-errors'
import { RecentKeysets } from './recent-keysets'
import type { Handlers } from '../ipc/router'

interface HeldOtp {
  nonce: string
  otp: Buffer
}

/** Shares of a keyset just created, held until each holder has seen theirs. */
interface InitCeremony {
  /** Per holder: the share's text, or the PGP message encrypted to the holder, and its base64 form (sys/init's keys_base64). */
  items: Array<{ bytes: Buffer; base64: Buffer; encrypted: boolean; number: number }>
  rootToken: Buffer
  summary: InitSummary
  /** Per holder: their share was shown on screen (as itself or as its card), or its encrypted file saved. */
  handedOut: boolean[]
  /** Holders whose card was shown: only a shown card can be printed. */
  cards: Set<number>
}

/** Zeroes every secret of a hand-out: the root token and each share in both its forms. */
function wipeHandOut(c: Pick<InitCeremony, 'items' | 'rootToken'>): void {
  wipe(c.rootToken, ...c.items.flatMap((i) => [i.bytes, i.base64]))
}

/** A finished attempt's result and what decodes it, kept until the operator wipes them together. */
interface Finished {
  flow: Flow
  encoded: string
  pgpFingerprint: string
  otp: Buffer | null
  backend: string
  /** The keyset that minted it, which can tell a correctly decoded token from a mistyped one. */
  engine: LocalEngine | null
  /** The share flow's result, as the status gave it: the new share itself, or the PGP message to its holder. */
  share: NewShareHeld | null
  /** Decoded on screen, or copied through main: someone may hold the result. */
  taken: boolean
}

/** The share flow's new share until it is wiped, and who it is for; `handedOut` once its holder got it. */
interface NewShareHeld {
  key: Buffer
  keyBase64: Buffer
  encrypted: boolean
  handedOut: boolean
  number: number | null
  holder: string | null
  /** Its card was shown: only then can it have been printed. */
  cardShown: boolean
}

/** What stopping Tessera ended, for the operator: the attempt it cancelled, and what it dropped unheld, in sentences. */
export interface Stopped {
  cancelled: Flow | null
  dropped: string[]
}

const RESULT_NAMES: Record<Flow, string> = { root: 'root token', share: 'new key share', recovery: 'recovery token' }

/** A finished result nobody may hold: never decoded nor copied, or a new share never revealed nor saved. */
const unheldResult = (f: Finished | null): f is Finished => f !== null && !f.taken && !f.share?.handedOut

const notReady = () => new TesseraError(409, 'no backend is open: open or create a keyset, or connect to a server', 'no_backend')
const noProfiles = () => new TesseraError(409, 'server profiles are not available in this window', 'no_profiles')

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
  /** Where recently opened keyset paths and ceremony transcripts are kept; absent, none are. */
  configDir?: string
  /** Prints a ceremony record to a PDF file (the desktop app); absent, the page prints it. */
  printer?: RecordPrinter
  /**
   * Prints the app's own window through the system print dialog (the desktop
   * app); resolves true once the printer took it, false when cancelled or
   * failed. Absent, the page prints itself and says so after its dialog closed.
   */
  printWindow?: () => Promise<boolean>
}

/** What prints a ceremony record's HTML to a PDF file the operator picks; null when they cancelled. */
export interface RecordPrinter {
  printToPdf(html: string, pageSize: 'A4' | 'Letter'): Promise<string | null>
}

/** An init whose keyset was not written: its record says so and ends (or stays a valid prefix if even that fails). */
async function endUnwritten(record: InitRecorder | null): Promise<void> {
  if (!record) return
  try {
    await record.ended('keyset_not_written')
  } catch {
    await record.transcript.abandon()
  }
}

/** Seconds a copied secret stays on the clipboard. */
export const CLIPBOARD_SECONDS = 30

type Open =
  | { kind: 'local'; engine: LocalEngine; label: string }
  | { kind: 'remote'; backend: Backend; label: string; risks: BackendInfo['risks']; address: string }

function keyInfo(k: Pick<PublicKeyInfo, 'fingerprint' | 'userIds' | 'format'>): KeyInfo {
  return { fingerprint: k.fingerprint, userIds: k.userIds, format: k.format }
}

export function checksum(value: Uint8Array): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 8)
}

/**
 * A decoded value for the screen, checked against the keyset that should know
 * it: a mistyped OTP yields a plausible token or share that nobody issued, and
 * that must never look like success. Without such a keyset it is shown unverified, with a note.
 */
async function shown(decoded: Decoded, engine: LocalEngine | null): Promise<DecodedValue> {
  const reference: Reference | null = engine && {
    name: `the keyset ${engine.keyset.path}`,
    // The engine knows its recovery tokens too, which live in memory only.
    knowsToken: async (token) => (await engine.lookupToken(token)) !== undefined,
    checkShare: (text) => engine.keyset.check(text),
  }
  try {
    const { verified, note } = await verifyDecoded(decoded, reference, 'app')
    const result: DecodedValue = { value: decoded.value.toString('utf8'), kind: decoded.kind, checksum: checksum(decoded.value), verified }
    if (note) result.note = note
    return result
  } finally {
    wipe(decoded.value)
  }
}

/**
 * The main-process side of one UI: the open backend, the server OTPs it holds for
 * decoding (never sent to the renderer), and an init ceremony's shares until each
 * has been revealed. Every secret here is a Buffer that `wipe` zeroes.
 */
export class Session {
  private open: Open | null = null
  private readonly held = new Map<Flow, HeldOtp>()
  /** Progress last reported per flow: a refusal that lowers it reset the attempt. */
  private readonly progress = new Map<Flow, number>()
  private ceremony: InitCeremony | null = null
  private finished: Finished | null = null
  /** The name given for the new share's holder when a share attempt was started here, by the attempt's nonce. */
  private newHolder: { nonce: string; name: string } | null = null
  /** The holder log of the current attempt: names, outcomes, times; never a share. */
  private log: LogEntry[] = []
  private readonly recent: RecentKeysets | null
  private readonly records: CeremonyRecords

  constructor(private readonly opts: SessionOptions = {}) {
    this.recent = opts.configDir ? new RecentKeysets(opts.configDir) : null
    this.records = new CeremonyRecords(opts.configDir)
  }

  private get connections(): Connections | undefined {
    return this.opts.connections
  }

  async openKeyset(typed: string, recovery = false): Promise<BackendInfo> {
    // A relative path is read from the folder Tessera was started in: the label, the list and any error say where.
    const path = resolve(typed)
    const engine = await LocalEngine.open(path, { recovery }).catch(async (err: unknown) => {
      if (await access(path).then(() => false, () => true)) {
        const from = path === typed ? '' : ` (${typed}, read from the folder Tessera was started in)`
        throw new TesseraError(404, `there is no keyset at ${path}${from}: check the path, or create a new keyset with "Create a keyset"`, 'keyset_missing')
      }
      throw err
    })
    await this.leave()
    this.dropAttempts()
    await this.replace({ kind: 'local', engine, label: path })
    // Remembering the path is a convenience: a full disk must not stop a ceremony.
    await this.recent?.add({ path, recovery }).catch(() => undefined)
    return this.describe()
  }

  async connectRemote(id: string, token?: string): Promise<BackendInfo> {
    if (!this.connections) throw noProfiles()
    const { profile, remote } = await this.connections.connect(id, token)
    const next: Open = { kind: 'remote', backend: remote, label: `${profile.name} (${profile.address})`, risks: risks(profile), address: profile.address }
    // Reach the server before dropping what this session held; a server that cannot be reached takes nothing with it.
    const seal = await remote.sealStatus().catch(async (err: unknown) => {
      await remote.close()
      throw err
    })
    await this.leave()
    this.dropAttempts()
    await this.replace(next)
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

  /**
   * Makes `next` the open backend and closes the one it replaces, which wipes
   * what that backend collected. A held result belongs to the session, not to
   * the backend, and stays.
   */
  private async replace(next: Open | null): Promise<void> {
    const previous = this.open
    this.open = next
    if (previous) await Session.backendOf(previous).close()
  }

  private static backendOf(open: Open): Backend {
    return open.kind === 'local' ? open.engine : open.backend
  }

  /**
   * Leaving a backend ends its running attempts (and their OTPs) here; a finished
   * result and an init hand-out belong to the operator and stay until wiped.
   */
  private dropAttempts(): void {
    for (const h of this.held.values()) wipe(h.otp)
    this.held.clear()
    if (!this.finished) this.log = []
  }

  /** What closing the app would destroy: a finished result, or shares not yet handed out. */
  get heldSecret(): 'result' | 'hand-out' | null {
    if (this.finished) return 'result'
    if (this.ceremony) return 'hand-out'
    return null
  }

  /**
   * Leaving a backend drops its running attempts: their record ends with the
   * wipe of their OTPs. A held result keeps its record open until it is wiped.
   */
  private async leave(): Promise<void> {
    if (this.finished) return
    // Opening another backend must not be blocked by a full disk: the record stays a valid prefix.
    await this.records.attemptWiped().catch(() => undefined)
  }

  /** What the transcript says the ceremony runs on. */
  private async facts(): Promise<BackendFacts> {
    const open = this.open
    if (!open) throw notReady()
    if (open.kind === 'local') {
      const { keyset, recoveryMode } = open.engine
      return {
        backend: 'local',
        keyset_fingerprint: keysetFingerprint((await readRegularFile(keyset.path, KEYSET_LIMIT)).toString('utf8')),
        scheme: keyset.scheme,
        shares: keyset.shares,
        threshold: keyset.threshold,
        recovery_mode: recoveryMode,
      }
    }
    const seal = await open.backend.sealStatus()
    return {
      backend: 'remote',
      server: new URL(open.address).origin,
      server_version: seal.version.slice(0, 80) || 'unknown',
      shares: seal.n,
      threshold: seal.t,
      recovery_mode: seal.recovery_mode,
    }
  }

  /** Records the wipe, then drops every secret, even when the record could not be written. */
  private async wipeRecorded(): Promise<void> {
    try {
      await this.records.wiped()
    } finally {
      this.wipe()
    }
  }

  /** Drops every secret this session holds (the process is going away: a record still open stays a valid prefix). */
  wipe(): void {
    this.records.abandon()
    this.dropAttempts()
    this.log = []
    this.newHolder = null
    if (this.finished) {
      if (this.finished.otp) wipe(this.finished.otp)
      if (this.finished.share) wipe(this.finished.share.key, this.finished.share.keyBase64)
      this.finished = null
    }
    if (this.ceremony) {
      wipeHandOut(this.ceremony)
      this.ceremony = null
    }
  }

  /**
   * The process is going away: every secret is dropped and the open backend
   * closed. A finished result nobody took and shares never handed out are said
   * and recorded, and their records closed; a record that cannot be written
   * stays a valid prefix.
   */
  async close(): Promise<Stopped> {
    const running = this.open?.kind === 'local' ? this.open.engine.runningFlow : null
    const dropped = this.unheld()
    try {
      if (unheldResult(this.finished)) await this.records.open?.dropped(this.finished.flow)
      if (this.finished || this.ceremony) await this.records.wiped('stopped')
    } catch {
      // The sentences still say what was lost.
    }
    this.wipe()
    await this.replace(null)
    return { cancelled: running, dropped }
  }

  /** What stopping now drops that nobody may hold, in sentences. */
  private unheld(): string[] {
    const f = this.finished
    const c = this.ceremony
    const out: string[] = []
    if (unheldResult(f)) {
      const what = `the finished ${RESULT_NAMES[f.flow]} was never decoded and is dropped`
      out.push(
        f.share
          ? 'the new key share was never revealed or saved and is dropped: nobody holds it'
          : f.otp
            ? `${what} with its one-time password: nobody can decode it now`
            : `${what}: unless its encoded value was copied or saved, nobody holds it`,
      )
    }
    if (c?.handedOut.includes(false)) out.push(`${Session.missing(c)} never handed out: lost for good`)
    return out
  }

  private backend(): Backend {
    if (!this.open) throw notReady()
    return Session.backendOf(this.open)
  }

  private localKeyset(): Keyset {
    if (this.open?.kind !== 'local') {
      throw new TesseraError(409, 'checking shares needs a local keyset: open one first', 'no_keyset')
    }
    return this.open.engine.keyset
  }

  private profiles(): Connections {
    if (!this.connections) throw noProfiles()
    return this.connections
  }

  private toUi(flow: Flow, status: AttemptStatus): UiAttemptStatus {
    // A new share stays in main until its holder reveals it (`result.revealShare`).
    const { key: _key, key_base64: _keyBase64, ...rest } = status
    if (flow === 'share') rest.encoded_token = ''
    const held = this.held.get(flow)
    const running = this.open?.kind === 'local' ? this.open.engine.runningFlow : null
    const heldForResult = status.complete && this.finished?.flow === flow && this.finished.otp !== null
    this.progress.set(flow, status.progress)
    return { ...rest, otp_held: heldForResult || (held !== undefined && held.nonce === status.nonce), running_flow: running }
  }

  private heldResult(): HeldResult | null {
    const f = this.finished
    if (!f) return null
    const share = f.share && {
      encrypted: f.share.encrypted,
      handedOut: f.share.handedOut,
      number: f.share.number,
      holder: f.share.holder,
      card: Session.cardable(f),
    }
    return { flow: f.flow, encoded: f.encoded, pgp_fingerprint: f.pgpFingerprint, otp_held: f.otp !== null, backend: f.backend, share }
  }

  private static newShare(status: AttemptStatus, holder: string | null): Finished['share'] {
    if (!status.key || !status.key_base64) return null
    const encrypted = status.pgp_fingerprint !== ''
    return { key: Buffer.from(status.key), keyBase64: Buffer.from(status.key_base64), encrypted, handedOut: false, number: null, holder, cardShown: false }
  }

  /** A card needs the share in the clear and the keyset that knows its number. */
  private static cardable(f: Finished): boolean {
    return f.share !== null && !f.share.encrypted && f.share.number !== null && f.engine !== null
  }

  /** The new share left main for its holder: recorded first, so that a hand-out that cannot be recorded stops. */
  private async handedOut(how: 'revealed' | 'card_shown' | 'card_printed' | 'encrypted_file_saved'): Promise<NewShareHeld> {
    const share = this.finished?.share
    if (!share) throw new TesseraError(404, 'no new share is held: the share ceremony is not finished, or its result was wiped', 'no_share')
    await this.records.open?.shareHandedOut(share, how)
    share.handedOut = true
    return share
  }

  /**
   * A share's printable card: its number among the shares out (the keyset's
   * count, as seal status gives it), the keyset it opens and its lines.
   */
  private static async card(keyset: { path: string; shares: number; threshold: number }, share: { number: number; holder: string | null; text: string }): Promise<ShareCard> {
    const text = (await readRegularFile(keyset.path, KEYSET_LIMIT)).toString('utf8')
    const created = String((JSON.parse(text) as { created_at?: unknown }).created_at ?? '').slice(0, 10)
    return {
      holder: share.holder,
      number: share.number,
      shares: keyset.shares,
      threshold: keyset.threshold,
      fingerprint: keysetFingerprint(text),
      created,
      path: keyset.path,
      lines: cardLines(share.text),
    }
  }

  /** A completed attempt: its result and its OTP move together into `finished`. */
  private async keepResult(flow: Flow, status: AttemptStatus): Promise<void> {
    const held = this.held.get(flow)
    this.held.delete(flow)
    const named = this.newHolder?.nonce === status.nonce ? this.newHolder.name : null
    this.newHolder = null
    const share = flow === 'share' ? Session.newShare(status, named) : null
    this.finished = {
      flow,
      encoded: share ? '' : status.encoded_token || status.encoded_root_token,
      pgpFingerprint: status.pgp_fingerprint,
      otp: held && held.nonce === status.nonce ? held.otp : null,
      backend: this.open?.label ?? '',
      engine: this.open?.kind === 'local' ? this.open.engine : null,
      share,
      taken: false,
    }
    if (held && !this.finished.otp) wipe(held.otp)
    // A local keyset knows the number it gave a new share (encrypted too): its holder is told "share 4".
    if (share && this.open?.kind === 'local') {
      const engine = this.open.engine
      const issued = engine.lastIssued
      engine.lastIssued = null
      const known = issued ?? (share.encrypted ? null : await engine.keyset.check(share.key).catch(() => null))
      if (known && known.number !== null) {
        share.number = known.number
        share.holder = known.holder ?? share.holder
      }
    }
  }

  private logEntry(operator: string, outcome: string, ok: boolean): void {
    this.log.push({ at: new Date().toISOString(), operator, outcome, ok })
  }

  /**
   * One share entered by a holder. The local engine says which share it
   * recognized ("share 3 (Carol)"), and the log records that, never the share.
   */
  private async update(flow: Flow, key: Buffer, nonce: string, holder: string | undefined): Promise<UiAttemptStatus> {
    const backend = this.backend()
    const who = holder ?? 'unnamed holder'
    let status: AttemptStatus
    let share: ShareIdentity | undefined
    const recorder = await this.records.of(flow, nonce, backend, () => this.facts())
    const named: { name?: string; shareNumber?: number } = { name: holder }
    const call = async (): Promise<AttemptStatus> => {
      if (this.open?.kind !== 'local') return backend.update(flow, { key, nonce })
      const r = await this.open.engine.updateNamed(flow, { key, nonce }, holder)
      share = r.share
      named.shareNumber = r.share?.number ?? undefined
      return r.status
    }
    try {
      status = recorder ? await recorder.update(flow, named, call) : await call()
    } catch (err) {
      const { code, message } = forOperator(err)
      // At the threshold the whole set failed, not the holder who gave the last share.
      if (SET_FAILURE_CODES.has(code)) {
        this.logEntry(who, 'gave the last share needed', true)
        this.logEntry('Tessera', message, false)
      } else this.logEntry(who, message, false)
      // A foreign share resets the progress on a format-1 keyset or a remote
      // server; a restarted server forgets the attempt: re-read it and say what changed.
      const before = this.progress.get(flow) ?? 0
      const fresh = await backend.status(flow).catch(() => null)
      if (fresh) this.progress.set(flow, fresh.progress)
      if (fresh && !fresh.started) this.logEntry('Tessera', 'the attempt no longer exists on the backend: start a new one', false)
      else if (fresh && fresh.progress < before && !SET_FAILURE_CODES.has(code)) {
        this.logEntry('Tessera', `progress reset to ${fresh.progress}: every holder enters their share again`, false)
      }
      throw err
    }
    const recognized = share && share.number !== null ? ` ${shareLabel(share)}` : ''
    this.logEntry(who, `accepted${recognized} (${status.progress} of ${status.required})`, true)
    if (status.complete) await this.keepResult(flow, status)
    return share ? { ...this.toUi(flow, status), last_share: share } : this.toUi(flow, status)
  }

  /** The keyset that can check a decoded token: the one that made the held result, else the open one. */
  private checker(encoded: string, verify: boolean): LocalEngine | null {
    if (!verify) return null
    if (this.finished && this.finished.encoded === encoded.trim()) return this.finished.engine
    return this.open?.kind === 'local' ? this.open.engine : null
  }

  /** A decode of the held result is part of its ceremony: the record keeps the checksum the screen shows. */
  private async recordDecode(encoded: string, value: DecodedValue): Promise<DecodedValue> {
    const recorder = this.records.open
    if (this.finished?.encoded && this.finished.encoded === encoded.trim()) {
      await recorder?.decoded(value.kind as DecodedKind, value.checksum)
      this.finished.taken = true
    }
    return value
  }

  /** Which holders' shares were never handed out, by number and by name where they have one: "share 2 (Bob) and share 3 were". */
  private static missing(c: InitCeremony): string {
    const n = c.items.flatMap((item, i) => (c.handedOut[i] ? [] : [shareLabel({ number: item.number, holder: c.summary.holders[i] || null })]))
    return `${n.length === 1 ? n[0] : `${n.slice(0, -1).join(', ')} and ${n.at(-1)}`} ${n.length === 1 ? 'was' : 'were'}`
  }

  /** Share `index` of the hand-out, whose card main showed; refused for a card never shown. */
  private shownCard(index: number): InitCeremony['items'][number] {
    const { c, item } = this.handOutItem(index, 'print')
    if (!c.cards.has(index)) throw new TesseraError(409, `share ${index + 1}'s card was never shown: show it, then print it`, 'no_card')
    return item
  }

  /** The card of share `index` was printed (checked again: the hand-out may have ended meanwhile). */
  private async cardPrinted(index: number): Promise<void> {
    await this.records.init?.shareHandedOut(this.shownCard(index).number, 'card_printed')
  }

  /** The hand-out's share at `index`, or the refusal that names what is missing. */
  private handOutItem(index: number, what: string): { c: InitCeremony; item: InitCeremony['items'][number] } {
    const c = this.ceremony
    const item = c?.items[index]
    if (!c || !item) throw new TesseraError(404, `no share ${index + 1} to ${what}: the init ceremony is over or has fewer shares`, 'no_share')
    return { c, item }
  }

  /** Keeps the OTP a start made (the session owns it from now on) for decoding its result. */
  private hold(flow: Flow, nonce: string, otp: Buffer): void {
    const previous = this.held.get(flow)
    if (previous) wipe(previous.otp)
    this.held.set(flow, { nonce, otp })
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
    'backend.initKeyset': async ({ path, shares, threshold, scheme, pgpKeys, holders, allowSharedKey }) => {
      if (this.ceremony) throw new TesseraError(409, 'the shares of the keyset just created are still being handed out: finish that first', 'init_running')
      const recipients: PublicKeyInfo[] = []
      for (const [i, key] of (pgpKeys ?? []).entries()) {
        try {
          recipients.push(await readPublicKey(key))
        } catch (err) {
          throw new TesseraError(400, `key for holder ${i + 1}: ${(err as Error).message}`, 'invalid_pgp_key')
        }
      }
      checkOneKeyOneHolder([], recipientKeys(recipients, holders), allowSharedKey === true, 'tick "One person holds several of these shares"')
      let ceremony: Pick<InitCeremony, 'items' | 'rootToken'> | undefined
      // Assigned in the hand-out callback, which control-flow analysis does not follow.
      let record = null as InitRecorder | null
      try {
        await initKeyset({ path, shares, threshold, scheme, holders, recipients, allowSharedKey }, async (handed, rootToken, keyset) => {
          ceremony = {
            items: handed.map((s) => ({ bytes: s.text(), base64: Buffer.from(s.forms().key_base64), encrypted: s.encrypted, number: s.number })),
            rootToken: Buffer.from(rootToken),
          }
          // Before the keyset is written: a keyset whose creation cannot be recorded is not created.
          record = await this.records.openInit(initFacts(keyset, handed, recipients))
        })
      } catch (err) {
        if (ceremony) wipeHandOut(ceremony)
        await endUnwritten(record)
        if (err instanceof KeysetError && err.code === 'keyset') throw new TesseraError(400, err.message, 'invalid_input')
        throw err
      }
      try {
        await this.openKeyset(path)
      } catch (err) {
        wipeHandOut(ceremony!)
        // The record stays a valid prefix, without a closing line.
        await record?.transcript.abandon()
        throw err
      }
      if (record) this.records.beginInit(record)
      const summary = { path, shares, threshold, scheme, recipients: recipients.map(keyInfo), holders: holders ?? [] }
      this.ceremony = { ...ceremony!, summary, handedOut: ceremony!.items.map(() => false), cards: new Set() }
      return summary
    },
    'init.revealShare': async ({ index }) => {
      const { c, item } = this.handOutItem(index, 'reveal')
      // The page shows a share the moment it has it: that is the hand-out, recorded
      // before the share leaves (a hand-out that cannot be recorded stops). An
      // encrypted share is no secret; it is handed out once its file is saved.
      if (!item.encrypted) {
        await this.records.init?.shareHandedOut(item.number, 'revealed')
        c.handedOut[index] = true
      }
      const key = item.encrypted ? item.bytes.toString('base64') : item.bytes.toString('utf8')
      return { index, key, key_base64: item.base64.toString('ascii'), encrypted: item.encrypted }
    },
    'init.shareSaved': async ({ index }) => {
      const { c, item } = this.handOutItem(index, 'save')
      if (!item.encrypted) throw new TesseraError(409, `share ${index + 1} is not encrypted: it is shown on screen, not saved to a file`, 'share_not_encrypted')
      await this.records.init?.shareHandedOut(item.number, 'encrypted_file_saved')
      c.handedOut[index] = true
      return { recorded: true }
    },
    'init.cardPrinted': async ({ index }) => {
      await this.cardPrinted(index)
      return { recorded: true }
    },
    'init.printCard': async ({ index }) => {
      const print = this.opts.printWindow
      if (!print) throw new TesseraError(501, 'this window prints the card through the browser, not through Tessera', 'unsupported')
      // Only a card main showed goes to the printer, and is recorded once the printer took it.
      this.shownCard(index)
      const printed = await print()
      if (printed) await this.cardPrinted(index)
      return { printed }
    },
    'init.shareCard': async ({ index }) => {
      const { c, item } = this.handOutItem(index, 'print')
      if (item.encrypted) throw new TesseraError(409, `share ${index + 1} is encrypted to its holder's PGP key: save its file instead of printing a card`, 'share_encrypted')
      const card = await Session.card(c.summary, { number: item.number, holder: c.summary.holders[index] || null, text: item.bytes.toString('utf8') })
      // The card shows the share on screen: a revealed share, though not (yet) a printed one.
      await this.records.init?.shareHandedOut(item.number, 'card_shown')
      c.handedOut[index] = true
      c.cards.add(index)
      return card
    },
    'init.revealRootToken': async () => {
      if (!this.ceremony) throw new TesseraError(404, 'the init ceremony is over', 'no_share')
      await this.records.init?.rootTokenRevealed('revealed')
      const value = this.ceremony.rootToken
      return { value: value.toString('ascii'), kind: 'root token', checksum: checksum(value), verified: true }
    },
    'init.finish': async (input) => {
      // A share never seen nor saved is lost for good (on an n-of-n keyset, the keyset with it).
      const c = this.ceremony
      if (c && !input?.abandon && c.handedOut.includes(false)) {
        const them = c.handedOut.filter((done) => !done).length === 1 ? 'it' : 'them'
        throw new TesseraError(
          409,
          `${Session.missing(c)} never handed out: finishing now loses ${them} for good. Hand ${them} out, or confirm abandoning ${them}.`,
          'shares_not_handed_out',
        )
      }
      await this.wipeRecorded()
      return { wiped: true }
    },

    'attempt.status': async ({ flow }) => this.toUi(flow, await this.backend().status(flow)),
    'attempt.start': async ({ flow, pgpKey, newHolder, allowSharedKey }) => {
      if (this.finished) {
        throw new TesseraError(409, 'a finished result is still held: store it, then wipe it, before starting another attempt', 'result_held')
      }
      const backend = this.backend()
      const { status, otp, sharedKey } = await backend.start(flow, { ...(pgpKey ? { pgp_key: pgpKey } : {}), allow_shared_key: allowSharedKey === true })
      try {
        await this.records.begin(flow, status, backend, () => this.facts(), sharedKey)
      } catch (err) {
        // A ceremony that leaves no record does not go on.
        wipe(otp)
        await backend.cancel(flow).catch(() => undefined)
        throw err
      }
      if (otp) this.hold(flow, status.nonce, otp)
      else this.release(flow)
      if (flow === 'share') {
        this.newHolder = newHolder ? { nonce: status.nonce, name: newHolder } : null
        if (newHolder && this.open?.kind === 'local') this.open.engine.nameNewShare(status.nonce, newHolder)
      }
      this.log = []
      return this.toUi(flow, status)
    },
    'attempt.confirmNonce': async ({ flow, nonce, holder }) => {
      const backend = this.backend()
      const recorder = await this.records.of(flow, nonce, backend, () => this.facts())
      // A stale screen confirms a nonce no attempt has: nothing is recorded, and the
      // holder's share then meets the engine's own refusal of the wrong nonce.
      const running = await backend.status(flow)
      if (!recorder || !running.started || running.nonce !== nonce) return { recorded: false }
      await recorder.nonceConfirmed(holder.trim(), nonce)
      return { recorded: true }
    },
    'attempt.cancel': async ({ flow }) => {
      const backend = this.backend()
      const recorder = this.records.ofFlow(flow)
      if (recorder) {
        await recorder.cancel(flow, () => backend.cancel(flow))
        await this.records.close()
      } else {
        await backend.cancel(flow)
      }
      this.release(flow)
      if (!this.finished) this.log = []
      return { cancelled: true }
    },
    'attempt.update': async ({ flow, key, nonce, holder }) => {
      // The share arrives as the IPC edge's string; the backend gets bytes, wiped after the call.
      const share = Buffer.from(key, 'utf8')
      try {
        return await this.update(flow, share, nonce, holder?.trim() || undefined)
      } finally {
        wipe(share)
      }
    },

    'shares.list': async () => {
      const keyset = this.localKeyset()
      return { canCheck: keyset.canCheckShares, shares: keyset.listShares() }
    },
    'shares.check': async ({ share }) => {
      const typed = Buffer.from(share, 'utf8')
      try {
        const { checked: _checked, ...result } = await this.localKeyset().check(typed)
        return result
      } finally {
        wipe(typed)
      }
    },

    'result.revealShare': async () => {
      const share = await this.handedOut(this.finished?.share?.encrypted ? 'encrypted_file_saved' : 'revealed')
      return { key: share.key.toString(), key_base64: share.keyBase64.toString(), encrypted: share.encrypted }
    },
    'result.shareCard': async () => {
      const f = this.finished
      if (!f?.share || !Session.cardable(f)) {
        throw new TesseraError(409, 'no card can be printed: no new share of a local keyset is held in the clear', 'no_card')
      }
      const share = f.share
      const card = await Session.card(f.engine!.keyset, { number: share.number!, holder: share.holder, text: share.key.toString('utf8') })
      await this.handedOut('card_shown')
      share.cardShown = true
      return card
    },
    'result.cardPrinted': async () => {
      if (!this.finished?.share?.cardShown) throw new TesseraError(409, 'no card of a new share was shown: show it before recording that it printed', 'no_card')
      await this.handedOut('card_printed')
      return { recorded: true }
    },

    'decode.held': async ({ flow, encoded }) => {
      const f = this.finished
      // The result's OTP is kept for as many decodes as the operator needs, until wiped.
      const held = f?.flow === flow && f.otp ? { otp: f.otp } : this.held.get(flow)
      if (!held) {
        throw new TesseraError(
          409,
          'Tessera holds no OTP for this attempt (it was started elsewhere, or its result was wiped): enter the OTP or use a PGP key',
          'no_held_otp',
        )
      }
      return this.recordDecode(encoded, await shown(decodeWithOtp(encoded, held.otp), this.checker(encoded, true)))
    },
    'decode.otp': async ({ encoded, otp, verify }) => {
      const key = Buffer.from(otp, 'utf8')
      let decoded: Decoded
      try {
        decoded = decodeWithOtp(encoded, key)
      } finally {
        wipe(key)
      }
      return this.recordDecode(encoded, await shown(decoded, this.checker(encoded, verify)))
    },
    'decode.pgp': async ({ encoded, privateKey, passphrase, verify }) =>
      this.recordDecode(encoded, await shown(await decodeWithPgp(encoded, await readPrivateKey(privateKey, passphrase)), this.checker(encoded, verify))),
    'pgp.inspect': async ({ key }) => keyInfo(await readPublicKey(key)),

    'clipboard.copy': async ({ text }) => {
      const clipboard = this.opts.clipboard
      if (!clipboard) throw new TesseraError(501, 'this window copies through the browser, not through Tessera', 'unsupported')
      await clipboard.writeText(text)
      // A finished result copied out of Tessera is no longer held by Tessera alone.
      if (this.finished?.encoded && this.finished.encoded === text.trim()) this.finished.taken = true
      // Cleared only if it still holds our value: never wipe what the operator copied since.
      setTimeout(async () => {
        if ((await clipboard.readText()) === text) await clipboard.clear()
      }, CLIPBOARD_SECONDS * 1000).unref()
      return { clearsInSeconds: CLIPBOARD_SECONDS }
    },

    'session.wipe': async () => {
      await this.wipeRecorded()
      return { wiped: true }
    },
    'transcript.setDirectory': async ({ path }) => {
      this.records.setDirectory(path)
      return this.records.state
    },
    'transcript.report': () => this.records.report(),
    'transcript.print': async ({ pageSize }) => {
      const printer = this.opts.printer
      if (!printer) throw new TesseraError(501, 'this window prints the record through the browser, not through Tessera', 'unsupported')
      return { saved: await printer.printToPdf((await this.records.report()).html, pageSize) }
    },
    'session.state': async (): Promise<SessionState> => ({
      result: this.heldResult(),
      init: this.ceremony && { summary: this.ceremony.summary, handedOut: [...this.ceremony.handedOut] },
      log: [...this.log],
      record: this.records.state,
    }),
    'backend.recent': async () => ({ recent: (await this.recent?.existing()) ?? [] }),
  }
}
