import { readdir, readFile, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRouter, type Dispatch } from '../src-main/ipc/router'
import { Session } from '../src-main/session/session'
import { keysetFingerprint } from '../src-main/transcript/recorder'
import { verifyTranscript } from '../src-main/transcript/verify'
import { Gpg } from './helpers/gnupg'
import { ipcCalls } from './helpers/ipc'
import { tempDir } from './helpers/keysets'
import { leaks, secret, type Secret } from './helpers/secret-forms'

let dir: string
let cleanup: () => Promise<void>
let dispatch: Dispatch
const { call, refusal } = ipcCalls(() => dispatch)

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
  dispatch = createRouter(new Session({ configDir: join(dir, 'config') }).handlers)
})
afterEach(() => cleanup())

const events = (text: string) => {
  const v = verifyTranscript(text)
  if (!v.ok) throw new Error(v.problem)
  return v
}

describe('an init ceremony in the app leaves a record', () => {
  it('records the keyset, each share as it is handed out and how, the root token, the end and the wipe; it verifies and holds no secret', async () => {
    const path = join(dir, 'keyset.json')
    await call('backend.initKeyset', { path, shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] })
    const record = (await call('session.state')).record
    const fingerprint = keysetFingerprint(await readFile(path, 'utf8'))
    expect(record).toMatchObject({ open: true, directory: join(dir, 'config', 'transcripts') })
    expect(record.path).toBe(join(dir, 'config', 'transcripts', `${new Date().toISOString().slice(0, 10)}-init-${fingerprint.slice(0, 16)}.jsonl`))

    const secrets: Secret[] = []
    const alice = await call('init.revealShare', { index: 0 })
    const card = await call('init.shareCard', { index: 1 })
    const carol = await call('init.revealShare', { index: 2 })
    const token = await call('init.revealRootToken')
    secrets.push(secret('share 1', alice.key), secret('share 3', carol.key), secret('root token', token.value))
    secrets.push(secret('share 2', card.lines.map((l: string) => l.slice(4, -6).replace(/ /g, '')).join('')))
    // The hash shown on the hand-out screen follows each step.
    const during = (await call('session.state')).record
    expect(during.finalHash).toBe(events(await readFile(record.path, 'utf8')).finalHash)
    await call('init.finish')

    const after = (await call('session.state')).record
    expect(after).toMatchObject({ path: record.path, open: false })
    const text = await readFile(record.path, 'utf8')
    const v = events(text)
    expect(v.closed).toBe(true)
    expect(after.finalHash).toBe(v.finalHash)
    expect(v.lines.map((l) => l.type)).toEqual([
      'backend_opened', 'keyset_created', 'share_handed_out', 'share_handed_out', 'share_handed_out', 'root_token_revealed', 'init_finished', 'wiped', 'closed',
    ])
    expect(v.lines[0]!.data).toMatchObject({ tool: 'tessera', format: 2, backend: 'local', keyset_fingerprint: fingerprint, shares: 3, threshold: 2 })
    expect(v.lines[1]!.data).toEqual({ keyset_fingerprint: fingerprint, scheme: 'vault', shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] })
    expect(v.lines.slice(2, 5).map((l) => l.data)).toEqual([
      { share_number: 1, holder: 'Alice', how: 'revealed' },
      { share_number: 2, holder: 'Bob', how: 'card_printed' },
      { share_number: 3, holder: 'Carol', how: 'revealed' },
    ])
    expect(v.lines[5]!.data).toEqual({ how: 'revealed' })
    expect(leaks(secrets, [{ name: 'transcript', content: text }])).toEqual([])

    // "Print ceremony record" prints this record.
    const report = await call('transcript.report')
    expect(report).toMatchObject({ path: record.path, finalHash: v.finalHash, verified: true })
    expect(report.html).toContain('Keyset created')
    expect(report.html).toContain('printed on a share card')
  })

  it('records which shares were never handed out when the operator abandons them, and a wipe mid-hand-out the same way', async () => {
    await call('backend.initKeyset', { path: join(dir, 'a.json'), shares: 3, threshold: 2 })
    await call('init.revealShare', { index: 1 })
    expect((await refusal('init.finish')).code).toBe('shares_not_handed_out')
    await call('init.finish', { abandon: true })
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
      await call('init.revealShare', { index: 0 })
      await call('init.revealShare', { index: 1 })
      const { path } = (await call('session.state')).record
      await call('init.revealRootToken')
      await call('init.finish')
      const v = events(await readFile(path, 'utf8'))
      expect(v.lines[1]!.data).toMatchObject({ encrypted_to: fingerprints.map((fingerprint, i) => ({ share_number: i + 1, fingerprint })) })
      expect(v.lines.filter((l) => l.type === 'share_handed_out').map((l) => (l.data as { how: string }).how)).toEqual(['encrypted_file_saved', 'encrypted_file_saved'])
      expect(v.lines.map((l) => l.type).slice(-4)).toEqual(['root_token_revealed', 'init_finished', 'wiped', 'closed'])
    } finally {
      gpg.close()
    }
  })

  it('creates no keyset when its record cannot be opened', async () => {
    // A file where the transcript directory should be: the record cannot be created.
    const blocked = join(dir, 'not-a-directory')
    await call('transcript.setDirectory', { path: join(blocked, 'transcripts') })
    await writeFile(blocked, 'x')
    const path = join(dir, 'unrecorded.json')
    const err = await refusal('backend.initKeyset', { path, shares: 2, threshold: 2 })
    expect(err.code).toBe('transcript_write')
    expect(await readdir(dir)).not.toContain(basename(path))
    expect((await call('session.state')).init).toBeNull()
  })
})
