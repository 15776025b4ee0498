import type { RekeyEvent, Rekeying } from '../engine/rekey'
import { TesseraError } from '../support/errors'
import { keyringFingerprint } from './attempt-record'
import { reasonFor, type BackendFacts, type CeremonyEvent, type HandOutHow } from './events'
import type { HandOutRecord } from './hand-out-record'
import { RecordWriter } from './writer'

/** The server form of `rekey_completed`'s data. */
export type ServerCompleted = Extract<Extract<CeremonyEvent, { type: 'rekey_completed' }>['data'], { server: string }>

/** Records every step of `rekey`'s ceremonies in `writer`'s record (`tessera serve --record`). */
export function recordRekey(rekey: Rekeying, writer: RecordWriter): void {
  rekey.observe(async (event) => {
    await writer.append(lineFor(event))
  })
}

/**
 * The record of one rekey ceremony run from the app: its start, each share
 * entered, the new shares made and each one's hand-out, their verification,
 * and how it ended (completed or cancelled), then the wipe. The hand-out of
 * the new shares writes here too; the record stays open after it while the
 * new shares wait for verification. A recording failure fails the step.
 */
export class RekeyRecord implements HandOutRecord {
  private holders = new Map<number, string>()
  /** The rekey completed or was cancelled: nothing but the wipe follows. */
  private over = false
  private ending: Promise<string> | null = null

  private constructor(readonly writer: RecordWriter) {}

  static async open(path: string, facts: BackendFacts): Promise<RekeyRecord> {
    return new RekeyRecord(await RecordWriter.create(path, facts))
  }

  async event(e: RekeyEvent): Promise<void> {
    if (e.type === 'shares_issued') this.holders = new Map(e.shares.flatMap((s) => (s.holder ? [[s.number, s.holder] as const] : [])))
    await this.writer.append(lineFor(e))
    if (e.type === 'completed' || (e.type === 'cancelled' && e.what === 'rekey')) this.over = true
  }

  /** A server's new shares took effect: its origin, counts, and what became of its server check file. */
  async serverCompleted(data: ServerCompleted): Promise<void> {
    await this.writer.append({ type: 'rekey_completed', data })
    this.over = true
  }

  /** A server's rekey this window no longer follows, and why: how it ended is not known here. */
  async notFollowed(reason: 'not_running' | 'other_connection'): Promise<void> {
    await this.writer.append({ type: 'rekey_not_followed', data: { reason } })
    this.over = true
  }

  async nonceConfirmed(holder: string, nonce: string): Promise<void> {
    await this.writer.append({ type: 'nonce_confirmed', data: { holder, nonce } })
  }

  async shareHandedOut(number: number, how: HandOutHow): Promise<void> {
    const holder = this.holders.get(number)
    await this.writer.append({ type: 'share_handed_out', data: { share_number: number, ...(holder ? { holder } : {}), how } })
  }

  async rootTokenRevealed(): Promise<void> {
    throw new TesseraError('no_share', 'a rekey makes no root token')
  }

  /** The hand-out ended: a rekey it ended (completed or cancelled) closes its record; one whose new shares wait for verification goes on. */
  async ended(): Promise<string> {
    return this.over ? this.end() : this.writer.finalHash
  }

  /** The ceremony is over and its secrets dropped: the wipe, then the closing line, once. Resolves with the final hash. */
  end(): Promise<string> {
    this.ending ??= this.writer.append({ type: 'wiped', data: {} }).then(() => this.writer.close())
    return this.ending
  }
}

/** A rekey event as the record's line: names, numbers, fingerprints and counts, never a share. */
function lineFor(e: RekeyEvent): CeremonyEvent {
  switch (e.type) {
    case 'started': {
      const r = e.rekey
      const encrypted = r.recipients.map((k, i) => ({ share_number: i + 1, fingerprint: k.fingerprint }))
      return {
        type: 'rekey_started',
        data: {
          nonce: e.nonce,
          shares: r.shares,
          threshold: r.threshold,
          required: e.required,
          verification: r.verification,
          ...(r.holders ? { holders: [...r.holders] } : {}),
          ...(encrypted.length ? { encrypted_to: encrypted } : {}),
          ...(r.backup ? { backup: true as const } : {}),
        },
      }
    }
    case 'share_accepted': {
      const who = { ...(e.share.holder ? { holder: e.share.holder } : {}) }
      if (e.phase === 'verify' && e.share.number) {
        return { type: 'new_share_verified', data: { ...who, share_number: e.share.number, progress: e.progress, required: e.required } }
      }
      return { type: 'share_accepted', data: { ...who, ...(e.share.number ? { share_number: e.share.number } : {}), progress: e.progress, required: e.required } }
    }
    case 'share_refused':
      return { type: 'share_refused', data: { reason: reasonFor(e.code), progress: e.progress } }
    case 'shares_issued':
      return { type: 'rekey_shares_issued', data: { shares: e.shares.length, verification: e.verification } }
    case 'verification_failed':
      return { type: 'rekey_verification_restarted', data: { reason: 'failed' } }
    case 'completed':
      return { type: 'rekey_completed', data: { keyset_fingerprint: keyringFingerprint(e.keyringCiphertext), generation: e.generation, shares: e.shares, threshold: e.threshold } }
    case 'cancelled':
      return e.what === 'rekey' ? { type: 'rekey_cancelled', data: {} } : { type: 'rekey_verification_restarted', data: { reason: 'operator' } }
  }
}
