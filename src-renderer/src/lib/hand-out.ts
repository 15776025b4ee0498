import type { DecodedValue, NewShare, RevealedShare, ShareCard, TesseraApi } from '../../../src-main/ipc/channels'
import type { Place } from './places'

/** What the hand-out needs of the ceremony: its error places and who has their share. */
export interface HandOutHost {
  run<T>(task: () => Promise<T>, place: Place): Promise<T | undefined>
  shareHandedOut(index: number): void
  newShareHandedOut(): void
  handOutFinished(): void
}

/**
 * Handing shares to their holders: a new keyset's (by index) and the share
 * flow's new share. Main records each hand-out before the share leaves it; a
 * refusal shows where the hand-out is ('handout', or 'result' for the new share).
 * An encrypted share counts as handed out once the page saved its file.
 */
export class HandOut {
  constructor(
    private readonly api: TesseraApi,
    private readonly c: HandOutHost,
  ) {}

  /** One holder's share, shown on screen: handed out. */
  async revealShare(index: number): Promise<RevealedShare | undefined> {
    const shown = await this.c.run(() => this.api.handout.revealShare({ index }), 'handout')
    if (shown) this.c.shareHandedOut(index)
    return shown
  }

  async shareCard(index: number): Promise<ShareCard | undefined> {
    const card = await this.c.run(() => this.api.handout.shareCard({ index }), 'handout')
    if (card) this.c.shareHandedOut(index)
    return card
  }

  /** The desktop app prints through main; a browser's print dialog closed. True once the record says printed. */
  async cardPrinted(index: number, throughMain: boolean): Promise<boolean> {
    const done = await this.c.run(() => (throughMain ? this.api.handout.printCard({ index }) : this.api.handout.cardPrinted({ index }).then(() => ({ printed: true }))), 'handout')
    return done?.printed ?? false
  }

  /** Hands the encrypted share to `save` (the browser's download), then tells main it is saved. */
  async saveShare(index: number, save: (share: RevealedShare) => void): Promise<void> {
    const share = await this.c.run(() => this.api.handout.revealShare({ index }), 'handout')
    if (!share) return
    save(share)
    // The download was handed to the browser: as far as a page can tell, the file is saved.
    if (await this.c.run(() => this.api.handout.shareSaved({ index }), 'handout')) this.c.shareHandedOut(index)
  }

  async revealRootToken(): Promise<DecodedValue | undefined> {
    return this.c.run(() => this.api.handout.revealRootToken(), 'handout')
  }

  /** Ends the hand-out; `abandon`: the operator confirmed that shares nobody has are lost. False when main refused. */
  async finish(abandon: boolean): Promise<boolean> {
    const done = await this.c.run(() => this.api.handout.finish(abandon ? { abandon: true } : {}), 'handout')
    if (done) this.c.handOutFinished()
    return done !== undefined
  }

  /** The share flow's new share in the clear, shown on screen: handed out. */
  async revealNewShare(): Promise<NewShare | undefined> {
    const shown = await this.c.run(() => this.api.result.revealShare(), 'result')
    if (shown && !shown.encrypted) this.c.newShareHandedOut()
    return shown
  }

  async newShareCard(): Promise<ShareCard | undefined> {
    const card = await this.c.run(() => this.api.result.shareCard(), 'result')
    if (card) this.c.newShareHandedOut()
    return card
  }

  async newShareCardPrinted(): Promise<boolean> {
    const done = await this.c.run(() => this.api.result.cardPrinted(), 'result')
    if (done) this.c.newShareHandedOut()
    return done !== undefined
  }

  /** Hands the encrypted new share to `save`, then tells main it is saved: only then is it handed out. */
  async saveNewShare(save: (share: NewShare) => void): Promise<void> {
    const file = await this.c.run(() => this.api.result.revealShare(), 'result')
    if (!file) return
    save(file)
    if (await this.c.run(() => this.api.result.shareSaved(), 'result')) this.c.newShareHandedOut()
  }
}
