import type { ShareCheckResult, ShareList, TesseraApi } from '../../../src-main/ipc/channels'
import { errorText } from './api-error'
import { shareLabel } from '../../../src-shared/share-grammar'

/** One check as the screen lists it: what main said, never the share. */
export interface CheckLine {
  valid: boolean
  text: string
}

/**
 * Holders checking their shares one after another with no ceremony: each share
 * goes to main's `shares.check` (no attempt is started, nothing is combined) and
 * only the verdict stays here. `done` forgets every verdict.
 */
export class ShareChecks {
  lines = $state<CheckLine[]>([])
  /** The confirmed shares, by number: each once, whoever checked it twice. */
  confirmed = $state<ShareCheckResult[]>([])
  busy = $state(false)

  constructor(
    private readonly api: TesseraApi,
    private readonly list: ShareList,
  ) {}

  /** "share 3 of 5 (Carol): valid", or why not. */
  async check(share: string): Promise<CheckLine> {
    this.busy = true
    let line: CheckLine
    try {
      const r = await this.api.shares.check({ share })
      line = r.valid
        ? { valid: true, text: `share ${r.number} of ${this.list.shares.length}${r.holder ? ` (${r.holder})` : ''}: valid` }
        : { valid: false, text: `Not valid: ${r.reason ?? 'this share is not valid'}` }
      if (r.valid && !this.confirmed.some((c) => c.number === r.number)) {
        this.confirmed = [...this.confirmed, r].sort((a, b) => (a.number ?? 0) - (b.number ?? 0))
      }
    } catch (err) {
      line = { valid: false, text: errorText(err) }
    } finally {
      this.busy = false
    }
    this.lines = [...this.lines, line]
    return line
  }

  /** Which shares were confirmed, in words. */
  get summary(): string {
    const total = this.list.shares.length
    if (this.confirmed.length === 0) return `No share of ${total} confirmed yet.`
    return `${this.confirmed.length} of ${total} shares confirmed: ${this.confirmed.map(shareLabel).join(', ')}.`
  }

  done(): void {
    this.lines = []
    this.confirmed = []
  }
}
