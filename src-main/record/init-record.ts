import { sharedKey } from '../engine/holder-keys'
import type { CeremonyEvent, HandOutHow } from './events'
import { keyringFingerprint } from './attempt-record'
import type { AbandonReason, HandOutRecord } from './hand-out-record'
import { RecordWriter } from './writer'

export type { AbandonReason } from './hand-out-record'

/** What an init ceremony's record says of the keyset it created. */
export interface InitFacts {
  /** SHA-256 of the new keyset's encrypted keyring, as `backend_opened` names a keyset. */
  keysetFingerprint: string
  scheme: 'vault' | 'secretsjs'
  shares: number
  threshold: number
  /** Per share, in share order: its number, its holder's name, and the PGP key it was encrypted to. */
  handed: ReadonlyArray<{ number: number; holder: string | null; recipient?: string }>
  /** One PGP key was given for several holders, as the operator confirmed. */
  sharedKey: boolean
}

/** The facts of a keyset just prepared, in the shapes `engine/init` hands them over. */
export function initFacts(
  keyset: { keyringCiphertext: string; scheme: InitFacts['scheme']; shares: number; threshold: number },
  handed: ReadonlyArray<{ number: number; holder: string | null; encrypted: boolean }>,
  recipients: ReadonlyArray<{ fingerprint: string; keyFingerprints: readonly string[] }>,
): InitFacts {
  return {
    keysetFingerprint: keyringFingerprint(keyset.keyringCiphertext),
    scheme: keyset.scheme,
    shares: keyset.shares,
    threshold: keyset.threshold,
    handed: handed.map((s, i) => ({ number: s.number, holder: s.holder, ...(s.encrypted ? { recipient: recipients[i]!.fingerprint.toLowerCase() } : {}) })),
    sharedKey: sharedKey([], recipients.map((r) => ({ label: r.fingerprint, fingerprints: r.keyFingerprints }))) !== undefined,
  }
}

/**
 * The record of an init ceremony: the keyset created, each share as it leaves
 * the hand-out (and how), the initial root token revealed, and how the hand-out
 * ended. It names shares by number and holders by name; never a share, the
 * token or a key. A recording failure fails the step that was being recorded.
 */
export class InitRecord implements HandOutRecord {
  private readonly handedOut = new Set<number>()

  private constructor(
    readonly writer: RecordWriter,
    private readonly facts: InitFacts,
  ) {}

  static async open(path: string, facts: InitFacts): Promise<InitRecord> {
    const writer = await RecordWriter.create(path, {
      backend: 'local',
      keyset_fingerprint: facts.keysetFingerprint,
      scheme: facts.scheme,
      shares: facts.shares,
      threshold: facts.threshold,
      recovery_mode: false,
    })
    const holders = facts.handed.map((s) => s.holder)
    const encrypted = facts.handed.flatMap((s) => (s.recipient ? [{ share_number: s.number, fingerprint: s.recipient }] : []))
    try {
      await writer.append({
        type: 'keyset_created',
        data: {
          keyset_fingerprint: facts.keysetFingerprint,
          scheme: facts.scheme,
          shares: facts.shares,
          threshold: facts.threshold,
          ...(holders.every((h) => h !== null) ? { holders: holders as string[] } : {}),
          ...(encrypted.length > 0 ? { encrypted_to: encrypted } : {}),
          ...(facts.sharedKey ? { shared_key: true as const } : {}),
        },
      })
    } catch (err) {
      await writer.abandon()
      throw err
    }
    return new InitRecord(writer, facts)
  }

  async shareHandedOut(number: number, how: HandOutHow): Promise<void> {
    const holder = this.facts.handed.find((s) => s.number === number)?.holder
    await this.writer.append({ type: 'share_handed_out', data: { share_number: number, ...(holder ? { holder } : {}), how } })
    this.handedOut.add(number)
  }

  async rootTokenRevealed(how: Extract<CeremonyEvent, { type: 'root_token_revealed' }>['data']['how']): Promise<void> {
    await this.writer.append({ type: 'root_token_revealed', data: { how } })
  }

  /**
   * The hand-out is over and its secrets dropped: the record says how it ended
   * (finished when every share was handed out, else abandoned with the shares
   * that never were; `reason` says why it ended early), then the wipe, and
   * closes. Resolves with the final hash.
   */
  async ended(reason: AbandonReason = 'operator'): Promise<string> {
    await this.handOutEnded(reason)
    await this.writer.append({ type: 'wiped', data: {} })
    return this.writer.close()
  }

  /**
   * Records how the hand-out ended and leaves the record open: `tessera serve
   * --uninitialized` goes on recording the server's ceremonies in it.
   */
  async handOutEnded(reason: AbandonReason = 'operator'): Promise<void> {
    const missing = this.facts.handed.map((s) => s.number).filter((n) => !this.handedOut.has(n))
    await this.writer.append(
      missing.length === 0 && reason === 'operator'
        ? { type: 'init_finished', data: {} }
        : { type: 'init_abandoned', data: { reason, not_handed_out: missing } },
    )
  }
}
