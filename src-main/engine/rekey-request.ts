import { readPublicKey, type PublicKeyInfo } from '../crypto/pgp'
import { hasCode, TesseraError } from '../support/errors'
import { checkOneKeyOneHolder } from './holder-keys'
import { recipientKeys } from './init'
import { checkHolders } from './keyset'
import { sealConfigProblem } from './seal-config'
import { LEGACY_WORDS, type RekeyWords } from './rekey-words'
import type { Verification } from '../rekey-views'

export type { Verification } from '../rekey-views'

/** sys/rekey/init's request, with Tessera's two extensions. */
export interface RekeyRequest {
  shares: number
  threshold: number
  pgpKeys: ReadonlyArray<string | Uint8Array>
  backup: boolean
  requireVerification: boolean
  /** Every new share is entered back once before the rekey takes effect (vault#8278). */
  verifyAll: boolean
  /** One holder's name per new share, in share order. */
  holders?: readonly string[]
  /** The new shares take effect only at `Rekeying.release` or the verification (the CLI writes them out first). */
  hold?: boolean
}

/** A request that passed every check, its PGP keys read. */
export interface CheckedRekey {
  shares: number
  threshold: number
  recipients: PublicKeyInfo[]
  backup: boolean
  verification: Verification
  holders?: readonly string[]
  hold?: boolean
}

/** sys/rekey/init's checks before the sealed check, in Vault's order; nothing changes. */
export async function checkRekeyRequest(req: RekeyRequest, words: RekeyWords = LEGACY_WORDS): Promise<CheckedRekey> {
  // OpenBao's sys/rotate/root checks neither: its seal configuration finds a wrong count.
  const legacy = words === LEGACY_WORDS
  if (legacy && req.backup && req.pgpKeys.length === 0) {
    throw new TesseraError('rekey_request', 'cannot request a backup of the new keys without providing PGP keys for encryption')
  }
  if (legacy && req.pgpKeys.length > 0 && req.pgpKeys.length !== req.shares) throw new TesseraError('rekey_request', 'incorrect number of PGP keys for rekey')
  // Vault answers its seal configuration's refusals with a 500; so does Tessera.
  const problem = sealConfigProblem(req.shares, req.threshold, req.pgpKeys.length)
  if (problem) throw new TesseraError('rekey_config', `${words.config}: ${problem}`)
  const recipients = await Promise.all(req.pgpKeys.map((key, i) => readRecipient(key, i, words)))
  if (req.holders) {
    try {
      checkHolders(req.holders, req.shares)
    } catch (err) {
      throw new TesseraError('rekey_request', `tessera_holders: ${(err as Error).message}`)
    }
  }
  try {
    checkOneKeyOneHolder([], recipientKeys(recipients, req.holders), false, 'give each share its own key')
  } catch (err) {
    throw hasCode(err, 'shared_pgp_key') ? new TesseraError('shared_pgp_key', err.message) : err
  }
  const verification = req.verifyAll ? 'all' : req.requireVerification ? 'threshold' : 'none'
  return { shares: req.shares, threshold: req.threshold, recipients, backup: req.backup, verification, ...(req.holders ? { holders: req.holders } : {}), ...(req.hold ? { hold: true } : {}) }
}

/** A PGP key of sys/rekey/init's `pgp_keys`: unreadable is Vault's seal-configuration 500, unable to encrypt Tessera's own 400. */
async function readRecipient(key: string | Uint8Array, i: number, words: RekeyWords): Promise<PublicKeyInfo> {
  try {
    return await readPublicKey(key)
  } catch (err) {
    const reason = hasCode(err, 'pgp') ? err.message : 'unreadable key'
    // readPublicKey words a key it read but that has no encryption subkey this way.
    if (/ cannot encrypt /.test(reason)) throw new TesseraError('rekey_request', `pgp_keys[${i}]: ${reason}`)
    throw new TesseraError('rekey_config', `${words.config}: error parsing given PGP key: pgp_keys[${i}]: ${reason}`)
  }
}
