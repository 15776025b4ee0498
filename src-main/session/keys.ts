import { readPublicKey, type PublicKeyInfo } from '../crypto/pgp'
import type { KeyInfo } from '../crypto/views'

/** A public key as the page shows it. */
export function keyInfo(k: Pick<PublicKeyInfo, 'fingerprint' | 'userIds' | 'format'>): KeyInfo {
  return { fingerprint: k.fingerprint, userIds: k.userIds, format: k.format }
}

/** Reads a public key the operator gave, to show whose it is before it is used. */
export async function inspectKey(key: string): Promise<KeyInfo> {
  return keyInfo(await readPublicKey(key))
}
