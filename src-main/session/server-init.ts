import { readPublicKey, type PublicKeyInfo } from '../crypto/pgp'
import { wipe } from '../crypto/wipe'
import { checkOneKeyOneHolder } from '../engine/holder-keys'
import { recipientKeys } from '../engine/init'
import { checkHolders, checkShareConfig } from '../engine/keyset-format'
import { assertChecksWritable, newServerChecks, writeServerChecks } from '../profiles/server-checks'
import { anyKeyShared, handedFacts, type ServerInitRecord } from '../record/init-record'
import { forOperator } from '../support/plain-errors'
import { hasCode, TesseraError } from '../support/errors'
import type { HeldShare, NewShares } from './hand-out'
import { keyInfo, readHolderKeys } from './keys'
import type { OpenServer } from './open-backend'
import type { Records } from './records'
import { encryptShares } from './share-encryption'

export interface ServerInitInput {
  shares: number
  threshold: number
  /** Public keys' text (armored or base64), one per share: Tessera encrypts each share to its holder. */
  pgpKeys?: string[]
  holders?: string[]
  allowSharedKey?: boolean
  /** A public key the server encrypts the root token to (Vault's root_token_pgp_key). */
  rootTokenPgpKey?: string
}

/** The request's checks, in a keyset init's words: counts, names, one key per holder. */
async function readRequest(input: ServerInitInput): Promise<{ recipients: PublicKeyInfo[]; rootKey: PublicKeyInfo | null }> {
  const { shares, threshold, holders, allowSharedKey } = input
  try {
    checkShareConfig(shares, threshold)
    if (holders) checkHolders(holders, shares)
  } catch (err) {
    if (hasCode(err, 'keyset')) throw new TesseraError('invalid_input', err.message)
    throw err
  }
  const recipients = await readHolderKeys(input.pgpKeys)
  if (recipients.length > 0 && recipients.length !== shares) {
    throw new TesseraError('invalid_input', `${recipients.length} PGP keys for ${shares} shares: give one key per share`)
  }
  checkOneKeyOneHolder([], recipientKeys(recipients, holders), allowSharedKey === true, 'tick "One person holds several of these shares"')
  let rootKey: PublicKeyInfo | null = null
  if (input.rootTokenPgpKey) {
    try {
      rootKey = await readPublicKey(input.rootTokenPgpKey)
    } catch (err) {
      throw new TesseraError('invalid_pgp_key', `the root token's key: ${(err as Error).message}`)
    }
  }
  return { recipients, rootKey }
}

/**
 * Each share as its holder gets it: its hex text (what Vault's `keys` holds),
 * or, with keys, a PGP message of that text, as Vault's sys/init makes it
 * with pgp_keys.
 */
async function heldShares(keys: readonly Buffer[], recipients: readonly PublicKeyInfo[]): Promise<HeldShare[]> {
  const texts = keys.map((key) => Buffer.from(key.toString('hex'), 'ascii'))
  try {
    if (!recipients.length) {
      return texts.map((text, i) => ({ bytes: Buffer.from(text), base64: Buffer.from(keys[i]!.toString('base64'), 'ascii'), encrypted: false, number: i + 1 }))
    }
    const messages = await encryptShares(texts, recipients)
    return messages.map((bytes, i) => ({ bytes, base64: Buffer.from(bytes.toString('base64'), 'ascii'), encrypted: true, number: i + 1 }))
  } finally {
    wipe(...texts)
  }
}

/**
 * Initializes the server behind the open profile (PUT sys/init) and returns
 * its shares to hand out. Tessera asks for the shares in the clear, so that it
 * can write each one's check value to the server check file before any share
 * is shown, then encrypts each to its holder's key itself. What could stop the
 * hand-out is checked before the server is touched (the request, the check
 * file's directory, the record); once the server made the shares, nothing
 * drops them: a check file or record that fails then is said on the hand-out.
 */
export async function initServer(records: Records, server: OpenServer, input: ServerInitInput): Promise<NewShares> {
  const { shares, threshold, holders } = input
  const { recipients, rootKey } = await readRequest(input)
  // Only for the record: whether the server is initialized is its own answer to sys/init.
  const seal = await server.remote.sealStatus()
  const checksPath = server.checksPath()
  await assertChecksWritable(checksPath)
  const handed = handedFacts(holders, recipients, shares)
  let record: ServerInitRecord | null = await records.openServerInit(server.profileId, {
    server: server.origin,
    serverVersion: seal.version.slice(0, 80) || 'unknown',
    shares,
    threshold,
    handed,
    sharedKey: anyKeyShared(recipients),
  })
  let made: { keys: Buffer[]; rootToken: Buffer }
  try {
    made = await server.remote.init({
      secret_shares: shares,
      secret_threshold: threshold,
      ...(rootKey ? { root_token_pgp_key: Buffer.from(rootKey.key.write()).toString('base64') } : {}),
    })
  } catch (err) {
    await record?.refused()
    throw err
  }
  // From here the shares exist only in `made`: nothing may drop them unheld.
  const warnings: string[] = []
  let checkFile: string | undefined
  try {
    const checks = await newServerChecks(server.origin, threshold, made.keys.map((share, i) => ({ share, holder: holders?.[i] ?? null, pgpKeys: recipients[i]?.keyFingerprints })))
    await writeServerChecks(checksPath, checks)
    checkFile = checksPath
    server.checks.use(checks)
  } catch (err) {
    warnings.push(`No server check file was written, so this server's shares cannot be checked as they are entered: ${forOperator(err).message}`)
  }
  let items: HeldShare[]
  try {
    items = await heldShares(made.keys, recipients)
  } catch (err) {
    wipe(made.rootToken)
    await record?.ended('output_failed').catch(() => record?.writer.abandon())
    throw err
  } finally {
    wipe(...made.keys)
  }
  try {
    await record?.serverInitialized({ rootTokenEncryptedTo: rootKey?.fingerprint ?? null, checkFile: checkFile !== undefined })
  } catch (err) {
    await record?.writer.abandon()
    record = null
    warnings.push(`The ceremony record could not be written, so this hand-out is not recorded: ${forOperator(err).message}`)
  }
  if (record) records.beginHandOut(record)
  return {
    items,
    rootToken: made.rootToken,
    record,
    summary: {
      ceremony: 'init',
      place: { kind: 'server', name: server.label },
      shares,
      threshold,
      scheme: 'vault',
      recipients: recipients.map(keyInfo),
      holders: holders ?? [],
      rootToken: true,
      ...(rootKey ? { rootTokenKey: keyInfo(rootKey) } : {}),
      ...(checkFile ? { checkFile } : {}),
      ...(warnings.length ? { warnings } : {}),
    },
  }
}
