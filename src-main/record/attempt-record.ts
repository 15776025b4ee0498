import { createHash } from 'node:crypto'
import type { AttemptStatus, Flow } from '../backend'
import type { Backend, Updated } from '../backend-interface'
import { KEYSET_LIMIT, type Keyset } from '../engine/keyset'
import { readRegularFile } from '../support/bounded-read'
import { TesseraError } from '../support/errors'
import type { Unsealed } from '../engine/seal'
import { reasonFor, type BackendFacts, type CeremonyEvent, type DecodedKind, type HandOutHow, type Reason } from './events'
import { RecordWriter } from './writer'

export type { BackendFacts }

/** A share as the backend knows it, where it can tell. */
type Known = { number: number | null; holder: string | null } | null | undefined

/**
 * Says which share a refused one was, where the backend can tell; called only
 * for a refusal recorded in full, so that a flood costs no check per request.
 */
export type Identify = () => Promise<Known>

/** Who gave a share, as the record's fields name them: the name typed, else the keyset's holder, and its number. */
function whoIs(name: string | undefined, known: Known) {
  const holder = name || known?.holder
  return { ...(holder ? { holder } : {}), ...(known?.number ? { share_number: known.number } : {}) }
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
  if (typeof ciphertext !== 'string') throw new TesseraError('keyset', 'the keyset has no keyring to take a fingerprint of')
  return keyringFingerprint(ciphertext)
}

/** The fingerprint of a keyset whose encrypted keyring (base64, as in the file) is `ciphertext`. */
export const keyringFingerprint = (ciphertext: string): string => sha256(ciphertext)

/** What a record says of a local keyset a ceremony runs on. */
export async function keysetFacts(keyset: Pick<Keyset, 'path' | 'scheme' | 'shares' | 'threshold'>, recoveryMode: boolean): Promise<BackendFacts> {
  return {
    backend: 'local',
    keyset_fingerprint: keysetFingerprint((await readRegularFile(keyset.path, KEYSET_LIMIT)).toString('utf8')),
    scheme: keyset.scheme,
    shares: keyset.shares,
    threshold: keyset.threshold,
    recovery_mode: recoveryMode,
  }
}

/** Refusals in a row recorded line by line; the rest of the run is counted. */
const REFUSALS_IN_FULL = 3

/**
 * Records what a backend's attempt calls did, around the calls themselves, so
 * that every caller (the app, `tessera serve`) records the same events the same
 * way: `RecordingBackend` wraps a backend's calls in these.
 * A refused call is recorded and its error rethrown unchanged; a recording
 * failure fails the call, because a ceremony that leaves no record must stop.
 *
 * The record holds what changed the ceremony. A call that found no attempt
 * (an update or a cancel) is not recorded. Refusals in a row are recorded in
 * full up to REFUSALS_IN_FULL; past that they are counted per reason, and the
 * counts written as one line when the run ends: before the next event of any
 * other kind, or at the close. A refusal that resets the progress is always
 * recorded in full.
 */
export class AttemptRecord {
  /** The progress last seen, of the attempt and of the unseal, to notice a reset. */
  private readonly progress = { attempt: 0, unseal: 0 }
  /** Refusals since the last event of another kind. */
  private run = 0
  /** The refusals of the run past the first few, by reason. */
  private counted = new Map<Reason, number>()

  constructor(
    readonly writer: RecordWriter,
    private readonly backend: Pick<Backend, 'status'>,
  ) {}

  /** Creates the record at `path` and records the backend the ceremony runs on. */
  static async open(path: string, backend: Pick<Backend, 'status'>, facts: BackendFacts): Promise<AttemptRecord> {
    return new AttemptRecord(await RecordWriter.create(path, facts), backend)
  }

  /** Records an attempt just started, or already running (started before the record was opened, or elsewhere). */
  async started(flow: Flow, status: AttemptStatus, sharedKey?: boolean): Promise<void> {
    this.progress.attempt = status.progress
    await this.record({
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
        ...(sharedKey ? { shared_key: true as const } : {}),
      },
    })
  }

  async nonceConfirmed(holder: string, nonce: string): Promise<void> {
    await this.record({ type: 'nonce_confirmed', data: { holder, nonce } })
  }

  /** `name`: who enters the share, as typed; the share the backend recognized names them where none was typed. */
  async update(flow: Flow, name: string | undefined, call: () => Promise<Updated>, identify?: Identify): Promise<Updated> {
    let updated: Updated
    try {
      updated = await call()
    } catch (err) {
      const reason = reasonFor(err instanceof TesseraError ? err.code : undefined)
      // A call that found no attempt changed nothing.
      if (reason !== 'no_attempt') await this.refused('attempt', reason, name, identify, () => this.backend.status(flow).then((s) => s.progress))
      throw err
    }
    const { status } = updated
    const who = whoIs(name, updated.share)
    const progress = status.complete ? status.required : status.progress
    await this.record({ type: 'share_accepted', data: { ...who, progress, required: status.required } })
    if (status.complete) {
      await this.record({ type: 'completed', data: { flow, nonce: status.nonce, result_sha256: sha256(resultOf(status)) } })
      if (updated.settled) await this.record({ type: 'check_file_settled', data: updated.settled })
      this.progress.attempt = 0
    } else {
      this.progress.attempt = status.progress
    }
    return updated
  }

  /**
   * One share given to sys/unseal: the unseal's start with its first share,
   * each share accepted or refused (a share given twice, which Vault ignores,
   * as refused), and the unseal when the threshold opens the keyset. A share
   * given to an unsealed server changes nothing and is not recorded.
   */
  async unseal(required: number, call: () => Promise<Unsealed>, progressNow: () => Promise<number>, identify?: Identify): Promise<Unsealed> {
    let result: Unsealed
    try {
      result = await call()
    } catch (err) {
      await this.refused('unseal', reasonFor(err instanceof TesseraError ? err.code : undefined), undefined, identify, progressNow)
      throw err
    }
    if (result.duplicate) await this.refused('unseal', 'duplicate_key', undefined, identify, progressNow)
    if (!result.share) return result
    if (result.sealed && result.progress === 1) await this.record({ type: 'unseal_started', data: { nonce: result.nonce, required } })
    await this.record({ type: 'share_accepted', data: { ...whoIs(undefined, result.share), progress: result.sealed ? result.progress : required, required } })
    if (!result.sealed) await this.record({ type: 'unsealed', data: {} })
    this.progress.unseal = result.progress
    return result
  }

  /** sys/unseal with `reset`: the shares given toward the unseal dropped. A reset that dropped none is not recorded. */
  async unsealReset(call: () => Promise<number>): Promise<number> {
    const dropped = await call()
    this.progress.unseal = 0
    if (dropped > 0) await this.record({ type: 'progress_reset', data: { reason: 'reset_requested', from: dropped } })
    return dropped
  }

  /** The barrier sealed: at start, by init, or by sys/seal (`call`). */
  async sealed(by: Extract<CeremonyEvent, { type: 'sealed' }>['data']['by'], call?: () => Promise<void>): Promise<void> {
    await call?.()
    this.progress.unseal = 0
    await this.record({ type: 'sealed', data: { by } })
  }

  /** A cancel with no attempt running changes nothing and is not recorded. */
  async cancel(flow: Flow, call: () => Promise<void>): Promise<void> {
    // When the backend cannot say, the cancel is recorded: better a line too many than a cancel missing.
    const running = await this.backend.status(flow).then((s) => s.started, () => true)
    await call()
    this.progress.attempt = 0
    if (running) await this.record({ type: 'cancelled', data: { flow } })
  }

  /** The share flow's new share reached its holder, and how; never the share. */
  async shareHandedOut(share: { number: number | null; holder: string | null }, how: HandOutHow): Promise<void> {
    const data = { ...(share.number ? { share_number: share.number } : {}), ...(share.holder ? { holder: share.holder } : {}), how }
    await this.writer.append({ type: 'share_handed_out', data })
  }

  /** `checksum` is what the screen shows beside the decoded value. */
  async decoded(kind: DecodedKind, checksum: string): Promise<void> {
    await this.record({ type: 'decoded', data: { kind, checksum } })
  }

  /** Tessera is stopping with this attempt's finished result never decoded nor handed out. */
  async dropped(flow: Flow): Promise<void> {
    await this.writer.append({ type: 'result_dropped', data: { flow } })
  }

  /** The operator dropped every secret: the ceremony is over and its record is closed. */
  async wiped(): Promise<string> {
    await this.record({ type: 'wiped', data: {} })
    return this.writer.close()
  }

  /** Writes the counts of a run of refusals still open, then the closing line; resolves with the final hash. */
  async close(): Promise<string> {
    const summary = this.summary()
    if (summary) await this.writer.append(summary)
    return this.writer.close()
  }

  /**
   * Appends an event. Any event but a refusal ends the run, after the counts of
   * the refusals before it: both lines are queued at once, so nothing comes
   * between. A refusal recorded in full never flushes the counts, though
   * refusals counted while it waited may already be in them.
   */
  private async record(event: CeremonyEvent): Promise<void> {
    const endsRun = event.type !== 'share_refused' && event.type !== 'progress_reset'
    const summary = endsRun ? this.summary() : undefined
    if (endsRun) this.run = 0
    await Promise.all([summary && this.writer.append(summary), this.writer.append(event)])
  }

  /** The counts of the refusals counted so far, if any, as one line. */
  private summary(): CeremonyEvent | undefined {
    if (this.counted.size === 0) return undefined
    const counts = [...this.counted].map(([reason, count]) => ({ reason, count }))
    this.counted = new Map()
    return { type: 'refusals_summarized', data: { counts } }
  }

  private async refused(
    of: 'attempt' | 'unseal',
    reason: Reason,
    name: string | undefined,
    identify: Identify | undefined,
    progressNow: () => Promise<number>,
  ): Promise<void> {
    // Ask where the attempt or unseal stands now: a refused last share empties the progress.
    const now = await progressNow().catch(() => undefined)
    const from = this.progress[of]
    const reset = now !== undefined && now < from
    if (now !== undefined) this.progress[of] = now
    // Counted here, before any wait: refusals arrive concurrently.
    this.run += 1
    if (this.run > REFUSALS_IN_FULL && !reset) {
      this.counted.set(reason, (this.counted.get(reason) ?? 0) + 1)
      return
    }
    const known = await identify?.()
    const refusal: CeremonyEvent = { type: 'share_refused', data: { ...whoIs(name, known), reason, ...(now !== undefined ? { progress: now } : {}) } }
    await Promise.all([this.record(refusal), reset && this.record({ type: 'progress_reset', data: { reason, from } })])
  }
}
