import * as v from 'valibot'
import { sameBytes } from '../crypto/same-bytes'
import { base64Bytes, hexBytes } from '../crypto/text-bytes'
import { wipe } from '../crypto/wipe'
import { checkRekeyRequest, type RekeyRequest, type Verification } from '../engine/rekey-request'
import type { IssuedShares, RecognizedShare, RekeyConfig, Rekeyer, RekeyState, VerifyState } from '../rekey-interface'
import { hasCode, TesseraError } from '../support/errors'
import { shareField, type VaultConnection } from './connection'
import { parseReply } from './replies'
import { BackupReply, envelope, NewSharesReply, RekeyStatusReply, StorageTypeReply, VerifyDoneReply, VerifyStatusReply } from './rekey-replies'

type Api = 'legacy' | 'rotate'
const BASE: Record<Api, string> = { legacy: 'sys/rekey', rotate: 'sys/rotate/root' }

/** The storage type `tessera serve` reports: a server that takes Tessera's rekey extensions. */
const TESSERA_STORAGE = 'tessera-keyset'

/** Longest plain new share Tessera takes from a server: Vault's are 33 bytes (a 32-byte key and its x-coordinate). */
const MAX_PLAIN_SHARE_BYTES = 256

const AnyData = envelope(v.unknown())

/**
 * Which rekey API to use: OpenBao 2.4+'s authenticated sys/rotate/root where the
 * server has it and the profile has a token; the legacy sys/rekey where the
 * server has no other, or where there is no token and the server still takes
 * unauthenticated rekeys (OpenBao 2.4's default). Without a token on a server
 * that refuses both, sys/rotate/root: its refusal says which token to add.
 */
async function chooseApi(connection: VaultConnection): Promise<Api> {
  const path = `${BASE.rotate}/init`
  const rotate = await connection.request('GET', path)
  if (rotate.status === 404 || rotate.status === 405) return 'legacy'
  // Sealed or failing decides nothing: that is the sentence to give.
  if (rotate.status >= 300 && rotate.status !== 401 && rotate.status !== 403) throw connection.refusal('GET', path, rotate)
  if (connection.hasToken) return 'rotate'
  const legacy = await connection.request('GET', `${BASE.legacy}/init`)
  return legacy.status === 200 ? 'legacy' : 'rotate'
}

/** A server's reply that cannot be true; it names the field and the problem, never a value. */
function untrue(what: string, problem: string): TesseraError {
  return new TesseraError('bad_reply', `The server's reply to ${what} is not what Vault sends: ${problem}.`)
}

const IDLE: RekeyState = {
  started: false, nonce: '', t: 0, n: 0, progress: 0, required: 0,
  pgp_fingerprints: null, backup: false, verification_required: false,
}

/**
 * A rekey on a Vault or OpenBao server, over the backend's connection (its
 * TLS, redirect, deadline and close rules). A server does not say which share
 * it took, so updates carry no RecognizedShare. Each update and verify reads
 * the status first, so that a reply that does not follow from it — a nonce
 * that changed, new shares before the threshold or of another count — is
 * refused rather than handed out.
 */
export class RemoteRekeyer implements Rekeyer {
  /** What this client asked for at start; a server keeps no holders, and does not say how a verification was asked. */
  private asked: { holders: readonly string[] | undefined; verification: Verification } | null = null

  constructor(
    private readonly connection: VaultConnection,
    readonly api: Api,
    /** Whether the server takes Tessera's `tessera_verify_all` (only `tessera serve` does). */
    readonly verifyAll: boolean,
  ) {}

  /** The rekey of the server behind `connection`, on the API it offers. */
  static async open(connection: VaultConnection): Promise<RemoteRekeyer> {
    const api = await chooseApi(connection)
    const seal = parseReply(StorageTypeReply, await connection.call('GET', 'sys/seal-status'), 'GET sys/seal-status')
    return new RemoteRekeyer(connection, api, seal.storage_type === TESSERA_STORAGE)
  }

  /** One call; its body unwrapped from OpenBao's `data` where the path answers in it. */
  private async send(method: string, leaf: string, body?: unknown): Promise<{ reply: unknown; what: string }> {
    const path = `${BASE[this.api]}/${leaf}`
    const what = `${method} ${path}`
    const raw = await this.connection.call(method, path, body)
    const logical = this.api === 'rotate' || leaf === 'backup'
    return { reply: logical && raw !== null ? parseReply(AnyData, raw, what).data : raw, what }
  }

  private async read<S extends v.GenericSchema>(schema: S, method: string, leaf: string, body?: unknown): Promise<v.InferOutput<S>> {
    const { reply, what } = await this.send(method, leaf, body)
    return parseReply(schema, reply, what)
  }

  async status(): Promise<RekeyState> {
    return rekeyState(await this.read(RekeyStatusReply, 'GET', 'init'), `GET ${BASE[this.api]}/init`)
  }

  async start(config: RekeyConfig): Promise<RekeyState> {
    if (config.verification === 'all' && !this.verifyAll) {
      throw new TesseraError('rekey_request', 'verification: this server cannot ask for every new share back (only a threshold of them): choose a threshold, or none')
    }
    // Vault's checks, and Tessera's (one key per holder), before anything is sent.
    const checked = await checkRekeyRequest(rekeyRequest(config))
    const fingerprints = checked.recipients.length ? checked.recipients.map((r) => r.fingerprint) : null
    const body = {
      secret_shares: checked.shares,
      secret_threshold: checked.threshold,
      // Vault reads base64 of a binary key; an armored one is converted here.
      ...(fingerprints ? { pgp_keys: checked.recipients.map((r) => Buffer.from(r.key.write()).toString('base64')) } : {}),
      ...(checked.backup ? { backup: true } : {}),
      ...(checked.verification !== 'none' ? { require_verification: true } : {}),
      ...(checked.verification === 'all' ? { tessera_verify_all: true } : {}),
      ...(this.verifyAll && checked.holders ? { tessera_holders: checked.holders } : {}),
    }
    const what = `PUT ${BASE[this.api]}/init`
    const s = await this.read(RekeyStatusReply, 'PUT', 'init', body)
    const problem =
      !s.started ? 'it says no rekey started'
      : s.n !== checked.shares || s.t !== checked.threshold ? 'its share count or threshold is not the one asked for'
      : s.verification_required !== (checked.verification !== 'none') || s.tessera_verify_all !== (checked.verification === 'all') ? 'its verification is not the one asked for'
      : s.backup !== checked.backup ? 'its backup is not the one asked for'
      : !sameList(s.pgp_fingerprints, fingerprints) ? 'its PGP fingerprints are not those of the keys sent, in their order'
      : undefined
    if (problem) {
      // A rekey other than the one asked for must not go on: it is cancelled, as far as the server lets it be.
      await this.cancel().catch(() => undefined)
      throw untrue(what, `${problem}; Tessera cancelled it`)
    }
    this.asked = { holders: checked.holders, verification: checked.verification }
    return rekeyState(s, what)
  }

  async cancel(): Promise<void> {
    this.asked = null
    await this.send('DELETE', 'init')
  }

  /** One current share; the completing one carries the new shares, checked against the status read before it. */
  async update(key: Buffer, nonce: string, _holder?: string): Promise<{ state: RekeyState; share?: RecognizedShare; issued?: IssuedShares }> {
    const body = { key: shareField(key), nonce }
    const before = await this.status()
    const { reply, what } = await this.send('PUT', 'update', body)
    if (!isComplete(reply)) {
      const state = rekeyState(parseReply(RekeyStatusReply, reply, what), what)
      if (!state.started || state.nonce !== nonce) throw untrue(what, 'its nonce changed in the middle of the rekey')
      return { state }
    }
    const made = parseReply(NewSharesReply, reply, what)
    const issued = this.issued(made, before, nonce, what)
    const state: RekeyState = made.verification_required
      ? { ...before, progress: 0, verification_nonce: made.verification_nonce }
      : { ...IDLE, required: before.t }
    return { state, issued }
  }

  /** The new shares of a completing update, as Buffers in the order of the reply's keys; refused when the reply cannot follow from `before`. */
  private issued(made: v.InferOutput<typeof NewSharesReply>, before: RekeyState, nonce: string, what: string): IssuedShares {
    const problem =
      made.nonce !== nonce ? 'its nonce changed in the middle of the rekey'
      : !before.started || before.progress + 1 < before.required ? `it gives new shares before ${before.required} current shares were entered`
      : made.keys.length !== before.n ? `it gives ${made.keys.length} new shares where the rekey makes ${before.n}`
      : made.keys_base64 && made.keys_base64.length !== made.keys.length ? 'its keys_base64 and keys differ in number'
      : !sameList(made.pgp_fingerprints, before.pgp_fingerprints) ? 'its PGP fingerprints are not those of the rekey'
      : made.backup !== before.backup ? 'its backup is not the one of the rekey'
      : made.verification_required !== before.verification_required || (made.verification_required && !made.verification_nonce)
        ? 'its verification is not the one of the rekey'
        : undefined
    // Without verification the server may have applied new shares it does not hand out correctly.
    const lost = before.verification_required ? '' : "; if the server's seal status now shows the new share count, it applied shares Tessera did not take"
    if (problem) throw untrue(what, `${problem}${lost}`)
    const encrypted = made.pgp_fingerprints !== null
    const keys: Buffer[] = []
    try {
      for (const [i, hex] of made.keys.entries()) {
        keys.push(newShare(hex, made.keys_base64?.[i], encrypted, keys[0]?.length))
      }
    } catch (err) {
      wipe(...keys)
      throw untrue(what, `${(err as Error).message}${lost}`)
    }
    const holders = this.asked?.holders
    return {
      keys,
      encrypted,
      shares: keys.map((_, i) => ({ number: i + 1, holder: holders?.[i] ?? null })),
      pgp_fingerprints: made.pgp_fingerprints,
      backup: made.backup,
      ...(made.verification_required ? { verification_nonce: made.verification_nonce } : {}),
    }
  }

  async verifyStatus(): Promise<VerifyState> {
    return this.verifyState(await this.read(VerifyStatusReply, 'GET', 'verify'), `GET ${BASE[this.api]}/verify`)
  }

  async verify(key: Buffer, nonce: string, _holder?: string): Promise<{ state: VerifyState; share?: RecognizedShare; complete: boolean }> {
    const body = { key: shareField(key), nonce }
    const before = await this.verifyStatus()
    const { reply, what } = await this.send('PUT', 'verify', body)
    if (!isComplete(reply)) {
      const state = this.verifyState(parseReply(VerifyStatusReply, reply, what), what)
      if (!state.started || state.nonce !== nonce) throw untrue(what, 'its nonce changed in the middle of the verification')
      return { state, complete: false }
    }
    const done = parseReply(VerifyDoneReply, reply, what)
    if (done.nonce !== nonce) throw untrue(what, 'its nonce changed in the middle of the verification')
    if (!before.started || before.progress + 1 < before.required) {
      throw untrue(what, `it says the verification is complete before ${before.required} new shares were entered`)
    }
    return { state: { ...before, progress: before.progress + 1 }, complete: true }
  }

  async restartVerification(): Promise<VerifyState> {
    return this.verifyState(await this.read(VerifyStatusReply, 'DELETE', 'verify'), `DELETE ${BASE[this.api]}/verify`)
  }

  /** A verification status, its count checked against how it was asked (every share, or a threshold). */
  private verifyState(s: v.InferOutput<typeof VerifyStatusReply>, what: string): VerifyState {
    const required = s.tessera_required ?? s.t
    const expected = this.asked?.verification === 'all' ? s.n : this.asked ? s.t : undefined
    if (s.started && (!s.nonce || s.t < 1 || s.t > s.n || (required !== s.t && required !== s.n) || s.progress >= required)) {
      throw untrue(what, 'its nonce, counts and progress do not fit together')
    }
    if (s.started && expected !== undefined && required !== expected) throw untrue(what, 'it asks for another number of new shares than the rekey was started with')
    return { started: s.started, nonce: s.nonce, t: s.t, n: s.n, progress: s.progress, required }
  }

  /** The encrypted new shares kept by a rekey with backup, per fingerprint, in hex as Vault's `keys`; null when none is kept. */
  async readBackup(): Promise<{ nonce: string; keys: Record<string, string[]> } | null> {
    try {
      return await this.read(BackupReply, 'GET', 'backup')
    } catch (err) {
      if (hasCode(err, 'no_backup')) return null
      throw err
    }
  }

  async deleteBackup(): Promise<void> {
    await this.send('DELETE', 'backup')
  }

  /**
   * Nothing to do: a server applies new shares made without verification at
   * the completing update, before they are handed out; with verification, at
   * the verify that completes it.
   */
  async release(): Promise<void> {}
}

/** What the engine's request checks take, from what the app asks. */
export function rekeyRequest(config: RekeyConfig): RekeyRequest {
  return {
    shares: config.shares,
    threshold: config.threshold,
    pgpKeys: config.pgpKeys ?? [],
    backup: config.backup ?? false,
    requireVerification: config.verification !== 'none',
    verifyAll: config.verification === 'all',
    ...(config.holders ? { holders: config.holders } : {}),
  }
}

function isComplete(reply: unknown): boolean {
  return typeof reply === 'object' && reply !== null && (reply as { complete?: unknown }).complete === true
}

function sameList(a: readonly string[] | null, b: readonly string[] | null): boolean {
  return a === b || (a !== null && b !== null && a.length === b.length && a.every((x, i) => x === b[i]))
}

/** A rekey status whose fields fit together; `verification_nonce` only once there is one. */
function rekeyState(s: v.InferOutput<typeof RekeyStatusReply>, what: string): RekeyState {
  if (s.started && (!s.nonce || s.t < 1 || s.t > s.n || s.required < 1 || s.progress > s.required || (s.pgp_fingerprints !== null && s.pgp_fingerprints.length !== s.n))) {
    throw untrue(what, 'its nonce, counts and progress do not fit together')
  }
  if (s.verification_nonce && !(s.started && s.verification_required)) throw untrue(what, 'it has a verification nonce without a verification')
  return {
    started: s.started,
    nonce: s.nonce,
    t: s.t,
    n: s.n,
    progress: s.progress,
    required: s.required,
    pgp_fingerprints: s.pgp_fingerprints,
    backup: s.backup,
    verification_required: s.verification_required,
    ...(s.verification_nonce ? { verification_nonce: s.verification_nonce } : {}),
  }
}

/**
 * One new share from its hex (and base64, when the server sent both): the
 * text a holder types, or the binary PGP message. Only Buffers are made here;
 * the reply's JSON strings are the only strings of the share.
 */
function newShare(hex: string, base64: string | undefined, encrypted: boolean, length: number | undefined): Buffer {
  const text = Buffer.from(hex, 'latin1')
  const bytes = hexBytes(text)
  const twin = base64 === undefined ? null : base64Bytes(Buffer.from(base64, 'latin1'))
  try {
    if (!bytes) throw new Error('a key is not hex')
    if (base64 !== undefined && !(twin && sameBytes(bytes, twin))) throw new Error('keys_base64 does not hold the same shares as keys')
    if (encrypted) {
      // A binary OpenPGP packet starts with a tag byte whose high bit is set.
      if ((bytes[0]! & 0x80) === 0) throw new Error('an encrypted key is not an OpenPGP message')
      return Buffer.from(bytes)
    }
    if (bytes.length < 2 || bytes.length > MAX_PLAIN_SHARE_BYTES) throw new Error('a key has a length no share has')
    if (length !== undefined && text.length !== length) throw new Error('the keys differ in length, which the shares of one key never do')
    return Buffer.from(text)
  } finally {
    wipe(text, bytes, twin)
  }
}
