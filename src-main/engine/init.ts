import { constants } from 'node:fs'
import { access, lstat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { encryptTo, type PublicKeyInfo } from '../crypto/pgp'
import { wipe } from '../crypto/wipe'
import { systemReason, TesseraError } from '../support/errors'
import { withFileLock } from '../support/files'
import { checkOneKeyOneHolder, type HolderKey } from './holder-keys'
import { checkHolders, checkShareConfig, Keyset } from './keyset'
import { shareLabel } from '../../src-shared/share-grammar'
import type { ShareCodec } from './share-codec'
import type { Scheme } from './schemes'
import { newToken, ROOT_TOKEN_PREFIX } from './tokens'

export interface InitRequest {
  path: string
  shares: number
  threshold: number
  scheme: Scheme
  /** One name per share, in share order. */
  holders?: readonly string[]
  /** One public key per share, in share order: each share is then encrypted to its holder. */
  recipients?: readonly PublicKeyInfo[]
  /** The operator confirmed that one person holds several shares: one key may then be given for several holders. */
  allowSharedKey?: boolean
}

/** Each share's holder and key, as the one-key-one-holder rule reads them. */
export function recipientKeys(recipients: readonly PublicKeyInfo[], holders?: readonly string[]): HolderKey[] {
  return recipients.map((r, i) => ({ label: shareLabel({ number: i + 1, holder: holders?.[i] ?? null }), fingerprints: r.keyFingerprints }))
}

/** One share as its holder receives it. Its buffers are wiped once the hand-out returns. */
export interface HandedShare {
  number: number
  holder: string | null
  encrypted: boolean
  /** What the holder types (the share's hex or secrets.js string), or the binary PGP message. */
  text(): Buffer
  /** sys/init's two spellings: `keys` and `keys_base64` (of the PGP message when encrypted). */
  forms(): { key: string; key_base64: string }
}

/**
 * sys/init, in the one order that is safe: split the new root key, encrypt
 * each share to its holder, hand the shares out, and only then put the keyset
 * file in place. If the hand-out fails (an unwritable output, a closed
 * window), no keyset exists whose shares nobody received. The path is reserved
 * under its lock for the whole time, so two inits cannot race for it.
 */
export async function initKeyset<T>(
  req: InitRequest,
  /** `keyset` is the new keyset, not yet written: what its ceremony record names. */
  handOut: (shares: HandedShare[], rootToken: Buffer, keyset: Keyset) => Promise<T>,
): Promise<{ keyset: Keyset; handedOut: T }> {
  checkShareConfig(req.shares, req.threshold)
  if (req.holders) checkHolders(req.holders, req.shares)
  const recipients = req.recipients ?? []
  if (recipients.length > 0 && recipients.length !== req.shares) {
    throw new TesseraError('keyset', `${recipients.length} PGP keys for ${req.shares} shares: give one key per share`)
  }
  checkOneKeyOneHolder([], recipientKeys(recipients, req.holders), req.allowSharedKey === true)
  await assertCreatable(req.path)
  return withFileLock(req.path, async (_target, lock) => {
    await assertCreatable(req.path)
    const rootToken = newToken(ROOT_TOKEN_PREFIX)
    const messages: Buffer[] = []
    let prepared: Awaited<ReturnType<typeof Keyset.prepare>> | undefined
    try {
      prepared = await Keyset.prepare(req.path, { ...req, rootToken, holderKeys: recipients.map((r) => r.keyFingerprints) })
      const codec = prepared.keyset.codec
      const handed: HandedShare[] = []
      for (const [i, s] of prepared.shares.entries()) {
        const recipient = recipients[i]
        if (recipient) {
          // As Vault's sys/init: the share's text is what gets encrypted.
          const text = codec.text(s.share)
          const message = Buffer.from(await encryptTo(recipient.key, text))
          wipe(text)
          messages.push(message)
          handed.push(encryptedShare(s.number, s.holder, message))
        } else {
          handed.push(clearShare(s.number, s.holder, s.share, codec))
        }
      }
      const handedOut = await handOut(handed, rootToken, prepared.keyset)
      await prepared.write(lock)
      return { keyset: prepared.keyset, handedOut }
    } finally {
      wipe(rootToken, ...messages, ...(prepared?.shares.map((s) => s.share) ?? []))
    }
  })
}

function clearShare(number: number, holder: string | null, share: Buffer, codec: ShareCodec): HandedShare {
  return { number, holder, encrypted: false, text: () => codec.text(share), forms: () => codec.forms(share) }
}

function encryptedShare(number: number, holder: string | null, message: Buffer): HandedShare {
  return {
    number,
    holder,
    encrypted: true,
    text: () => Buffer.from(message),
    forms: () => ({ key: message.toString('hex'), key_base64: message.toString('base64') }),
  }
}

/** The path must name nothing yet, not even a dangling symlink, in a directory Tessera can write. */
async function assertCreatable(path: string): Promise<void> {
  const taken = await lstat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false
      throw createError(path, err)
    },
  )
  if (taken) throw new TesseraError('keyset_exists', `${path} already exists; Tessera never overwrites a keyset`)
  try {
    await access(dirname(path), constants.W_OK)
  } catch (err) {
    throw createError(path, err)
  }
}

function createError(path: string, err: unknown): TesseraError {
  return new TesseraError('keyset_write', `could not write the keyset ${path}: ${systemReason(err)}`)
}
