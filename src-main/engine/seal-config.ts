/**
 * Vault's SealConfig.Validate for a Shamir seal, in its order and words: what
 * sys/init and sys/rekey/init refuse (the caller adds its own prefix, such as
 * "invalid rekey seal configuration: "). Null when the configuration is valid.
 */
export function sealConfigProblem(shares: number, threshold: number, pgpKeys: number): string | null {
  if (shares < 1) return 'shares must be at least one'
  if (threshold < 1) return 'threshold must be at least one'
  if (shares > 1 && threshold < 2) return 'threshold must be greater than one for multiple shares'
  if (shares > 255) return 'shares must be less than 256'
  if (threshold > 255) return 'threshold must be less than 256'
  if (threshold > shares) return 'threshold cannot be larger than shares'
  if (pgpKeys > 0 && pgpKeys !== shares) return 'count mismatch between number of provided PGP keys and number of shares'
  return null
}
