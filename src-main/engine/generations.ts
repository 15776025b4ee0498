import type { KeyringHeader, SealedKeyring } from './keyring'
import { MAX_EARLIER_GENERATIONS, type EarlierGeneration, type KeysetData, type KeysetV4, type ScryptParams, type ShareRecord } from './keyset-format'

/**
 * A keyset's generations: init makes generation 1, each completed rekey the
 * next one, with a new root key, new shares numbered from 1 and the same
 * keyring sealed under the new key. What a generation leaves behind is only
 * what recognizes its shares (their check values) and when it was replaced.
 */

/** What a rekey makes before it takes effect: the new header, keyring and share records. */
export interface NextGeneration {
  header: KeyringHeader
  keyring: SealedKeyring
  share_check: ScryptParams
  issued_shares: ShareRecord[]
}

export function generationOf(data: KeysetData): number {
  return data.tessera_keyset === 4 ? data.generation : 1
}

/** `data`'s current generation as an earlier one: check values, never a key, and when it ended. */
function asEarlier(data: KeysetData, replacedAt: string): EarlierGeneration {
  const base = { generation: generationOf(data), replaced_at: replacedAt }
  if (data.tessera_keyset === 1) return { ...base, shares: [] }
  const shares = data.issued_shares.map(({ x, holder, check }) => ({ x, holder, check }))
  return data.tessera_keyset === 2 ? { ...base, share_salt: data.share_salt, shares } : { ...base, share_check: data.share_check, shares }
}

/**
 * The keyset `fresh` becomes when `next` takes effect at `now`: its tokens and
 * creation time kept, its current generation moved to the earlier ones (the
 * oldest dropped past MAX_EARLIER_GENERATIONS). Always format 4.
 */
export function withNextGeneration(fresh: KeysetData, next: NextGeneration, now: string): KeysetV4 {
  const earlier = fresh.tessera_keyset === 4 ? fresh.earlier_generations : []
  return {
    tessera_keyset: 4,
    ...next.header,
    keyring: next.keyring,
    token_salt: fresh.token_salt,
    tokens: fresh.tokens,
    created_at: fresh.created_at,
    share_check: next.share_check,
    issued_shares: next.issued_shares,
    generation: generationOf(fresh) + 1,
    earlier_generations: [...earlier, asEarlier(fresh, now)].slice(-MAX_EARLIER_GENERATIONS),
    integrity: '',
  }
}
