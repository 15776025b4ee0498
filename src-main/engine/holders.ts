import * as v from 'valibot'
import { holderNameProblem, MAX_HOLDER_CHARS } from '../../src-shared/holder-name'
import { looksLikeSecret } from '../support/secret-shape'
import { TesseraError } from '../support/errors'
import { shareLabel } from '../../src-shared/share-grammar'

/**
 * A holder's name: the form the renderer checks too (src-shared/holder-name),
 * and not shaped like a secret (a share typed in groups of four passes the
 * characters). The one rule for every entry that takes a name: `--holders`,
 * the IPC channels and the web host, and the record.
 */
export const HolderName = v.pipe(
  v.string(),
  v.check((name) => holderNameProblem(name) === null, (issue) => holderNameProblem(issue.input) ?? ''),
  // A name past the bound is refused above; the scan is not run on it.
  v.check((name) => name.length > MAX_HOLDER_CHARS || !looksLikeSecret(name), 'looks like a share, token, OTP or key, not a name'),
)

/**
 * Whether `holder`, entering the share `known`, claims another named holder's
 * share: a name the shares do not know ("Carol S.") is a spelling, not a claim.
 */
export function claimsAnother(known: { holder: string | null }, holder: string | undefined, shares: ReadonlyArray<{ holder: string | null }>): boolean {
  const claimed = holder?.trim().toLowerCase()
  return !!claimed && !!known.holder && known.holder.toLowerCase() !== claimed && shares.some((s) => s.holder?.toLowerCase() === claimed)
}

/** A holder who enters another named holder's share is refused, so that the record of who gave which share stays true. */
export function assertOwnShare(known: { number: number | null; holder: string | null }, holder: string | undefined, shares: ReadonlyArray<{ holder: string | null }>): void {
  if (claimsAnother(known, holder, shares)) {
    throw new TesseraError('share_other_holder', `this is ${shareLabel(known)}, not ${holder}'s: each holder enters their own share`)
  }
}
