import { createHash } from 'node:crypto'

/** The short checksum shown beside a secret on screen and kept in the record: enough to compare two copies by eye. */
export function checksum(value: Uint8Array): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 8)
}
