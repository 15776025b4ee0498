import type { SealStatus } from '../backend'
import { assertOwnShare } from '../engine/holders'
import type { ShareCheckResult, ShareList } from '../engine/views'
import { listServerShares, readServerChecks, recognizeServerShare, type RecognizedServerShare, type ServerChecks } from '../profiles/server-checks'
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
    if (seal.initialized && (seal.t !== checks.secret_threshold || seal.n !== checks.secret_shares)) {
      return new ServerShareChecks(
        null,
        `Shares are not checked as entered: the server now has ${seal.n} shares, threshold ${seal.t}, and its check file records ${checks.secret_shares}, threshold ${checks.secret_threshold} (a rekey run outside Tessera?).`,
      )
    }
    return new ServerShareChecks(checks, '')
  }

  /** The check file the server's init just wrote. */
  use(checks: ServerChecks): void {
    this.checks = checks
    this.note = ''
  }

  get view(): ShareChecksView {
    const c = this.checks
    return c ? { checked: true, note: `Each share is checked as it is entered, against the server check file of generation ${c.generation}.` } : { checked: false, note: this.note }
  }

  /** Which share `typed` is, proven by its check value, or the refusal; `holder` may not enter another named holder's share. Null without a check file. */
  async recognize(typed: Uint8Array, holder?: string): Promise<RecognizedServerShare | null> {
    if (!this.checks) return null
    const known = await recognizeServerShare(this.checks, typed)
    assertOwnShare(known, holder, this.checks.shares)
    return known
  }

  list(): ShareList | null {
    return this.checks && { canCheck: true, shares: listServerShares(this.checks) }
  }

  /** One share checked with no ceremony: which it is, or why it is not one of the server's. */
  async check(typed: Buffer): Promise<ShareCheckResult> {
    if (!this.checks) throw new TesseraError('no_keyset', `checking shares needs a local keyset or a server check file: ${this.note}`)
    try {
      return { ...(await recognizeServerShare(this.checks, typed)), valid: true }
    } catch (err) {
      if (!(err instanceof TesseraError) || err.status !== 400) throw err
      return { number: null, holder: null, valid: false, code: err.code, reason: err.message }
    }
  }
}
