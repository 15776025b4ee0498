import { readPublicKey, type PublicKeyInfo } from '../crypto/pgp'
import { TesseraError } from '../support/errors'
import type { KeyInfo } from '../crypto/views'

/** A public key as the page shows it. */
export function keyInfo(k: Pick<PublicKeyInfo, 'fingerprint' | 'userIds' | 'format'>): KeyInfo {
  return { fingerprint: k.fingerprint, userIds: k.userIds, format: k.format }
}

/** Reads a public key the operator gave, to show whose it is before it is used. */
export async function inspectKey(key: string): Promise<KeyInfo> {
  return keyInfo(await readPublicKey(key))
}

/** The holders' public keys, in share order; a key that cannot be used is named by its holder's place ("key for holder 2: …"). */
export async function readHolderKeys(keys: readonly string[] | undefined): Promise<PublicKeyInfo[]> {
  const read: PublicKeyInfo[] = []
  for (const [i, key] of (keys ?? []).entries()) {
    try {
      read.push(await readPublicKey(key))
    } catch (err) {
      throw new TesseraError('invalid_pgp_key', `key for holder ${i + 1}: ${(err as Error).message}`)
    }
  }
  return read
}
