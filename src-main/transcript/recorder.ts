import { createHash } from 'node:crypto'
import type { AttemptStatus, Flow } from '../backend'
import type { Backend, Started } from '../backend-interface'
import { TesseraError } from '../support/errors'
import { reasonFor, type BackendFacts, type DecodedKind } from './events'
import { Transcript } from './writer'

export type { BackendFacts }

/** Who hands over a share, as the screen knows it. */
export interface Holder {
  name?: string
  /** The share's number (its x-coordinate) where the backend can tell. */
  shareNumber?: number
}

/** The result as the backend returned it: the encoded token, or for a new share its base64. */
function resultOf(s: AttemptStatus): string {
  return s.encoded_token || s.encoded_root_token || s.key_base64 || s.key || ''
}

const LEGACY_OTP_CHARS = 24

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex')

/**
 * A local keyset's fingerprint: SHA-256 of its encrypted keyring, which is bound
 * to the root key and stays the same while tokens are added or revoked. It names
 * the keyset in a record without revealing anything about its shares.
 */
export function keysetFingerprint(keysetFileText: string): string {
  let ciphertext: unknown
  try {
    ciphertext = (JSON.parse(keysetFileText) as { keyring?: { ciphertext?: unknown } } | null)?.keyring?.ciphertext
  } catch {
    // Not JSON: the sentence below says so.
  }
  if (typeof ciphertext !== 'string') throw new TesseraError(400, 'the keyset has no keyring to take a fingerprint of', 'keyset')
  return keyringFingerprint(ciphertext)
}

/** The fingerprint of a keyset whose encrypted keyring (base64, as in the file) is `ciphertext`. */
export const keyringFingerprint = (ciphertext: string): string => sha256(ciphertext)

/**
 * Records what a backend's attempt calls did, around the calls themselves, so
 * that every caller (the app's session, `tessera serve`) records the same
 * events the same way: `recorder.start(flow, () => backend.start(flow, input))`.
 * A refused call is recorded and its error rethrown unchanged; a recording
 * failure fails the call, because a ceremony that leaves no record must stop.
 */
export class CeremonyRecorder {
  /** The progress last seen, to notice a reset. */
  private progress = 0

  constructor(
    readonly transcript: Transcript,
    private readonly backend: Pick<Backend, 'status'>,
  ) {}

  /** Creates the transcript at `path` and records the backend the ceremony runs on. */
  static async open(path: string, backend: Pick<Backend, 'status'>, facts: BackendFacts): Promise<CeremonyRecorder> {
    return new CeremonyRecorder(await Transcript.create(path, facts), backend)
  }

  async start(flow: Flow, call: () => Promise<Started>): Promise<Started> {
    const started = await call()
    try {
      await this.started(flow, started.status)
    } catch (err) {
      started.otp?.fill(0)
      throw err
    }
    return started
  }

  /** Records an attempt that is already running (started before the record was opened, or elsewhere). */
  async started(flow: Flow, status: AttemptStatus): Promise<void> {
    this.progress = status.progress
    await this.transcript.append({
      type: 'attempt_started',
      data: {
        flow,
        nonce: status.nonce,
        protection: status.pgp_fingerprint
          ? { kind: 'pgp', fingerprint: status.pgp_fingerprint.toLowerCase() }
          : status.otp_length > 0
            ? { kind: 'otp', length: status.otp_length }
            : flow === 'share'
              ? { kind: 'none' }
              : // A server too old to report otp_length took Vault's legacy OTP: base64 of 16 bytes.
                { kind: 'otp', length: LEGACY_OTP_CHARS },
        required: status.required,
      },
    })
  }

  async nonceConfirmed(holder: string, nonce: string): Promise<void> {
    await this.transcript.append({ type: 'nonce_confirmed', data: { holder, nonce } })
  }

  /**
   * `holder` is read once the call settles, so that a caller can fill in the
   * share number the backend recognized during the call.
   */
  async update(flow: Flow, holder: Holder, call: () => Promise<AttemptStatus>): Promise<AttemptStatus> {
    const whoIs = () => ({ ...(holder.name ? { holder: holder.name } : {}), ...(holder.shareNumber ? { share_number: holder.shareNumber } : {}) })
    let status: AttemptStatus
    try {
      status = await call()
    } catch (err) {
      await this.refused(flow, whoIs(), err)
      throw err
    }
    const who = whoIs()
    const progress = status.complete ? status.required : status.progress
    await this.transcript.append({ type: 'share_accepted', data: { ...who, progress, required: status.required } })
    if (status.complete) {
      await this.transcript.append({ type: 'completed', data: { flow, nonce: status.nonce, result_sha256: sha256(resultOf(status)) } })
      this.progress = 0
    } else {
      this.progress = status.progress
    }
    return status
  }

  async cancel(flow: Flow, call: () => Promise<void>): Promise<void> {
    await call()
    this.progress = 0
    await this.transcript.append({ type: 'cancelled', data: { flow } })
  }

  /** `checksum` is what the screen shows beside the decoded value. */
  async decoded(kind: DecodedKind, checksum: string): Promise<void> {
    await this.transcript.append({ type: 'decoded', data: { kind, checksum } })
  }

  /** The operator dropped every secret: the ceremony is over and its record is closed. */
  async wiped(): Promise<string> {
    await this.transcript.append({ type: 'wiped', data: {} })
    return this.transcript.close()
  }

  private async refused(flow: Flow, who: { holder?: string; share_number?: number }, err: unknown): Promise<void> {
    const reason = reasonFor(err instanceof TesseraError ? err.code : undefined)
    // Ask where the attempt stands now: a refused last share empties the progress.
    const now = await this.backend.status(flow).then((s) => s.progress, () => undefined)
    await this.transcript.append({ type: 'share_refused', data: { ...who, reason, ...(now !== undefined ? { progress: now } : {}) } })
    if (now !== undefined && now < this.progress) {
      await this.transcript.append({ type: 'progress_reset', data: { reason, from: this.progress } })
    }
    if (now !== undefined) this.progress = now
  }
}

/**
 * The same backend with its attempt calls recorded: what `tessera serve
 * --transcript` needs, where callers send no holder names. Every other member
 * is the backend's own, so a LocalEngine stays a LocalEngine.
 */
export function recording<T extends Backend>(backend: T, recorder: CeremonyRecorder): T {
  const calls: Partial<Backend> = {
    start: (flow, input) => recorder.start(flow, () => backend.start(flow, input)),
    update: (flow, input) => recorder.update(flow, {}, () => backend.update(flow, input)),
    cancel: (flow) => recorder.cancel(flow, () => backend.cancel(flow)),
  }
  return new Proxy(backend, {
    get(target, prop) {
      if (prop in calls) return calls[prop as keyof Backend]
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
