import { createRequire } from 'node:module'
import type * as OpenPGP from 'openpgp'
import { TesseraError } from '../support/errors'
import { decodeBase64Text } from './base64'

/** How a key reached us: operators hand keys over in all three (vault#941, #29997). */
export type KeyFormat = 'armored' | 'binary' | 'base64'

export interface PublicKeyInfo {
  key: OpenPGP.Key
  format: KeyFormat
  /** Lowercase hex fingerprint of the primary key, as Vault reports it. */
  fingerprint: string
  /** The primary key's fingerprint and every subkey's: one person's key, however it was exported. */
  keyFingerprints: string[]
  userIds: string[]
}

/** A key or message refused, in words that name which and why. */
const pgpError = (message: string) => new TesseraError('pgp', message)

/**
 * openpgp, loaded on first use: a command or a server start that needs no PGP
 * does not pay for it, and its CommonJS entry is the package's minified build,
 * which parses faster than the ESM one — a large part of a `tessera decode`.
 */
let library: typeof OpenPGP | undefined
function openpgp(): typeof OpenPGP {
  return (library ??= createRequire(import.meta.url)('openpgp') as typeof OpenPGP)
}

/** The most read from a key file: an armored key with a long chain of signatures is tens of KB. */
export const KEY_LIMIT = { bytes: 1024 * 1024, what: 'an OpenPGP key' }

const ARMOR_HEADER = /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----/

/**
 * Results are a token or a share: a few dozen bytes. Anything that decompresses
 * beyond this is not a Vault result, and decompression stops there (a 1.7 KB
 * message can otherwise expand to gigabytes).
 */
export const MAX_DECOMPRESSED_BYTES = 64 * 1024
const LIMITS = { maxDecompressedMessageSize: MAX_DECOMPRESSED_BYTES }

/** openpgp's reason, on one line and bounded; it names problems, not content, but a line is all we keep. */
function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  const line = text.split('\n', 1)[0]!
  return line.length > 160 ? `${line.slice(0, 159)}…` : line
}

/** Splits raw input into the bytes or text openpgp reads, and names the format found. */
function classify(input: Uint8Array | string): { format: KeyFormat; armored?: string; binary?: Uint8Array } {
  const raw = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input)
  // A UTF-8 byte-order mark (Windows editors write one) is not part of the key.
  const bytes = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? raw.subarray(3) : raw
  const text = bytes.toString('latin1')
  if (ARMOR_HEADER.test(text)) return { format: 'armored', armored: text }
  // A binary OpenPGP packet starts with a tag byte whose high bit is set; base64
  // text never has that bit set, so the first byte tells the two apart.
  if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) return { format: 'binary', binary: bytes }
  // Linear: the former regex, with \s inside and after its class, took 16 s on 150 KB of spaces.
  const binary = decodeBase64Text(text)
  if (binary) return { format: 'base64', binary }
  throw pgpError('not an OpenPGP key: expected an armored key, a binary key, or base64 of a binary key')
}

async function readAnyKey(input: Uint8Array | string): Promise<{ key: OpenPGP.Key; format: KeyFormat }> {
  const found = classify(input)
  try {
    const key = found.armored
      ? await openpgp().readKey({ armoredKey: found.armored })
      : await openpgp().readKey({ binaryKey: found.binary! })
    return { key, format: found.format }
  } catch (err) {
    throw pgpError(`could not read the ${found.format} OpenPGP key: ${reason(err)}`)
  }
}

/** A holder's key has a few subkeys; a keyset records every fingerprint of each holder's key, so their number is bounded. */
export const MAX_SUBKEYS = 32

/** Reads a public key for encryption and checks that it can encrypt. */
export async function readPublicKey(input: Uint8Array | string): Promise<PublicKeyInfo> {
  const { key, format } = await readAnyKey(input)
  if (key.isPrivate()) {
    throw pgpError('this is a private key; give the public key (gpg --export), never the private one')
  }
  try {
    await key.getEncryptionKey()
  } catch (err) {
    // Typically a key made for signing only: say how its owner adds what is missing.
    const fpr = key.getFingerprint()
    throw pgpError(
      `key ${fpr} cannot encrypt (${reason(err)}): its owner adds an encryption subkey with ` +
        `gpg --quick-add-key ${fpr.toUpperCase()} cv25519 encr, then exports the public key again`,
    )
  }
  if (key.getSubkeys().length > MAX_SUBKEYS) {
    throw pgpError(`key ${key.getFingerprint()} has ${key.getSubkeys().length} subkeys; Tessera takes keys with at most ${MAX_SUBKEYS}`)
  }
  const keyFingerprints = key.getKeys().map((k) => k.getFingerprint().toLowerCase())
  return { key, format, fingerprint: keyFingerprints[0]!, keyFingerprints, userIds: key.getUserIDs() }
}

/** Encrypts bytes to one key; the binary message, as Vault returns it before base64. */
export async function encryptTo(key: OpenPGP.Key, data: Uint8Array): Promise<Uint8Array> {
  const message = await openpgp().createMessage({ binary: data })
  return openpgp().encrypt({ message, encryptionKeys: key, format: 'binary' })
}

export interface PrivateKeyInfo {
  key: OpenPGP.PrivateKey
  format: KeyFormat
  fingerprint: string
  userIds: string[]
}

/** Reads a private key and unlocks it with the passphrase when it is protected. */
export async function readPrivateKey(input: Uint8Array | string, passphrase?: string): Promise<PrivateKeyInfo> {
  const { key, format } = await readAnyKey(input)
  if (!key.isPrivate()) {
    throw pgpError(`key ${key.getFingerprint()} is a public key; decoding needs the matching private key`)
  }
  const fingerprint = key.getFingerprint().toLowerCase()
  let unlocked: OpenPGP.PrivateKey = key
  if (!key.isDecrypted()) {
    if (passphrase === undefined) {
      throw pgpError(`private key ${fingerprint} is protected by a passphrase; give the passphrase`)
    }
    try {
      unlocked = await openpgp().decryptKey({ privateKey: key, passphrase })
    } catch {
      throw pgpError(`the passphrase does not unlock private key ${fingerprint}`)
    }
  }
  return { key: unlocked, format, fingerprint, userIds: key.getUserIDs() }
}

const WILDCARD_KEY_ID = '0000000000000000'

/** Decrypts a binary OpenPGP message; the plaintext bytes belong to the caller, who wipes them. */
export async function decryptWith(key: PrivateKeyInfo, message: Uint8Array): Promise<Uint8Array> {
  let parsed: OpenPGP.Message<Uint8Array>
  try {
    parsed = await openpgp().readMessage({ binaryMessage: message, config: LIMITS })
  } catch (err) {
    throw pgpError(`the encoded value is not an OpenPGP message: ${reason(err)}`)
  }
  const recipients = parsed.getEncryptionKeyIDs().map((id) => id.toHex())
  const ours = key.key.getKeys().map((k) => k.getKeyID().toHex())
  // A hidden recipient (gpg -R, --throw-keyids) carries the wildcard id: any key may try it.
  const hidden = recipients.includes(WILDCARD_KEY_ID)
  if (!hidden && !recipients.some((id) => ours.includes(id))) {
    throw pgpError(
      `the message was encrypted to key id ${recipients.join(', ') || '(none)'}, not to private key ${key.fingerprint}`,
    )
  }
  try {
    const { data } = await openpgp().decrypt({ message: parsed, decryptionKeys: key.key, format: 'binary', config: LIMITS })
    return data as Uint8Array
  } catch (err) {
    if (/decompressed (message )?size exceeded/i.test(reason(err))) {
      throw pgpError(
        `the message expands to more than ${MAX_DECOMPRESSED_BYTES / 1024} KiB when decompressed: ` +
          'a Vault result is a token or a share, so this is not one (a compression bomb?)',
      )
    }
    if (hidden) throw pgpError(`the message hides its recipient, and private key ${key.fingerprint} cannot decrypt it`)
    throw pgpError(`decryption failed: ${reason(err)}`)
  }
}
