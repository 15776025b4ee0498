import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { wipe } from '../crypto/wipe'
import type { Scheme } from './schemes'

/** The root key the shares combine into. */
export const ROOT_KEY_BYTES = 32

/** The keyset's header: what the keyring's authentication covers besides itself. */
export interface KeyringHeader {
  scheme: Scheme
  secret_shares: number
  secret_threshold: number
}

/** The keyring as the file stores it: AES-256-GCM under a key derived from the root key. */
export interface SealedKeyring {
  cipher: 'aes-256-gcm'
  iv: string
  tag: string
  ciphertext: string
}

function keyringKey(rootKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', rootKey, Buffer.alloc(0), 'tessera keyring v1', 32))
}

/**
 * The header fields are authenticated with the keyring, so editing them breaks
 * verification. The leading 1 is the keyring's own format, unchanged since file format 1.
 */
function keyringAad(header: KeyringHeader): Buffer {
  return Buffer.from(JSON.stringify([1, header.scheme, header.secret_shares, header.secret_threshold]))
}

/**
 * A fresh random keyring sealed under `rootKey`. Vault persists its keyring the
 * same way; here it is what tells the right set of shares from a wrong one.
 */
export function sealKeyring(rootKey: Uint8Array, header: KeyringHeader): SealedKeyring {
  const keyring = randomBytes(32)
  try {
    return sealUnder(rootKey, header, keyring)
  } finally {
    wipe(keyring)
  }
}

function sealUnder(rootKey: Uint8Array, header: KeyringHeader, keyring: Uint8Array): SealedKeyring {
  const key = keyringKey(rootKey)
  try {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    cipher.setAAD(keyringAad(header))
    const ciphertext = Buffer.concat([cipher.update(keyring), cipher.final()])
    return { cipher: 'aes-256-gcm', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ciphertext: ciphertext.toString('base64') }
  } finally {
    wipe(key)
  }
}

/** The keyring's plaintext, or null when `combined` is not the root key it was sealed under. The caller wipes it. */
function openKeyring(combined: Uint8Array, sealed: SealedKeyring, header: KeyringHeader): Buffer | null {
  if (combined.length !== ROOT_KEY_BYTES) return null
  const key = keyringKey(combined)
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'))
    decipher.setAAD(keyringAad(header))
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'))
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()])
  } catch {
    return null
  } finally {
    wipe(key)
  }
}

/**
 * The same keyring sealed under a new root key and header, as Vault's rekey
 * re-encrypts its keyring: what it protects (tokens, data) is untouched.
 * Null when `oldRoot` does not open `sealed`.
 */
export function resealKeyring(oldRoot: Uint8Array, sealed: SealedKeyring, oldHeader: KeyringHeader, newRoot: Uint8Array, newHeader: KeyringHeader): SealedKeyring | null {
  const keyring = openKeyring(oldRoot, sealed, oldHeader)
  if (!keyring) return null
  try {
    return sealUnder(newRoot, newHeader, keyring)
  } finally {
    wipe(keyring)
  }
}

/** True when `combined` is the root key `sealed` was sealed under: the keyring decrypts and authenticates. */
export function opensKeyring(combined: Uint8Array, sealed: SealedKeyring, header: KeyringHeader): boolean {
  const keyring = openKeyring(combined, sealed, header)
  wipe(keyring)
  return keyring !== null
}

/** Whether two files hold the same keyring, that is the same keyset. */
export function sameKeyring(a: SealedKeyring, b: SealedKeyring): boolean {
  return a.ciphertext === b.ciphertext && a.iv === b.iv && a.tag === b.tag
}
