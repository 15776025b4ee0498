import { checkOneKeyOneHolder } from '../engine/holder-keys'
import { initKeyset, recipientKeys } from '../engine/init'
import type { Scheme } from '../engine/schemes'
import { initFacts, type InitRecord } from '../record/init-record'
import { hasCode, TesseraError } from '../support/errors'
import type { CeremonySession } from './ceremony-session'
import { wipeNewShares, type NewShares } from './hand-out'
import { keyInfo, readHolderKeys } from './keys'
import type { Records } from './records'

export interface InitInput {
  path: string
  shares: number
  threshold: number
  scheme: Scheme
  pgpKeys?: string[]
  holders?: string[]
  allowSharedKey?: boolean
}

/** An init whose keyset was not written: its record says so and ends (or stays a valid prefix if even that fails). */
async function endUnwritten(record: InitRecord | null): Promise<void> {
  if (!record) return
  try {
    await record.ended('keyset_not_written')
  } catch {
    await record.writer.abandon()
  }
}

/**
 * Creates a keyset and opens it as the session's backend: its shares and root
 * token come back to be handed out, its record open. A keyset whose creation
 * cannot be recorded is not created.
 */
export async function createKeyset(records: Records, ceremony: CeremonySession, input: InitInput): Promise<NewShares> {
  const { path, shares, threshold, scheme, pgpKeys, holders, allowSharedKey } = input
  const recipients = await readHolderKeys(pgpKeys)
  checkOneKeyOneHolder([], recipientKeys(recipients, holders), allowSharedKey === true, 'tick "One person holds several of these shares"')
  let made: Pick<NewShares, 'items' | 'rootToken'> | undefined
  // Assigned in the hand-out callback, which control-flow analysis does not follow.
  let record = null as InitRecord | null
  try {
    await initKeyset({ path, shares, threshold, scheme, holders, recipients, allowSharedKey }, async (handed, rootToken, keyset) => {
      made = {
        items: handed.map((s) => ({ bytes: s.text(), base64: Buffer.from(s.forms().key_base64), encrypted: s.encrypted, number: s.number })),
        rootToken: Buffer.from(rootToken),
      }
      // Before the keyset is written: a keyset whose creation cannot be recorded is not created.
      record = await records.openInit(initFacts(keyset, handed, recipients))
    })
  } catch (err) {
    if (made) wipeNewShares(made)
    await endUnwritten(record)
    if (hasCode(err, 'keyset')) throw new TesseraError('invalid_input', err.message)
    throw err
  }
  try {
    await ceremony.openKeyset(path)
  } catch (err) {
    wipeNewShares(made!)
    // The record stays a valid prefix, without a closing line.
    await record?.writer.abandon()
    throw err
  }
  if (record) records.beginHandOut(record)
  return {
    ...made!,
    record,
    summary: {
      ceremony: 'init',
      place: { kind: 'keyset', name: path },
      shares,
      threshold,
      scheme,
      recipients: recipients.map(keyInfo),
      holders: holders ?? [],
      rootToken: true,
    },
  }
}
