import { TesseraError } from '../support/errors'
import type { ResultKeeper } from './held-result'

/** The system clipboard, where main can reach it (the Electron shell). */
export interface Clipboard {
  writeText(text: string): void | Promise<void>
  readText(): string | Promise<string>
  clear(): void | Promise<void>
}

/** Seconds a copied secret stays on the clipboard. */
export const CLIPBOARD_SECONDS = 30

/** Copies a value through main, for a short while: a copied result counts as taken. */
export class ClipboardCopier {
  constructor(
    private readonly result: ResultKeeper,
    private readonly clipboard?: Clipboard,
  ) {}

  async copy(text: string): Promise<{ clearsInSeconds: number }> {
    const clipboard = this.clipboard
    if (!clipboard) throw new TesseraError('unsupported', 'this window copies through the browser, not through Tessera')
    await clipboard.writeText(text)
    this.result.copied(text)
    // Cleared only if it still holds our value: never wipe what the operator copied since.
    setTimeout(async () => {
      if ((await clipboard.readText()) === text) await clipboard.clear()
    }, CLIPBOARD_SECONDS * 1000).unref()
    return { clearsInSeconds: CLIPBOARD_SECONDS }
  }
}
