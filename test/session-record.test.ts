import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRouter, type Dispatch } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { ipcCalls } from './helpers/ipc'
import { Session } from '../src-main/session/session'
import type { RecordPrinter } from '../src-main/session/records'
import { verifyRecord } from '../src-main/record/verify'
import { VERSION } from '../src-main/version'
import { makeKeyset, mistypeAt, tempDir, type TestKeyset } from './helpers/keysets'
import { leaks, secret } from './helpers/secret-forms'
import { startServe } from './helpers/cli'
import { Connections } from '../src-main/profiles/connections'
import { ProfileStore } from '../src-main/profiles/profile-store'
import { SessionCredentials } from '../src-main/profiles/credentials'

let dir: string
let cleanup: () => Promise<void>
let ks: TestKeyset
let dispatch: Dispatch
let printed: Array<{ html: string; pageSize: string }>

const { call, refusal } = ipcCalls(() => dispatch)

/** A share with one character changed: what a holder mistyping it would enter. */
const mistyped = (hex: string) => mistypeAt(hex, 0)

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
  ks = await makeKeyset(dir, { shares: 3, threshold: 2 })
  printed = []
  const printer: RecordPrinter = {
    printToPdf: async (html, pageSize) => {
      printed.push({ html, pageSize })
      return join(dir, 'record.pdf')
    },
  }
  dispatch = createRouter(handlersFor(new Session({ configDir: join(dir, 'config'), printer })))
  await call('backend.openKeyset', { path: ks.path })
})
afterEach(() => cleanup())

describe('the app records every ceremony', () => {
  it('leaves a verified record of a whole root ceremony, with nonce confirmations, a refused share, the decode and the wipe, and no secret', async () => {
    const start = await call('attempt.start', { flow: 'root' })
    const open = (await call('session.state')).record
    expect(open.open).toBe(true)
    expect(open.path).toBe(join(dir, 'config', 'records', `${new Date().toISOString().slice(0, 10)}-${start.nonce}.jsonl`))

    expect(await call('attempt.confirmNonce', { flow: 'root', nonce: start.nonce, holder: 'Alice' })).toEqual({ recorded: true })
    await call('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce, holder: 'Alice' })
    await call('attempt.confirmNonce', { flow: 'root', nonce: start.nonce, holder: 'Bob' })
    await refusal('attempt.update', { flow: 'root', key: mistyped(ks.keys[1]!), nonce: start.nonce, holder: 'Bob' })
    const done = await call('attempt.update', { flow: 'root', key: ks.keys[1], nonce: start.nonce, holder: 'Bob' })
    expect(done.complete).toBe(true)
    const decoded = await call('decode.held', { flow: 'root', encoded: done.encoded_token })
    await call('session.wipe')

    const record = (await call('session.state')).record
    expect(record.open).toBe(false)
    expect(record.path).toBe(open.path)
    const text = await readFile(record.path, 'utf8')
    const v = verifyRecord(text)
    if (!v.ok) throw new Error(v.problem)
    expect(v.closed).toBe(true)
    expect(record.finalHash).toBe(v.finalHash)
    expect(v.lines.map((l) => l.type)).toEqual([
      'backend_opened',
      'attempt_started',
      'nonce_confirmed',
      'share_accepted',
      'nonce_confirmed',
      'share_refused',
      'share_accepted',
      'completed',
      'decoded',
      'wiped',
      'closed',
    ])
    const data = v.lines.map((l) => l.data as Record<string, unknown>)
    expect(data[0]).toMatchObject({ tool: 'tessera', format: 2, backend: 'local', scheme: 'vault', shares: 3, threshold: 2, recovery_mode: false })
    expect(data[1]).toMatchObject({ flow: 'root', nonce: start.nonce, protection: { kind: 'otp' }, required: 2 })
    expect(data[2]).toEqual({ holder: 'Alice', nonce: start.nonce })
    expect(data[3]).toEqual({ holder: 'Alice', share_number: ks.numbers[0], progress: 1, required: 2 })
    expect(data[5]).toMatchObject({ holder: 'Bob', reason: 'share_mismatch' })
    expect(data[6]).toEqual({ holder: 'Bob', share_number: ks.numbers[1], progress: 2, required: 2 })
    expect(data[8]).toEqual({ kind: 'root token', checksum: decoded.checksum })

    // The OTP never crosses IPC: it is the XOR of the token and the encoded value.
    const token = Buffer.from(decoded.value, 'utf8')
    const otp = Buffer.from(done.encoded_token, 'base64').map((b, i) => b ^ token[i]!)
    const secrets = [
      ...ks.keys.map((k, i) => secret(`share ${i + 1}`, k)),
      ...ks.keys_base64.map((k, i) => secret(`share ${i + 1} (base64)`, k)),
      secret('mistyped share', mistyped(ks.keys[1]!)),
      secret('OTP', Buffer.from(otp).toString('utf8')),
      secret('root token', decoded.value),
      secret('encoded token', done.encoded_token),
    ]
    expect(leaks(secrets, [{ name: 'record', content: text }])).toEqual([])
  })

  it('closes the record of a cancelled attempt, and opens a new file for the next', async () => {
    const first = await call('attempt.start', { flow: 'root' })
    await call('attempt.cancel', { flow: 'root' })
    const cancelled = (await call('session.state')).record
    expect(cancelled.open).toBe(false)
    const v = verifyRecord(await readFile(cancelled.path, 'utf8'))
    expect(v.ok && v.closed).toBe(true)
    expect(v.ok && v.lines.map((l) => l.type).slice(-2)).toEqual(['cancelled', 'closed'])
    const second = await call('attempt.start', { flow: 'root' })
    const next = (await call('session.state')).record
    expect(next.path).toContain(second.nonce)
    expect(next.path).not.toBe(cancelled.path)
    expect(first.nonce).not.toBe(second.nonce)
  })

  it('records an attempt started elsewhere when a holder first acts on it', async () => {
    // The wipe closes the record; the attempt itself goes on in the engine.
    const started = await call('attempt.start', { flow: 'root' })
    await call('session.wipe')
    const first = (await call('session.state')).record.path
    const status = await call('attempt.status', { flow: 'root' })
    expect(status.started).toBe(true)
    await call('attempt.confirmNonce', { flow: 'root', nonce: started.nonce, holder: 'Carol' })
    const record = (await call('session.state')).record
    expect(record.path).toBe(first.replace(/\.jsonl$/, '-2.jsonl'))
    const v = verifyRecord(await readFile(record.path, 'utf8'))
    if (!v.ok) throw new Error(v.problem)
    expect(v.lines.map((l) => l.type)).toEqual(['backend_opened', 'attempt_started', 'nonce_confirmed'])
  })

  it('writes to the directory the operator chose, and records no confirmation of a nonce no attempt has', async () => {
    const chosen = join(dir, 'records')
    expect((await call('record.setDirectory', { path: chosen })).directory).toBe(chosen)
    const start = await call('attempt.start', { flow: 'root' })
    expect(dirname((await call('session.state')).record.path)).toBe(chosen)
    expect(await call('attempt.confirmNonce', { flow: 'root', nonce: '00000000-0000-4000-8000-000000000000', holder: 'Alice' })).toEqual({ recorded: false })
    await call('attempt.confirmNonce', { flow: 'root', nonce: start.nonce, holder: 'Bob' })
    const v = verifyRecord(await readFile((await call('session.state')).record.path, 'utf8'))
    if (!v.ok) throw new Error(v.problem)
    expect(v.lines.filter((l) => l.type === 'nonce_confirmed').map((l) => l.data)).toEqual([{ holder: 'Bob', nonce: start.nonce }])
  })

  it('stops the ceremony when its record cannot be written, with the writer’s sentence', async () => {
    const blocker = join(dir, 'not-a-directory')
    await writeFile(blocker, 'x')
    await call('record.setDirectory', { path: join(blocker, 'records') })
    const err = await refusal('attempt.start', { flow: 'root' })
    expect(err.code).toBe('record_write')
    expect(err.message).toContain('Could not create the record')
    expect((await call('attempt.status', { flow: 'root' })).started).toBe(false)
  })
})

describe('a remote ceremony is recorded too', () => {
  it('names the server and the version it reports, and records the holders as for a keyset', async () => {
    const server = await startServe(['--keyset', ks.path])
    try {
      const connections = new Connections(await ProfileStore.open(join(dir, 'config', 'profiles.json')), new SessionCredentials())
      dispatch = createRouter(handlersFor(new Session({ configDir: join(dir, 'config'), connections })))
      const profile = await call('profiles.save', { profile: { name: 'Lab', address: server.url, allowInsecureHttp: true } })
      await call('backend.connectRemote', { id: profile.id })
      const start = await call('attempt.start', { flow: 'root' })
      await call('attempt.confirmNonce', { flow: 'root', nonce: start.nonce, holder: 'Alice' })
      await call('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce, holder: 'Alice' })
      const done = await call('attempt.update', { flow: 'root', key: ks.keys[1], nonce: start.nonce, holder: 'Bob' })
      expect(done.complete).toBe(true)
      await call('session.wipe')
      const v = verifyRecord(await readFile((await call('session.state')).record.path, 'utf8'))
      if (!v.ok) throw new Error(v.problem)
      expect(v.lines[0]!.data).toEqual({ tool: 'tessera', version: VERSION, format: 2, backend: 'remote', server: server.url, server_version: expect.any(String), shares: 3, threshold: 2, recovery_mode: false })
      expect(v.lines.map((l) => l.type).slice(1)).toEqual(['attempt_started', 'nonce_confirmed', 'share_accepted', 'share_accepted', 'completed', 'wiped', 'closed'])
      expect(v.lines[3]!.data).toEqual({ holder: 'Alice', progress: 1, required: 2 })
    } finally {
      await server.stop()
    }
  })
})

describe('the ceremony record prints', () => {
  it('returns the printable record of the current and, after the wipe, the last ceremony, and hands it to the printer', async () => {
    expect((await refusal('record.printable')).code).toBe('no_record')
    const start = await call('attempt.start', { flow: 'root' })
    await call('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce, holder: 'Alice' })
    const during = await call('record.printable')
    expect(during.verified).toBe(true)
    expect(during.html).toContain('Alice')
    // Printed mid-ceremony: it says so in large type, and offers no place to sign.
    expect(during.html).toContain('NOT CLOSED: the ceremony was still running')
    expect(during.html).not.toContain('We witnessed this ceremony')
    await call('attempt.update', { flow: 'root', key: ks.keys[2], nonce: start.nonce, holder: 'Carol' })
    await call('session.wipe')
    const after = await call('record.printable')
    expect(after.finalHash).toBe((await call('session.state')).record.finalHash)
    expect(after.html).toContain('Carol')
    expect(after.html).toContain(start.nonce)
    expect(after.html).toContain('We witnessed this ceremony')
    expect(after.html).not.toContain('NOT CLOSED')
    expect(await call('record.printPdf', { pageSize: 'Letter' })).toEqual({ saved: join(dir, 'record.pdf') })
    expect(printed).toEqual([{ html: after.html, pageSize: 'Letter' }])
  })

  it('says when the file no longer verifies, and shows only its valid part', async () => {
    await call('attempt.start', { flow: 'root' })
    await call('session.wipe')
    const { path } = (await call('session.state')).record
    const lines = (await readFile(path, 'utf8')).split('\n')
    lines[1] = lines[1]!.replace('"root"', '"share"')
    await writeFile(path, lines.join('\n'))
    const printable = await call('record.printable')
    expect(printable.verified).toBe(false)
    expect(printable.html).toContain('does not verify')
  })

  it('is printed by the page where there is no printer (a browser)', async () => {
    const web = createRouter(handlersFor(new Session()))
    const r = await web('record.printPdf', { pageSize: 'A4' })
    expect(r.ok).toBe(false)
    expect((r as any).error.code).toBe('unsupported')
  })
})
