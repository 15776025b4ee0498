import type { DecodedValue } from '../decode/views'
import type { RevealedShare, ShareCard } from '../engine/views'
import type { HandOutRecord } from '../record/hand-out-record'
import { TesseraError } from '../support/errors'
import { wipe } from '../crypto/wipe'
import { shareLabel } from '../../src-shared/share-grammar'
import { checksum } from './checksum'
import { shareCard } from './share-cards'
import type { HandOutProgress, HandOutSummary } from './views'

/** One new share held for its holder: its text, or the PGP message encrypted to the holder, and its base64 form (sys/init's keys_base64). */
export interface HeldShare {
  bytes: Buffer
  base64: Buffer
  encrypted: boolean
  number: number
}

/** New shares made by an init (with the initial root token) or a rekey, to hold until each holder has theirs. */
export interface NewShares {
  summary: HandOutSummary
  items: HeldShare[]
  /** An init's root token; null for a rekey. */
  rootToken: Buffer | null
  /** Where each hand-out is recorded; null when no record is kept. */
  record: HandOutRecord | null
}

interface Running extends NewShares {
  /** Per holder: their share was shown on screen (as itself or as its card), or its encrypted file saved. */
  handedOut: boolean[]
  /** Holders whose card was shown: only a shown card can be printed. */
  cards: Set<number>
}

/** Zeroes every secret of a hand-out: the root token and each share in both its forms. */
export function wipeNewShares(c: Pick<NewShares, 'items' | 'rootToken'>): void {
  wipe(...(c.rootToken ? [c.rootToken] : []), ...c.items.flatMap((i) => [i.bytes, i.base64]))
}

/**
 * The hand-out of new shares (a keyset's or a server's just initialized, or a
 * rekey's), and of an init's root token, held until each holder got theirs
 * (shown, shown on its card, or its encrypted file saved). Each hand-out is
 * recorded before the share leaves main.
 */
export class HandOut {
  private running: Running | null = null

  constructor(
    /** Prints the app's window through the system dialog (the desktop app); true once the printer took it. */
    private readonly printWindow?: () => Promise<boolean>,
  ) {}

  get active(): boolean {
    return this.running !== null
  }

  /** Refuses a new ceremony's shares while another's are being handed out: checked before they are made. */
  assertIdle(): void {
    if (this.running) throw new TesseraError('init_running', 'new shares are still being handed out: finish that hand-out first')
  }

  /** Holds `shares` until each holder has theirs; they are wiped when the hand-out ends. */
  hold(shares: NewShares): void {
    if (this.running) {
      wipeNewShares(shares)
      this.assertIdle()
    }
    this.running = { ...shares, handedOut: shares.items.map(() => false), cards: new Set() }
  }

  /**
   * One holder's share, for the screen to show at once: that is the hand-out,
   * recorded before the share leaves (a hand-out that cannot be recorded
   * stops). An encrypted share is no secret; it is handed out once its file is saved.
   */
  async revealShare(index: number): Promise<RevealedShare> {
    const { c, item } = this.item(index, 'reveal')
    if (!item.encrypted) {
      await this.running?.record?.shareHandedOut(item.number, 'revealed')
      c.handedOut[index] = true
    }
    const key = item.encrypted ? item.bytes.toString('base64') : item.bytes.toString('utf8')
    return { index, key, key_base64: item.base64.toString('ascii'), encrypted: item.encrypted }
  }

  async shareSaved(index: number): Promise<{ recorded: true }> {
    const { c, item } = this.item(index, 'save')
    if (!item.encrypted) throw new TesseraError('share_not_encrypted', `share ${index + 1} is not encrypted: it is shown on screen, not saved to a file`)
    await this.running?.record?.shareHandedOut(item.number, 'encrypted_file_saved')
    c.handedOut[index] = true
    return { recorded: true }
  }

  /** The card of one holder's share: showing it reveals the share, though it is not (yet) printed. */
  async shareCard(index: number): Promise<ShareCard> {
    const { c, item } = this.item(index, 'print')
    if (item.encrypted) throw new TesseraError('share_encrypted', `share ${index + 1} is encrypted to its holder's PGP key: save its file instead of printing a card`)
    const { place, shares, threshold, holders } = c.summary
    if (place.kind !== 'keyset') throw new TesseraError('unsupported', `share ${index + 1} opens a server: cards are laid out for a keyset's shares`)
    const card = await shareCard({ path: place.name, shares, threshold }, { number: item.number, holder: holders[index] || null, text: item.bytes.toString('utf8') })
    await this.running?.record?.shareHandedOut(item.number, 'card_shown')
    c.handedOut[index] = true
    c.cards.add(index)
    return card
  }

  /** The card of share `index` was printed (checked again: the hand-out may have ended meanwhile). */
  async cardPrinted(index: number): Promise<{ recorded: true }> {
    await this.running?.record?.shareHandedOut(this.shownCard(index).number, 'card_printed')
    return { recorded: true }
  }

  /** Prints the window through the system dialog: only a card main showed goes to the printer, recorded once the printer took it. */
  async printCard(index: number): Promise<{ printed: boolean }> {
    if (!this.printWindow) throw new TesseraError('unsupported', 'this window prints the card through the browser, not through Tessera')
    this.shownCard(index)
    const printed = await this.printWindow()
    if (printed) await this.cardPrinted(index)
    return { printed }
  }

  async revealRootToken(): Promise<DecodedValue> {
    const value = this.running?.rootToken
    if (!value) throw new TesseraError('no_share', this.running ? 'this hand-out has no root token' : 'the hand-out is over')
    await this.running?.record?.rootTokenRevealed('revealed')
    return { value: value.toString('ascii'), kind: 'root token', checksum: checksum(value), verified: true }
  }

  /** Refuses to end a hand-out with shares never seen nor saved, unless `abandon`: they are lost for good (on an n-of-n keyset, the keyset with them). */
  assertFinished(abandon: boolean): void {
    const c = this.running
    if (!c || abandon || !c.handedOut.includes(false)) return
    const them = c.handedOut.filter((done) => !done).length === 1 ? 'it' : 'them'
    const loss = c.summary.ceremony === 'rekey' ? 'cancels the rekey (the current shares stay in effect)' : `loses ${them} for good`
    throw new TesseraError('shares_not_handed_out', `${missing(c)} never handed out: finishing now ${loss}. Hand ${them} out, or confirm abandoning ${them}.`)
  }

  view(): HandOutProgress | null {
    return this.running && { summary: this.running.summary, handedOut: [...this.running.handedOut] }
  }

  /** What stopping now loses, in a sentence. */
  unheld(): string[] {
    const c = this.running
    if (!c?.handedOut.includes(false)) return []
    return [`${missing(c)} never handed out: ${c.summary.ceremony === 'rekey' ? 'the rekey is cancelled, and the current shares stay in effect' : 'lost for good'}`]
  }

  wipe(): void {
    if (this.running) wipeNewShares(this.running)
    this.running = null
  }

  /** Share `index` of the hand-out, whose card main showed; refused for a card never shown. */
  private shownCard(index: number): HeldShare {
    const { c, item } = this.item(index, 'print')
    if (!c.cards.has(index)) throw new TesseraError('no_card', `share ${index + 1}'s card was never shown: show it, then print it`)
    return item
  }

  /** The hand-out's share at `index`, or the refusal that names what is missing. */
  private item(index: number, what: string): { c: Running; item: HeldShare } {
    const c = this.running
    const item = c?.items[index]
    if (!c || !item) throw new TesseraError('no_share', `no share ${index + 1} to ${what}: the hand-out is over or has fewer shares`)
    return { c, item }
  }
}

/** Which holders' shares were never handed out, by number and by name where they have one: "share 2 (Bob) and share 3 were". */
function missing(c: Running): string {
  const n = c.items.flatMap((item, i) => (c.handedOut[i] ? [] : [shareLabel({ number: item.number, holder: c.summary.holders[i] || null })]))
  return `${n.length === 1 ? n[0] : `${n.slice(0, -1).join(', ')} and ${n.at(-1)}`} ${n.length === 1 ? 'was' : 'were'}`
}
