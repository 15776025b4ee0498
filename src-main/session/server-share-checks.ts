import type { SealStatus } from '../backend'
import { assertOwnShare } from '../engine/holders'
import type { ShareCheckResult, ShareList } from '../engine/views'
import { identifyServerShare, listServerShares, readServerChecks, type RecognizedServerShare, type ServerChecks } from '../profiles/server-checks'
import { TesseraError } from '../support/errors'
import { forOperator } from '../support/plain-errors'
import type { ShareChecksView } from './views'

const UNCHECKED = 'No server check file: Tessera did not initialize this server, so its shares are checked by the server alone, when the threshold is reached, as Vault does.'

/**
 * A server's shares as its check file knows them: each share is checked as it
 * is entered, before it is sent, and "Check shares" works as for a keyset.
 * Without a usable file the server's own behaviour stays, and the page says why.
 */
export class ServerShareChecks {
  private constructor(
    private checks: ServerChecks | null,
    private note: string,
  ) {}

  /**
   * The profile's check file, if it has one for the server it reaches now
   * (`origin`, and its seal status `seal`); a damaged one, or one whose counts
   * are no longer the server's (a rekey run elsewhere), is said, never used.
   */
  static async load(path: () => string, origin: string, seal: Pick<SealStatus, 'initialized' | 't' | 'n'>): Promise<ServerShareChecks> {
    let checks: ServerChecks | null
    try {
      checks = await readServerChecks(path())
    } catch (err) {
      return new ServerShareChecks(null, `${forOperator(err).message} Until then, shares are not checked as they are entered.`)
    }
    if (!checks) return new ServerShareChecks(null, UNCHECKED)
    if (checks.server !== origin) {
      return new ServerShareChecks(null, `Shares are not checked as entered: the server check file is for ${checks.server}, and this profile now reaches ${origin}.`)
    }
    // A pending generation's counts are the server's once that rekey completed, seen or not.
    const counts = [checks, ...(checks.pending ? [checks.pending] : [])]
    if (seal.initialized && !counts.some((c) => seal.t === c.secret_threshold && seal.n === c.secret_shares)) {
      return new ServerShareChecks(
        null,
        `Shares are not checked as entered: the server now has ${seal.n} shares, threshold ${seal.t}, and its check file records ${checks.secret_shares}, threshold ${checks.secret_threshold} (a rekey run outside Tessera?).`,
      )
    }
    return new ServerShareChecks(checks, '')
  }

  /** The check file as it is now on disk: just written by the server's init or a rekey. */
  use(checks: ServerChecks): void {
    this.checks = checks
    this.note = ''
  }

  /** The check file was moved aside (`note` says where and why): shares are no longer checked. */
  retire(note: string): void {
    this.checks = null
    this.note = note
  }

  /** The check file in use; null when there is none, or it cannot be used. */
  get file(): ServerChecks | null {
    return this.checks
  }

  get view(): ShareChecksView {
    const c = this.checks
    if (!c) return { checked: false, note: this.note }
    if (!c.pending) return { checked: true, note: `Each share is checked as it is entered, against the server check file of generation ${c.generation}.` }
    return {
      checked: true,
      note:
        `Each share is checked as it is entered, against the server check file: generation ${c.generation}, and generation ${c.pending.generation} ` +
        `made by the rekey of ${c.pending.created_at}, which was not seen to finish. A share of either is recognized and named by its generation; ` +
        'the server takes only the shares of the one in effect.',
    }
  }

  /** Which share `typed` is, proven by its check value, or the refusal; `holder` may not enter another named holder's share. Null without a check file. */
  async recognize(typed: Uint8Array, holder?: string): Promise<RecognizedServerShare | null> {
    const known = await this.identify(typed, holder, 'any')
    return known && { number: known.number, holder: known.holder }
  }

  /** As `recognize`, with the generation the share is of; `which` as identifyServerShare's. */
  async identify(typed: Uint8Array, holder: string | undefined, which: 'current' | 'any' | 'pending'): Promise<(RecognizedServerShare & { generation: number }) | null> {
    const c = this.checks
    if (!c) return null
    const known = await identifyServerShare(c, typed, which)
    assertOwnShare(known, holder, known.generation === c.generation ? c.shares : (c.pending?.shares ?? []))
    return known
  }

  list(): ShareList | null {
    return this.checks && { canCheck: true, shares: listServerShares(this.checks) }
  }

  /** One share checked with no ceremony: which it is, or why it is not one of the server's. */
  async check(typed: Buffer): Promise<ShareCheckResult> {
    if (!this.checks) throw new TesseraError('no_keyset', `checking shares needs a local keyset or a server check file: ${this.note}`)
    try {
      const { number, holder, generation } = await identifyServerShare(this.checks, typed, 'any')
      const later = generation === this.checks.generation ? {} : { reason: `a share of generation ${generation}, made by a rekey that was not seen to finish` }
      return { number, holder, valid: true, ...later }
    } catch (err) {
      if (!(err instanceof TesseraError) || err.status !== 400) throw err
      return { number: null, holder: null, valid: false, code: err.code, reason: err.message }
    }
  }
}
