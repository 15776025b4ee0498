import { readdir, readFile, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRouter, type Dispatch } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'
import { keysetFingerprint } from '../src-main/record/attempt-record'
import { verifyRecord } from '../src-main/record/verify'
import { Gpg } from './helpers/gnupg'
import { ipcCalls } from './helpers/ipc'
import { makeKeyset, tempDir } from './helpers/keysets'
import { leaks, secret, type Secret } from './helpers/secret-forms'

let dir: string
let cleanup: () => Promise<void>
let session: Session
let dispatch: Dispatch
const { call, refusal } = ipcCalls(() => dispatch)

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
  session = new Session({ configDir: join(dir, 'config') })
  dispatch = createRouter(handlersFor(session))
})
afterEach(() => cleanup())

const events = (text: string) => {
  const v = verifyRecord(text)
  if (!v.ok) throw new Error(v.problem)
  return v
}

describe('an init ceremony in the app leaves a record', () => {
  it('records the keyset, each share as it is handed out and how, the root token, the end and the wipe; it verifies and holds no secret', async () => {
    const path = join(dir, 'keyset.json')
    await call('backend.initKeyset', { path, shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] })
    const record = (await call('session.state')).record
    const fingerprint = keysetFingerprint(await readFile(path, 'utf8'))
    expect(record).toMatchObject({ open: true, directory: join(dir, 'config', 'records') })
    expect(record.path).toBe(join(dir, 'config', 'records', `${new Date().toISOString().slice(0, 10)}-init-${fingerprint.slice(0, 16)}.jsonl`))

    const secrets: Secret[] = []
    const alice = await call('handout.revealShare', { index: 0 })
    const card = await call('handout.shareCard', { index: 1 })
    await call('handout.cardPrinted', { index: 1 })
    const carol = await call('handout.revealShare', { index: 2 })
    const token = await call('handout.revealRootToken')
    secrets.push(secret('share 1', alice.key), secret('share 3', carol.key), secret('root token', token.value))
    secrets.push(secret('share 2', card.lines.map((l: string) => l.slice(4, -6).replace(/ /g, '')).join('')))
    // The hash shown on the hand-out screen follows each step.
    const during = (await call('session.state')).record
    expect(during.finalHash).toBe(events(await readFile(record.path, 'utf8')).finalHash)
    await call('handout.finish')

    const after = (await call('session.state')).record
    expect(after).toMatchObject({ path: record.path, open: false })
    const text = await readFile(record.path, 'utf8')
    const v = events(text)
    expect(v.closed).toBe(true)
    expect(after.finalHash).toBe(v.finalHash)
    expect(v.lines.map((l) => l.type)).toEqual([
      'backend_opened', 'keyset_created', 'share_handed_out', 'share_handed_out', 'share_handed_out', 'share_handed_out', 'root_token_revealed', 'init_finished', 'wiped', 'closed',
    ])
    expect(v.lines[0]!.data).toMatchObject({ tool: 'tessera', format: 2, backend: 'local', keyset_fingerprint: fingerprint, shares: 3, threshold: 2 })
    expect(v.lines[1]!.data).toEqual({ keyset_fingerprint: fingerprint, scheme: 'vault', shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] })
    expect(v.lines.slice(2, 6).map((l) => l.data)).toEqual([
      { share_number: 1, holder: 'Alice', how: 'revealed' },
      { share_number: 2, holder: 'Bob', how: 'card_shown' },
      { share_number: 2, holder: 'Bob', how: 'card_printed' },
      { share_number: 3, holder: 'Carol', how: 'revealed' },
    ])
    expect(v.lines[6]!.data).toEqual({ how: 'revealed' })
    expect(leaks(secrets, [{ name: 'record', content: text }])).toEqual([])

    // "Print ceremony record" prints this record.
    const printable = await call('record.printable')
    expect(printable).toMatchObject({ path: record.path, finalHash: v.finalHash, verified: true })
    expect(printable.html).toContain('Keyset created')
    expect(printable.html).toContain('printed on a share card')
  })

  it('records which shares were never handed out when the operator abandons them, and a wipe mid-hand-out the same way', async () => {
    await call('backend.initKeyset', { path: join(dir, 'a.json'), shares: 3, threshold: 2 })
    await call('handout.revealShare', { index: 1 })
    expect((await refusal('handout.finish')).code).toBe('shares_not_handed_out')
    await call('handout.finish', { abandon: true })
    const first = (await call('session.state')).record.path
    const a = events(await readFile(first, 'utf8'))
    expect(a.lines.map((l) => l.type).slice(-3)).toEqual(['init_abandoned', 'wiped', 'closed'])
    expect(a.lines.at(-3)!.data).toEqual({ reason: 'operator', not_handed_out: [1, 3] })
    // Unnamed holders: the keyset_created line has no names, and the hand-out none.
    expect(a.lines[1]!.data).not.toHaveProperty('holders')
    expect(a.lines[2]!.data).toEqual({ share_number: 2, how: 'revealed' })

    await call('backend.initKeyset', { path: join(dir, 'b.json'), shares: 2, threshold: 2 })
    await call('session.wipe')
    const second = (await call('session.state')).record.path
    expect(second).not.toBe(first)
    expect(events(await readFile(second, 'utf8')).lines.at(-3)!.data).toEqual({ reason: 'operator', not_handed_out: [1, 2] })
  })

  it('records which shares went to which PGP key, and their files as saved', async () => {
    const gpg = new Gpg()
    try {
      const fingerprints = ['Alice <alice@example.org>', 'Bob <bob@example.org>'].map((uid) => gpg.generate(uid))
      const pgpKeys = fingerprints.map((fp) => gpg.exportPublic(fp, true).toString())
      await call('backend.initKeyset', { path: join(dir, 'pgp.json'), shares: 2, threshold: 2, pgpKeys })
      // An encrypted share is no secret: fetching it hands nothing out, saving its file does.
      await call('handout.revealShare', { index: 0 })
      await call('handout.revealShare', { index: 1 })
      expect((await call('session.state')).handOut.handedOut).toEqual([false, false])
      expect((await refusal('handout.finish')).code).toBe('shares_not_handed_out')
      await call('handout.shareSaved', { index: 0 })
      await call('handout.shareSaved', { index: 1 })
      const { path } = (await call('session.state')).record
      await call('handout.revealRootToken')
      await call('handout.finish')
      const v = events(await readFile(path, 'utf8'))
      expect(v.lines[1]!.data).toMatchObject({ encrypted_to: fingerprints.map((fingerprint, i) => ({ share_number: i + 1, fingerprint })) })
      expect(v.lines.filter((l) => l.type === 'share_handed_out').map((l) => (l.data as { how: string }).how)).toEqual(['encrypted_file_saved', 'encrypted_file_saved'])
      expect(v.lines.map((l) => l.type).slice(-4)).toEqual(['root_token_revealed', 'init_finished', 'wiped', 'closed'])
    } finally {
      gpg.close()
    }
  })

  it('creates no keyset when its record cannot be opened', async () => {
    // A file where the record directory should be: the record cannot be created.
    const blocked = join(dir, 'not-a-directory')
    await call('record.setDirectory', { path: join(blocked, 'records') })
    await writeFile(blocked, 'x')
    const path = join(dir, 'unrecorded.json')
    const err = await refusal('backend.initKeyset', { path, shares: 2, threshold: 2 })
    expect(err.code).toBe('record_write')
    expect(await readdir(dir)).not.toContain(basename(path))
    expect((await call('session.state')).handOut).toBeNull()
  })
})

describe('a share is handed out only when its holder got it', () => {
  const handedOut = async (path: string) =>
    events(await readFile(path, 'utf8')).lines.filter((l) => l.type === 'share_handed_out').map((l) => l.data)

  it('a card on screen is recorded as shown; as printed only once the page says its print dialog closed', async () => {
    await call('backend.initKeyset', { path: join(dir, 'cards.json'), shares: 2, threshold: 2, holders: ['Alice', 'Bob'] })
    const { path } = (await call('session.state')).record
    // No card was shown: nothing can have been printed.
    expect(await refusal('handout.cardPrinted', { index: 0 })).toMatchObject({ code: 'no_card', message: "Share 1's card was never shown: show it, then print it." })
    await call('handout.shareCard', { index: 0 })
    expect((await call('session.state')).handOut.handedOut).toEqual([true, false])
    expect(await handedOut(path)).toEqual([{ share_number: 1, holder: 'Alice', how: 'card_shown' }])
    await call('handout.cardPrinted', { index: 0 })
    expect(await handedOut(path)).toEqual([
      { share_number: 1, holder: 'Alice', how: 'card_shown' },
      { share_number: 1, holder: 'Alice', how: 'card_printed' },
    ])
    // A share in the clear is shown, never saved as an encrypted file.
    expect((await refusal('handout.shareSaved', { index: 1 })).code).toBe('share_not_encrypted')
    expect((await call('session.state')).handOut.handedOut).toEqual([true, false])
  })

  it('finishing with shares not handed out names their holders; the record ends init_abandoned with those shares', async () => {
    await call('backend.initKeyset', { path: join(dir, 'named.json'), shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] })
    const { path } = (await call('session.state')).record
    await call('handout.revealShare', { index: 0 })
    expect(await refusal('handout.finish')).toEqual({
      code: 'shares_not_handed_out',
      message: 'Share 2 (Bob) and share 3 (Carol) were never handed out: finishing now loses them for good. Hand them out, or confirm abandoning them.',
    })
    await call('handout.finish', { abandon: true })
    const v = events(await readFile(path, 'utf8'))
    expect(v.lines.slice(-3).map((l) => [l.type, l.data])).toEqual([
      ['init_abandoned', { reason: 'operator', not_handed_out: [2, 3] }],
      ['wiped', {}],
      ['closed', {}],
    ])
  })
})

describe('the desktop app prints a share card through main', () => {
  it('prints only a card main showed, and records it printed only once the printer took it', async () => {
    const answers = [false, true]
    let asked = 0
    session = new Session({ configDir: join(dir, 'config'), printWindow: async () => (asked++, answers.shift()!) })
    dispatch = createRouter(handlersFor(session))
    await call('backend.initKeyset', { path: join(dir, 'printed.json'), shares: 2, threshold: 2, holders: ['Alice', 'Bob'] })
    const { path } = (await call('session.state')).record
    const handedOut = async () => events(await readFile(path, 'utf8')).lines.filter((l) => l.type === 'share_handed_out').map((l) => (l.data as { how: string }).how)
    expect((await refusal('handout.printCard', { index: 0 })).code).toBe('no_card')
    expect(asked).toBe(0)
    await call('handout.shareCard', { index: 0 })
    // Cancelled in the print dialog: shown, not printed.
    expect(await call('handout.printCard', { index: 0 })).toEqual({ printed: false })
    expect(await handedOut()).toEqual(['card_shown'])
    expect(await call('handout.printCard', { index: 0 })).toEqual({ printed: true })
    expect(await handedOut()).toEqual(['card_shown', 'card_printed'])
  })

  it('is refused where the page prints itself', async () => {
    await call('backend.initKeyset', { path: join(dir, 'browser.json'), shares: 2, threshold: 2 })
    await call('handout.shareCard', { index: 0 })
    expect((await refusal('handout.printCard', { index: 0 })).code).toBe('unsupported')
  })
})

describe('stopping Tessera says and records what it drops', () => {
  async function finishedRoot() {
    const ks = await makeKeyset(dir, { shares: 3, threshold: 2 })
    await call('backend.openKeyset', { path: ks.path })
    const start = await call('attempt.start', { flow: 'root' })
    await call('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce })
    const done = await call('attempt.update', { flow: 'root', key: ks.keys[1], nonce: start.nonce })
    return { encoded: done.encoded_root_token as string, path: (await call('session.state')).record.path as string }
  }

  it('a finished result never decoded: said, and recorded as dropped before the record closes', async () => {
    const { path } = await finishedRoot()
    expect(session.heldSecret).toBe('result')
    expect(await session.close()).toEqual({
      cancelled: null,
      dropped: ['the finished root token was never decoded and is dropped with its one-time password: nobody can decode it now'],
    })
    const v = events(await readFile(path, 'utf8'))
    expect(v.closed).toBe(true)
    expect(v.lines.slice(-4).map((l) => [l.type, l.data])).toEqual([
      ['completed', expect.anything()],
      ['result_dropped', { flow: 'root' }],
      ['wiped', {}],
      ['closed', {}],
    ])
  })

  it('a result decoded on screen is not dropped: the record ends with its wipe', async () => {
    const { encoded, path } = await finishedRoot()
    await call('decode.held', { flow: 'root', encoded })
    expect(await session.close()).toEqual({ cancelled: null, dropped: [] })
    expect(events(await readFile(path, 'utf8')).lines.slice(-3).map((l) => l.type)).toEqual(['decoded', 'wiped', 'closed'])
  })

  it('a hand-out with shares nobody got: said by holder, and the record ends init_abandoned (stopped)', async () => {
    await call('backend.initKeyset', { path: join(dir, 'stopped.json'), shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] })
    const { path } = (await call('session.state')).record
    await call('handout.revealShare', { index: 1 })
    expect((await session.close()).dropped).toEqual(['share 1 (Alice) and share 3 (Carol) were never handed out: lost for good'])
    expect(events(await readFile(path, 'utf8')).lines.slice(-3).map((l) => [l.type, l.data])).toEqual([
      ['init_abandoned', { reason: 'stopped', not_handed_out: [1, 3] }],
      ['wiped', {}],
      ['closed', {}],
    ])
  })
})
