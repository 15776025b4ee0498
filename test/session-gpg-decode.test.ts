import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRouter, type Dispatch } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'
import { Gpg } from './helpers/gnupg'
import { ipcCalls } from './helpers/ipc'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'

// The app's `decode.gpg`: main runs the holder's gpg (GNUPGHOME from its
// environment), checks the value against the keyset and records the decode.
let tmp: Awaited<ReturnType<typeof tempDir>>
let gpg: Gpg
let ks: TestKeyset
let dispatch: Dispatch
const home = process.env.GNUPGHOME
const { call, refusal } = ipcCalls(() => dispatch)

beforeAll(async () => {
  tmp = await tempDir()
  gpg = new Gpg()
  gpg.generate('Lead <lead@example.org>', { passphrase: 'lead secret' })
  process.env.GNUPGHOME = gpg.home
  ks = await makeKeyset(tmp.dir, { shares: 2, threshold: 2 })
  dispatch = createRouter(handlersFor(new Session({ configDir: join(tmp.dir, 'config') })))
  await call('backend.openKeyset', { path: ks.path })
})
afterAll(async () => {
  if (home === undefined) delete process.env.GNUPGHOME
  else process.env.GNUPGHOME = home
  gpg.close()
  await tmp.cleanup()
})

async function finishRoot(): Promise<string> {
  const start = await call('attempt.start', { flow: 'root', pgpKey: gpg.exportPublic('lead@example.org', true).toString() })
  await call('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce, holder: 'Alice' })
  const done = await call('attempt.update', { flow: 'root', key: ks.keys[1], nonce: start.nonce, holder: 'Bob' })
  expect(done.complete).toBe(true)
  return done.encoded_root_token || done.encoded_token
}

describe('decode.gpg', () => {
  it('decrypts the held result with the agent, checks it against the keyset and records the decode', async () => {
    const encoded = await finishRoot()
    gpg.pinentry({ passphrase: 'lead secret' })
    const decoded = await call('decode.gpg', { encoded })
    expect(decoded).toMatchObject({ kind: 'root token', verified: true })
    expect(decoded.value).toMatch(/^hvs\.[0-9A-Za-z]{24}$/)
    expect(decoded.checksum).toMatch(/^[0-9a-f]{8}$/)
    // The record says what was decoded and the checksum shown, never the value.
    const { record } = await call('session.state')
    const lines = (await readFile(record.path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l))
    expect(lines.find((l) => l.type === 'decoded')?.data).toEqual({ kind: 'root token', checksum: decoded.checksum })
    expect(JSON.stringify(lines)).not.toContain(decoded.value)
    await call('session.wipe')
  })

  it('refuses a second decryption while the first waits for its PIN entry', async () => {
    const encoded = await finishRoot()
    gpg.pinentry('hang')
    const first = refusal('decode.gpg', { encoded })
    // Let the first reach gpg before the second is asked.
    await new Promise((r) => setTimeout(r, 300))
    const second = await refusal('decode.gpg', { encoded })
    expect(second.code).toBe('gpg_busy')
    expect(second.message).toMatch(/^A gpg decryption is already running/)
    // The pinentry gives up after a few seconds: the first ends with a sentence of its own, and gpg may run again.
    expect((await first).code).not.toBe('gpg_busy')
    gpg.pinentry({ passphrase: 'lead secret' })
    expect((await call('decode.gpg', { encoded })).verified).toBe(true)
    await call('session.wipe')
  })

  it('takes only the encoded value and the verify flag', async () => {
    const r = await refusal('decode.gpg', { encoded: 'x', privateKey: 'y' })
    expect(r.code).toBe('invalid_input')
    expect((await refusal('decode.gpg', { encoded: 'x'.repeat(64 * 1024 + 1) })).code).toBe('invalid_input')
  })
})
