import { KEYSET_LIMIT } from '../engine/keyset'
import { cardLines } from '../engine/share-card'
import type { ShareCard } from '../engine/views'
import { readRegularFile } from '../support/bounded-read'
import { keysetFingerprint } from '../record/attempt-record'

/**
 * A share's printable card: its number among the shares out (the keyset's
 * count, as seal status gives it), the keyset it opens and its lines.
 */
export async function shareCard(keyset: { path: string; shares: number; threshold: number }, share: { number: number; holder: string | null; text: string }): Promise<ShareCard> {
  const text = (await readRegularFile(keyset.path, KEYSET_LIMIT)).toString('utf8')
  const created = String((JSON.parse(text) as { created_at?: unknown }).created_at ?? '').slice(0, 10)
  return {
    holder: share.holder,
    number: share.number,
    shares: keyset.shares,
    threshold: keyset.threshold,
    fingerprint: keysetFingerprint(text),
    created,
    path: keyset.path,
    lines: cardLines(share.text),
  }
}
