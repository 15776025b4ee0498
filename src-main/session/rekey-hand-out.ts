import type { KeyInfo } from '../crypto/views'
import { wipe } from '../crypto/wipe'
import type { HandOutRecord } from '../record/hand-out-record'
import type { IssuedShares, RekeyState } from '../rekey-interface'
import type { NewShares } from './hand-out'
import type { HandOutSummary } from './views'

/** What the hand-out of a rekey's new shares says beside the shares: where they open, their parameters, their holders. */
export interface RekeyHandOutFacts {
  place: HandOutSummary['place']
  state: RekeyState
  scheme: HandOutSummary['scheme']
  recipients: KeyInfo[]
  holders: string[]
  record: HandOutRecord | null
}

/** A rekey's new shares as the hand-out holds them (their bytes now owned by it): no root token. */
export function rekeyHandOut(issued: IssuedShares, f: RekeyHandOutFacts): NewShares {
  return {
    summary: { ceremony: 'rekey', place: f.place, shares: f.state.n, threshold: f.state.t, scheme: f.scheme, recipients: f.recipients, holders: f.holders, rootToken: false },
    items: issued.keys.map((bytes, i) => ({ bytes, base64: base64Of(bytes, issued.encrypted, f.scheme), encrypted: issued.encrypted, number: issued.shares[i]!.number })),
    rootToken: null,
    record: f.record,
  }
}

/** sys/init's keys_base64 of a new share: the PGP message's, or the share's canonical bytes' (a Vault share is typed as their hex). */
function base64Of(bytes: Buffer, encrypted: boolean, scheme: HandOutSummary['scheme']): Buffer {
  if (encrypted || scheme === 'secretsjs') return Buffer.from(bytes.toString('base64'), 'ascii')
  const canonical = Buffer.from(bytes.toString('ascii'), 'hex')
  try {
    return Buffer.from(canonical.toString('base64'), 'ascii')
  } finally {
    wipe(canonical)
  }
}
