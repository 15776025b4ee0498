import { timingSafeEqual } from 'node:crypto'

/**
 * Compares secrets (shares, hashes, access tokens) in time that does not depend
 * on where they differ; only a difference in length returns early.
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}
