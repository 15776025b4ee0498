import type { SealStatus } from '../backend'
import type { CheckFileSettlement } from '../backend-interface'
import { assertOwnShare } from '../engine/holders'
import type { ShareCheckResult, ShareList } from '../engine/views'
import { dropPending, identifyServerShare, listServerShares, promotePending, readServerChecks, writeServerChecks, type RecognizedServerShare, type ServerChecks } from '../profiles/server-checks'
import { TesseraError } from '../support/errors'
import { forOperator } from '../support/plain-errors'
import type { ShareChecksView } from './views'

const UNCHECKED = 'No server check file: Tessera did not initialize this server, so its shares are checked by the server alone, when the threshold is reached, as Vault does.'

/** What proved which generation is in effect, in words for the screen. */
type Proof = 'counts' | 'unseal' | 'attempt'
const PROOF_WORDS: Record<Proof, (generation: number) => string> = {
  counts: (g) => `the server's share count and threshold are generation ${g}'s`,
  unseal: (g) => `a share of generation ${g} unsealed the server`,
  attempt: (g) => `an attempt completed with a share of generation ${g}`,
}

/**
 * A server's shares as its check file knows them: each share is checked as it
 * is entered, before it is sent, and "Check shares" works as for a keyset.
 * Without a usable file the server's own behaviour stays, and the page says why.
 */
export class ServerShareChecks {
  /** What the last settlement of a pending generation did, for the screen; empty when none since the file was last written. */
  private settledNote = ''

  private constructor(
    private checks: ServerChecks | null,
    private note: string,
    private readonly path: () => string,
    private readonly rekeyIdle: () => Promise<boolean>,
  ) {}

  /**
   * The profile's check file, if it has one for the server it reaches now
   * (`origin`, and its seal status `seal`); a damaged one, or one whose counts
   * are no longer the server's (a rekey run elsewhere), is said, never used.
   */
  static async load(path: () => string, origin: string, seal: Pick<SealStatus, 'initialized' | 't' | 'n'>, rekeyIdle: () => Promise<boolean>): Promise<ServerShareChecks> {
    const book = (checks: ServerChecks | null, note: string) => new ServerShareChecks(checks, note, path, rekeyIdle)
    let checks: ServerChecks | null
    try {
      checks = await readServerChecks(path())
    } catch (err) {
      return book(null, `${forOperator(err).message} Until then, shares are not checked as they are entered.`)
    }
    if (!checks) return book(null, UNCHECKED)
    if (checks.server !== origin) {
      return book(null, `Shares are not checked as entered: the server check file is for ${checks.server}, and this profile now reaches ${origin}.`)
    }
    if (seal.initialized && fitting(checks, seal).length === 0) {
      return book(
        null,
        `Shares are not checked as entered: the server now has ${seal.n} shares, threshold ${seal.t}, and its check file records ${checks.secret_shares}, threshold ${checks.secret_threshold} (a rekey run outside Tessera?).`,
      )
    }
    return book(checks, '')
  }

  /** Settles a pending generation where the server's counts are those of only one of the two generations. */
  async settleByCounts(seal: Pick<SealStatus, 'initialized' | 't' | 'n'>): Promise<void> {
    const fits = this.checks?.pending && seal.initialized ? fitting(this.checks, seal) : []
    if (fits.length === 1) await this.settle(fits[0]!, 'counts')
  }

  /**
   * The server proved generation `inEffect` is its own (`proof` says how):
   * a pending generation is settled. Made current when it is the one proven:
   * the server applied its rekey. Dropped when the current one is, and only
   * if the server also runs no rekey now: one still waiting for its
   * verification (another Tessera's, the vault CLI's) could yet apply it.
   * Otherwise, or where the file cannot be written, both stay recognized.
   */
  async settle(inEffect: number, proof: Proof): Promise<CheckFileSettlement | null> {
    const c = this.checks
    const p = c?.pending
    if (!c || !p || (inEffect !== p.generation && inEffect !== c.generation)) return null
    const made = inEffect === p.generation
    if (!made && !(await this.rekeyIdle())) return null
    // A rekey of this Tessera may have written the file meanwhile: its file wins.
    if (this.checks !== c) return null
    const next = made ? promotePending(c, p.created_at) : dropPending(c)
    try {
      await writeServerChecks(this.path(), next)
    } catch {
      return null
    }
    this.checks = next
    this.settledNote = made
      ? ` The rekey of ${p.created_at}, not seen to finish, took effect (${PROOF_WORDS[proof](inEffect)}): generation ${c.generation} is kept as replaced.`
      : ` The rekey of ${p.created_at}, not seen to finish, did not take effect (${PROOF_WORDS[proof](inEffect)}, and it runs no rekey): its shares were dropped.`
    return { generation: inEffect, pending: made ? 'made_current' : 'dropped' }
  }

  /** The check file as it is now on disk: just written by the server's init or a rekey. */
  use(checks: ServerChecks): void {
    this.checks = checks
    this.note = ''
    this.settledNote = ''
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
    if (!c.pending) return { checked: true, note: `Each share is checked as it is entered, against the server check file of generation ${c.generation}.${this.settledNote}` }
    return {
      checked: true,
      note:
        `Each share is checked as it is entered, against the server check file: generation ${c.generation}, and generation ${c.pending.generation} ` +
        `made by the rekey of ${c.pending.created_at}, which was not seen to finish. A share of either is recognized and named by its generation; ` +
        'the server takes only the shares of the one in effect.',
    }
  }

  /** Which share `typed` is, and of which generation, proven by its check value, or the refusal; `holder` may not enter another named holder's share. Null without a check file. */
  recognize(typed: Uint8Array, holder?: string): Promise<(RecognizedServerShare & { generation: number }) | null> {
    return this.identify(typed, holder, 'any')
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

/** The generations of `checks` (current, pending) whose counts are the server's now. */
function fitting(checks: ServerChecks, seal: Pick<SealStatus, 't' | 'n'>): number[] {
  // A pending generation's counts are the server's once that rekey completed, seen or not.
  const gens = [checks, ...(checks.pending ? [checks.pending] : [])]
  return gens.filter((g) => seal.t === g.secret_threshold && seal.n === g.secret_shares).map((g) => g.generation)
}
