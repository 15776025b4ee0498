import { sameBytes } from '../crypto/same-bytes'
import { wipe } from '../crypto/wipe'

/**
 * The shares given so far toward a threshold: what every quorum operation
 * (generate-root and its twins, unseal, rekey and its verification) collects.
 * It owns the canonical share bytes it holds and wipes them when cleared.
 */
export class ShareProgress {
  private parts: Buffer[] = []

  get count(): number {
    return this.parts.length
  }

  /** Whether this share was already given, compared in constant time as Vault does. */
  has(key: Buffer): boolean {
    return this.parts.some((given) => sameBytes(given, key))
  }

  /** The shares given so far, still owned here: for a combination that may yet be refused. */
  peek(): readonly Buffer[] {
    return [...this.parts]
  }

  /** Takes ownership of `key`. */
  add(key: Buffer): number {
    this.parts.push(key)
    return this.parts.length
  }

  /**
   * Hands every share over to the caller, who wipes them, and starts again
   * from none: Vault empties the progress before combining, whatever follows.
   */
  takeAll(): Buffer[] {
    const taken = this.parts
    this.parts = []
    return taken
  }

  clear(): void {
    wipe(...this.takeAll())
  }
}
