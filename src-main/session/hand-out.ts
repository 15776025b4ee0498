import { readPublicKey, type PublicKeyInfo } from '../crypto/pgp'
import { wipe } from '../crypto/wipe'
import type { DecodedValue } from '../decode/views'
import { checkOneKeyOneHolder } from '../engine/holder-keys'
import { initKeyset, recipientKeys } from '../engine/init'
import type { Scheme } from '../engine/schemes'
import type { InitSummary, RevealedShare, ShareCard } from '../engine/views'
import { hasCode, TesseraError } from '../support/errors'
import { initFacts, type InitRecord } from '../record/init-record'
import { shareLabel } from '../../src-shared/share-grammar'
import type { Records } from './records'
import type { CeremonySession } from './ceremony-session'
import { checksum } from './checksum'
import { keyInfo } from './keys'
import { shareCard } from './share-cards'
import type { InitProgress } from './views'

/** Shares of a keyset just created, held until each holder has seen theirs. */
interface Shares {
  /** Per holder: the share's text, or the PGP message encrypted to the holder, and its base64 form (sys/init's keys_base64). */
  items: Array<{ bytes: Buffer; base64: Buffer; encrypted: boolean; number: number }>
  rootToken: Buffer
}

interface Running extends Shares {
  summary: InitSummary
  /** Per holder: their share was shown on screen (as itself or as its card), or its encrypted file saved. */
  handedOut: boolean[]
  /** Holders whose card was shown: only a shown card can be printed. */
  cards: Set<number>
}

type Item = Shares['items'][number]

export interface InitInput {
  path: string
  shares: number
  threshold: number
  scheme: Scheme
  pgpKeys?: string[]
  holders?: string[]
  allowSharedKey?: boolean
}

/** Zeroes every secret of a hand-out: the root token and each share in both its forms. */
function wipeShares(c: Shares): void {
  wipe(c.rootToken, ...c.items.flatMap((i) => [i.bytes, i.base64]))
}

/** An init whose keyset was not written: its record says so and ends (or stays a valid prefix if even that fails). */
async function endUnwritten(record: InitRecord | null): Promise<void> {
  if (!record) return
  try {
    await record.ended('keyset_not_written')
  } catch {
    await record.writer.abandon()
  }
}

/**
 * The hand-out of a keyset just created: its shares and initial root token,
 * held until each holder got theirs (shown, shown on its card, or its
 * encrypted file saved). Each hand-out is recorded before the share leaves main.
 */
export class HandOut {
  private running: Running | null = null

  constructor(
    private readonly records: Records,
    private readonly ceremony: CeremonySession,
    /** Prints the app's window through the system dialog (the desktop app); true once the printer took it. */
    private readonly printWindow?: () => Promise<boolean>,
  ) {}

  get active(): boolean {
    return this.running !== null
  }

  /** Creates the keyset, opens it, and holds its shares for the hand-out. */
  async initKeyset({ path, shares, threshold, scheme, pgpKeys, holders, allowSharedKey }: InitInput): Promise<InitSummary> {
    if (this.running) throw new TesseraError('init_running', 'the shares of the keyset just created are still being handed out: finish that first')
    const recipients: PublicKeyInfo[] = []
    for (const [i, key] of (pgpKeys ?? []).entries()) {
      try {
        recipients.push(await readPublicKey(key))
      } catch (err) {
        throw new TesseraError('invalid_pgp_key', `key for holder ${i + 1}: ${(err as Error).message}`)
      }
    }
    checkOneKeyOneHolder([], recipientKeys(recipients, holders), allowSharedKey === true, 'tick "One person holds several of these shares"')
    let made: Shares | undefined
    // Assigned in the hand-out callback, which control-flow analysis does not follow.
    let record = null as InitRecord | null
    try {
      await initKeyset({ path, shares, threshold, scheme, holders, recipients, allowSharedKey }, async (handed, rootToken, keyset) => {
        made = {
          items: handed.map((s) => ({ bytes: s.text(), base64: Buffer.from(s.forms().key_base64), encrypted: s.encrypted, number: s.number })),
          rootToken: Buffer.from(rootToken),
        }
        // Before the keyset is written: a keyset whose creation cannot be recorded is not created.
        record = await this.records.openInit(initFacts(keyset, handed, recipients))
      })
    } catch (err) {
      if (made) wipeShares(made)
      await endUnwritten(record)
      if (hasCode(err, 'keyset')) throw new TesseraError('invalid_input', err.message)
      throw err
    }
    try {
      await this.ceremony.openKeyset(path)
    } catch (err) {
      wipeShares(made!)
      // The record stays a valid prefix, without a closing line.
      await record?.writer.abandon()
      throw err
    }
    if (record) this.records.beginInit(record)
    const summary: InitSummary = { path, shares, threshold, scheme, recipients: recipients.map(keyInfo), holders: holders ?? [] }
    this.running = { ...made!, summary, handedOut: made!.items.map(() => false), cards: new Set() }
    return summary
  }

  /**
   * One holder's share, for the screen to show at once: that is the hand-out,
   * recorded before the share leaves (a hand-out that cannot be recorded
   * stops). An encrypted share is no secret; it is handed out once its file is saved.
   */
  async revealShare(index: number): Promise<RevealedShare> {
    const { c, item } = this.item(index, 'reveal')
    if (!item.encrypted) {
      await this.records.init?.shareHandedOut(item.number, 'revealed')
      c.handedOut[index] = true
    }
    const key = item.encrypted ? item.bytes.toString('base64') : item.bytes.toString('utf8')
    return { index, key, key_base64: item.base64.toString('ascii'), encrypted: item.encrypted }
  }

  async shareSaved(index: number): Promise<{ recorded: true }> {
    const { c, item } = this.item(index, 'save')
    if (!item.encrypted) throw new TesseraError('share_not_encrypted', `share ${index + 1} is not encrypted: it is shown on screen, not saved to a file`)
    await this.records.init?.shareHandedOut(item.number, 'encrypted_file_saved')
    c.handedOut[index] = true
    return { recorded: true }
  }

  /** The card of one holder's share: showing it reveals the share, though it is not (yet) printed. */
  async shareCard(index: number): Promise<ShareCard> {
    const { c, item } = this.item(index, 'print')
    if (item.encrypted) throw new TesseraError('share_encrypted', `share ${index + 1} is encrypted to its holder's PGP key: save its file instead of printing a card`)
    const card = await shareCard(c.summary, { number: item.number, holder: c.summary.holders[index] || null, text: item.bytes.toString('utf8') })
    await this.records.init?.shareHandedOut(item.number, 'card_shown')
    c.handedOut[index] = true
    c.cards.add(index)
    return card
  }

  /** The card of share `index` was printed (checked again: the hand-out may have ended meanwhile). */
  async cardPrinted(index: number): Promise<{ recorded: true }> {
    await this.records.init?.shareHandedOut(this.shownCard(index).number, 'card_printed')
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
    if (!this.running) throw new TesseraError('no_share', 'the init ceremony is over')
    await this.records.init?.rootTokenRevealed('revealed')
    const value = this.running.rootToken
    return { value: value.toString('ascii'), kind: 'root token', checksum: checksum(value), verified: true }
  }

  /** Refuses to end a hand-out with shares never seen nor saved, unless `abandon`: they are lost for good (on an n-of-n keyset, the keyset with them). */
  assertFinished(abandon: boolean): void {
    const c = this.running
    if (!c || abandon || !c.handedOut.includes(false)) return
    const them = c.handedOut.filter((done) => !done).length === 1 ? 'it' : 'them'
    throw new TesseraError('shares_not_handed_out', `${missing(c)} never handed out: finishing now loses ${them} for good. Hand ${them} out, or confirm abandoning ${them}.`)
  }

  view(): InitProgress | null {
    return this.running && { summary: this.running.summary, handedOut: [...this.running.handedOut] }
  }

  /** What stopping now loses, in a sentence. */
  unheld(): string[] {
    const c = this.running
    return c?.handedOut.includes(false) ? [`${missing(c)} never handed out: lost for good`] : []
  }

  wipe(): void {
    if (this.running) wipeShares(this.running)
    this.running = null
  }

  /** Share `index` of the hand-out, whose card main showed; refused for a card never shown. */
  private shownCard(index: number): Item {
    const { c, item } = this.item(index, 'print')
    if (!c.cards.has(index)) throw new TesseraError('no_card', `share ${index + 1}'s card was never shown: show it, then print it`)
    return item
  }

  /** The hand-out's share at `index`, or the refusal that names what is missing. */
  private item(index: number, what: string): { c: Running; item: Item } {
    const c = this.running
    const item = c?.items[index]
    if (!c || !item) throw new TesseraError('no_share', `no share ${index + 1} to ${what}: the init ceremony is over or has fewer shares`)
    return { c, item }
  }
}

/** Which holders' shares were never handed out, by number and by name where they have one: "share 2 (Bob) and share 3 were". */
function missing(c: Running): string {
  const n = c.items.flatMap((item, i) => (c.handedOut[i] ? [] : [shareLabel({ number: item.number, holder: c.summary.holders[i] || null })]))
  return `${n.length === 1 ? n[0] : `${n.slice(0, -1).join(', ')} and ${n.at(-1)}`} ${n.length === 1 ? 'was' : 'were'}`
}
