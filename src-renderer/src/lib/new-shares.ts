import { holderNamesProblems } from '../../../src-shared/holder-name'

/** Every problem of a new share count and threshold at once, in sentences; none when both are within Vault's limits. */
export function countProblems(shares: number, threshold: number): string[] {
  const wholeShares = Number.isInteger(shares) && shares >= 1 && shares <= 255
  const wholeThreshold = Number.isInteger(threshold) && threshold >= 1
  return [
    wholeShares ? '' : 'Shares must be from 1 to 255.',
    wholeThreshold ? '' : 'The threshold must be at least 1.',
    wholeShares && wholeThreshold && threshold > shares ? 'The threshold cannot exceed the number of shares.' : '',
    wholeShares && wholeThreshold && shares > 1 && threshold === 1 ? 'With more than one share, the threshold must be at least 2.' : '',
  ].filter(Boolean)
}

/** One entry per new share (its count bounded to Vault's): the holder's name as typed, trimmed; '' where none is. */
export function holderList(shares: number, names: readonly (string | undefined)[]): string[] {
  const count = Number.isInteger(shares) ? Math.min(Math.max(shares, 0), 255) : 0
  return Array.from({ length: count }, (_, i) => (names[i] ?? '').trim())
}

/**
 * Per holder name, its problem in a sentence ("Holder name 2 …") or null.
 * Names are all given or none: once one is, an empty one is a problem.
 */
export function holderProblems(holders: readonly string[]): Array<string | null> {
  return holders.some((h) => h !== '') ? holderNamesProblems(holders).map((p, i) => (p ? `Holder name ${i + 1} ${p}.` : null)) : holders.map(() => null)
}
