import { TesseraError } from '../support/errors'

/** A share's holder and the fingerprints of the PGP key their share is encrypted to (primary and subkeys). */
export interface HolderKey {
  label: string
  fingerprints: readonly string[]
}

/**
 * The first key of `added` that shares a fingerprint, primary or subkey, with a
 * key held already or added before it: whoever holds that private key holds
 * both shares. Sharing among `held` alone (confirmed when it was made) is not looked for.
 */
export function sharedKey(
  held: readonly HolderKey[],
  added: readonly HolderKey[],
): { first: HolderKey; second: HolderKey; fingerprint: string } | undefined {
  const owner = new Map<string, HolderKey>()
  const own = (key: HolderKey) => {
    for (const fingerprint of key.fingerprints) if (!owner.has(fingerprint)) owner.set(fingerprint, key)
  }
  held.forEach(own)
  for (const key of added) {
    for (const fingerprint of key.fingerprints) {
      const first = owner.get(fingerprint)
      if (first) return { first, second: key, fingerprint }
    }
    own(key)
  }
  return undefined
}

/**
 * One key, one holder: a key given for two holders lets one person hold shares
 * toward the threshold alone. Refused unless the operator confirmed that one
 * person holds several shares (`allowShared`); returns whether a key is shared,
 * which the ceremony record then says.
 */
export function checkOneKeyOneHolder(
  held: readonly HolderKey[],
  added: readonly HolderKey[],
  allowShared: boolean,
  howToAllow = 'confirm that one person holds several shares',
): boolean {
  const found = sharedKey(held, added)
  if (found && !allowShared) {
    throw new TesseraError(
      'shared_pgp_key',
      `${found.second.label} and ${found.first.label} have the same PGP key (fingerprint ${asGpgShows(found.fingerprint)}): ` +
        `one person would hold both shares; give each holder their own key, or ${howToAllow}`,
    )
  }
  return found !== undefined
}

/** A fingerprint as gpg shows it: upper case, in groups of four (which also lets a narrow error box wrap it). */
function asGpgShows(fingerprint: string): string {
  return fingerprint.toUpperCase().match(/.{1,4}/g)!.join(' ')
}
