import { EngineError } from './errors'

/** A share's holder and the fingerprints of the PGP key their share is encrypted to (primary and subkeys). */
export interface HolderKey {
  label: string
  fingerprints: readonly string[]
}

/**
 * Two holders whose keys share a fingerprint, primary or subkey: whoever holds
 * that private key holds both shares. The first such pair, or undefined.
 */
export function sharedKey(keys: readonly HolderKey[]): { first: HolderKey; second: HolderKey; fingerprint: string } | undefined {
  const owner = new Map<string, HolderKey>()
  for (const key of keys) {
    for (const fingerprint of new Set(key.fingerprints)) {
      const first = owner.get(fingerprint)
      if (first && first !== key) return { first, second: key, fingerprint }
      owner.set(fingerprint, key)
    }
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
  keys: readonly HolderKey[],
  allowShared: boolean,
  howToAllow = 'confirm that one person holds several shares',
): boolean {
  const found = sharedKey(keys)
  if (found && !allowShared) {
    throw new EngineError(
      409,
      `${found.second.label} and ${found.first.label} have the same PGP key (fingerprint ${found.fingerprint.toUpperCase()}): ` +
        `one person would hold both shares; give each holder their own key, or ${howToAllow}`,
      'shared_pgp_key',
    )
  }
  return found !== undefined
}
