import type { RekeyEvent, Rekeying } from '../engine/rekey'
import { keyringFingerprint } from './attempt-record'
import { reasonFor, type CeremonyEvent } from './events'
import type { RecordWriter } from './writer'

/** Records every step of `rekey`'s ceremonies in `writer`'s record (`tessera serve --record`). */
export function recordRekey(rekey: Rekeying, writer: RecordWriter): void {
  rekey.observe(async (event) => {
    await writer.append(lineFor(event))
  })
}

/** A rekey event as the record's line: names, numbers, fingerprints and counts, never a share. */
function lineFor(e: RekeyEvent): CeremonyEvent {
  switch (e.type) {
    case 'started': {
      const r = e.rekey
      const encrypted = r.recipients.map((k, i) => ({ share_number: i + 1, fingerprint: k.fingerprint }))
      return {
        type: 'rekey_started',
        data: {
          nonce: e.nonce,
          shares: r.shares,
          threshold: r.threshold,
          required: e.required,
          verification: r.verification,
          ...(r.holders ? { holders: [...r.holders] } : {}),
          ...(encrypted.length ? { encrypted_to: encrypted } : {}),
          ...(r.backup ? { backup: true as const } : {}),
        },
      }
    }
    case 'share_accepted': {
      const who = { ...(e.share.holder ? { holder: e.share.holder } : {}) }
      if (e.phase === 'verify' && e.share.number) {
        return { type: 'new_share_verified', data: { ...who, share_number: e.share.number, progress: e.progress, required: e.required } }
      }
      return { type: 'share_accepted', data: { ...who, ...(e.share.number ? { share_number: e.share.number } : {}), progress: e.progress, required: e.required } }
    }
    case 'share_refused':
      return { type: 'share_refused', data: { reason: reasonFor(e.code), progress: e.progress } }
    case 'shares_issued':
      return { type: 'rekey_shares_issued', data: { shares: e.shares.length, verification: e.verification } }
    case 'verification_failed':
      return { type: 'rekey_verification_restarted', data: { reason: 'failed' } }
    case 'completed':
      return { type: 'rekey_completed', data: { keyset_fingerprint: keyringFingerprint(e.keyringCiphertext), generation: e.generation, shares: e.shares, threshold: e.threshold } }
    case 'cancelled':
      return e.what === 'rekey' ? { type: 'rekey_cancelled', data: {} } : { type: 'rekey_verification_restarted', data: { reason: 'operator' } }
  }
}
