import type { AttemptStatus, Flow } from '../backend'
import type { Updated } from '../backend-interface'
import { wipe } from '../crypto/wipe'
import type { DecodedValue } from '../decode/views'
import type { Reference } from '../decode/verify'
import type { NewShare, ShareCard } from '../engine/views'
import { TesseraError } from '../support/errors'
import type { DecodedKind, HandOutHow } from '../record/events'
import type { Records } from './records'
import type { OpenBackend } from './open-backend'
import { shareCard } from './share-cards'
import type { HeldResult } from './views'

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

/** A finished attempt's result and what decodes it, kept until the operator wipes them together. */
interface Finished {
  flow: Flow
  encoded: string
  pgpFingerprint: string
  otp: Buffer | null
  /** Where it was made: the backend's label, and the keyset that made it (which can tell a correctly decoded token from a mistyped one). */
  origin: Pick<OpenBackend, 'label' | 'keyset' | 'reference'>
  /** The share flow's result, as the status gave it: the new share itself, or the PGP message to its holder. */
  share: NewShareHeld | null
  /** Decoded on screen, or copied through main: someone may hold the result. */
  taken: boolean
}

/** What a completed attempt leaves to keep. */
export interface Completed {
  flow: Flow
  updated: Updated
  /** The OTP that decodes it, which the keeper owns from now on; null when none is held. */
  otp: Buffer | null
  origin: Finished['origin']
  /** The name given for the new share's holder at the start, where the backend does not say. */
  newHolder: string | null
}

const RESULT_NAMES: Record<Flow, string> = { root: 'root token', share: 'new key share', recovery: 'recovery token' }

/** A new share reaches its holder on screen, on its card or in its saved file; only the CLI and sys/init hand shares out otherwise. */
type NewShareHandOut = Exclude<HandOutHow, 'written_to_output' | 'sent_in_reply'>

/**
 * The finished result of an attempt, held until the operator wipes it: its
 * OTP for decoding, and the share flow's new share until its holder got it
 * (shown, shown on its card, or its encrypted file saved). Every hand-out is
 * recorded before the share leaves main.
 */
export class ResultKeeper {
  private finished: Finished | null = null

  constructor(private readonly records: Records) {}

  get held(): boolean {
    return this.finished !== null
  }

  /** Takes a completed attempt's result (and its OTP) into keeping. */
  keep({ flow, updated: { status, issued }, otp, origin, newHolder }: Completed): void {
    const share = flow === 'share' ? newShare(status, { number: issued?.number ?? null, holder: issued?.holder ?? newHolder }) : null
    this.finished = {
      flow,
      encoded: share ? '' : status.encoded_token || status.encoded_root_token,
      pgpFingerprint: status.pgp_fingerprint,
      otp,
      origin,
      share,
      taken: false,
    }
  }

  /** The OTP of the held result of `flow`, kept for as many decodes as the operator needs. */
  otpFor(flow: Flow): Buffer | null {
    return this.finished?.flow === flow ? this.finished.otp : null
  }

  /** The held result is this encoded value. */
  isResult(encoded: string): boolean {
    return Boolean(this.finished?.encoded) && this.finished!.encoded === encoded.trim()
  }

  /** What can check a decode of the held result: the keyset that made it. */
  get reference(): Reference | null {
    return this.finished?.origin.reference ?? null
  }

  /** A decode of the held result is part of its ceremony: the record keeps the checksum the screen shows. */
  async decoded(encoded: string, value: DecodedValue): Promise<DecodedValue> {
    if (this.finished && this.isResult(encoded)) {
      await this.records.open?.decoded(value.kind as DecodedKind, value.checksum)
      this.finished.taken = true
    }
    return value
  }

  /** A finished result copied out of Tessera is no longer held by Tessera alone. */
  copied(text: string): void {
    if (this.finished && this.isResult(text)) this.finished.taken = true
  }

  /** The new share for its holder: a share in the clear counts as handed out now, an encrypted one once its file is saved (`shareSaved`). */
  async revealShare(): Promise<NewShare> {
    const share = this.newShare()
    if (!share.encrypted) await this.handedOut('revealed')
    return { key: share.key.toString(), key_base64: share.keyBase64.toString(), encrypted: share.encrypted }
  }

  /** The page saved the new share's encrypted file: now it is handed out. */
  async shareSaved(): Promise<{ recorded: true }> {
    if (!this.newShare().encrypted) {
      throw new TesseraError('share_not_encrypted', 'the new share is not encrypted: it is shown on screen, not saved to a file')
    }
    await this.handedOut('encrypted_file_saved')
    return { recorded: true }
  }

  /** The new share's card: showing it hands the share out. */
  async shareCard(): Promise<ShareCard> {
    const f = this.finished
    if (!f?.share || !cardable(f)) {
      throw new TesseraError('no_card', 'no card can be printed: no new share of a local keyset is held in the clear')
    }
    const share = f.share
    const card = await shareCard(f.origin.keyset!, { number: share.number!, holder: share.holder, text: share.key.toString('utf8') })
    await this.handedOut('card_shown')
    share.cardShown = true
    return card
  }

  async cardPrinted(): Promise<{ recorded: true }> {
    if (!this.finished?.share?.cardShown) throw new TesseraError('no_card', 'no card of a new share was shown: show it before recording that it printed')
    await this.handedOut('card_printed')
    return { recorded: true }
  }

  /** The held result as the page shows it. */
  view(): HeldResult | null {
    const f = this.finished
    if (!f) return null
    const share = f.share && {
      encrypted: f.share.encrypted,
      handedOut: f.share.handedOut,
      number: f.share.number,
      holder: f.share.holder,
      card: cardable(f),
    }
    return { flow: f.flow, encoded: f.encoded, pgp_fingerprint: f.pgpFingerprint, otp_held: f.otp !== null, backend: f.origin.label, share }
  }

  /**
   * Stopping now drops the result: recorded when nobody may hold it (never
   * decoded nor copied, or a new share never revealed nor saved), and said in a sentence.
   */
  async dropped(): Promise<string[]> {
    const f = this.finished
    if (!f || f.taken || f.share?.handedOut) return []
    await this.records.open?.dropped(f.flow).catch(() => undefined)
    const what = `the finished ${RESULT_NAMES[f.flow]} was never decoded and is dropped`
    if (f.share) return ['the new key share was never revealed or saved and is dropped: nobody holds it']
    if (f.otp) return [`${what} with its one-time password: nobody can decode it now`]
    return [`${what}: unless its encoded value was copied or saved, nobody holds it`]
  }

  wipe(): void {
    const f = this.finished
    if (!f) return
    wipe(f.otp, f.share?.key, f.share?.keyBase64)
    this.finished = null
  }

  private newShare(): NewShareHeld {
    const share = this.finished?.share
    if (!share) throw new TesseraError('no_share', 'no new share is held: the share ceremony is not finished, or its result was wiped')
    return share
  }

  /** The new share left main for its holder: recorded first, so that a hand-out that cannot be recorded stops. */
  private async handedOut(how: NewShareHandOut): Promise<void> {
    const share = this.newShare()
    await this.records.open?.shareHandedOut(share, how)
    share.handedOut = true
  }
}

function newShare(status: AttemptStatus, who: { number: number | null; holder: string | null }): NewShareHeld | null {
  if (!status.key || !status.key_base64) return null
  const encrypted = status.pgp_fingerprint !== ''
  return { key: Buffer.from(status.key), keyBase64: Buffer.from(status.key_base64), encrypted, handedOut: false, number: who.number, holder: who.holder, cardShown: false }
}

/** A card needs the share in the clear and the keyset that knows its number. */
function cardable(f: Finished): boolean {
  return f.share !== null && !f.share.encrypted && f.share.number !== null && f.origin.keyset !== null
}
