import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRouter, type Dispatch } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { ipcCalls } from './helpers/ipc'
import { Session } from '../src-main/session/session'
import { keysetFingerprint } from '../src-main/record/attempt-record'
import { mistypeAt, tempDir } from './helpers/keysets'

let dir: string
let cleanup: () => Promise<void>
let dispatch: Dispatch

const { call, refusal } = ipcCalls(() => dispatch)

/** The character at `at` of a card line's share part, changed. */
function mistype(line: string, at: number): string {
  return mistypeAt(line, line.indexOf(':') + 2 + at)
}

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
  dispatch = createRouter(handlersFor(new Session({ configDir: join(dir, 'config') })))
})
afterEach(() => cleanup())

describe('share cards at the hand-out', () => {
  it('lays out one holder’s share with the keyset’s facts; typed back it opens the keyset, and a mistyped line is named', async () => {
    const path = join(dir, 'keyset.json')
    await call('backend.initKeyset', { path, shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] })
    const revealed = await call('handout.revealShare', { index: 0 })
    const card = await call('handout.shareCard', { index: 1 })
    const text = await readFile(path, 'utf8')
    expect(card).toMatchObject({ holder: 'Bob', shares: 3, threshold: 2, fingerprint: keysetFingerprint(text), created: new Date().toISOString().slice(0, 10), path })
    expect(card.lines.length).toBeGreaterThan(3)
    for (const line of card.lines) expect(line).toMatch(/^ ?\d{1,2}: (?:[0-9a-f]{1,4} ?){1,4} *[0-9a-f]{4}$/)
    // Printing Bob's card is revealing Bob's share; Carol's is still held.
    expect((await call('session.state')).handOut.handedOut).toEqual([true, true, false])
    await call('handout.revealShare', { index: 2 })
    await call('handout.finish')

    const start = await call('attempt.start', { flow: 'root' })
    const wrong = await refusal('attempt.update', { flow: 'root', key: [card.lines[0], mistype(card.lines[1], 5), ...card.lines.slice(2)].join('\n'), nonce: start.nonce, holder: 'Bob' })
    expect(wrong.code).toBe('card_line')
    expect(wrong.message).toContain('Line 2 of the share card')
    // The card as printed, lines, numbers and checks, is Bob's share.
    const bob = await call('attempt.update', { flow: 'root', key: card.lines.join('\n'), nonce: start.nonce, holder: 'Bob' })
    expect(bob.last_share).toMatchObject({ number: card.number, holder: 'Bob' })
    const done = await call('attempt.update', { flow: 'root', key: revealed.key, nonce: start.nonce, holder: 'Alice' })
    expect(done.complete).toBe(true)
  })

  it('refuses a card when no hand-out is running', async () => {
    expect((await refusal('handout.shareCard', { index: 0 })).code).toBe('no_share')
  })
})
