import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { wipe } from '../src-main/crypto/wipe'
import { withFileLock } from '../src-main/support/files'
import { LocalEngine } from '../src-main/engine/local-engine'
import { createRouter, type Dispatch } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { RemoteVault } from '../src-main/remote/remote-vault'
import { listen } from '../src-main/server/listen'
import { Session } from '../src-main/session/session'
import { TESSERA } from './helpers/cli'
import { ipcCalls } from './helpers/ipc'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'

// Closing a backend must leave none of the secrets it collected in memory. What
// the engine keeps is private, so these tests watch every Buffer made while it
// works (a spy on Buffer's factories) and look for the secret's bytes in them
// afterwards: what the engine retained is among them, whatever it is called.

const FACTORIES = ['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'from', 'concat'] as const

/** Records every Buffer made by Buffer's factories until `stop`. */
function recordBuffers(): { made: Buffer[]; stop: () => void } {
  const made: Buffer[] = []
  const spies = FACTORIES.map((name) => {
    const original = (Buffer[name] as (...args: unknown[]) => Buffer).bind(Buffer)
    return vi.spyOn(Buffer, name).mockImplementation(((...args: unknown[]) => {
      const b = original(...args)
      made.push(b)
      return b
    }) as never)
  })
  return { made, stop: () => spies.forEach((s) => s.mockRestore()) }
}

const holding = (made: Buffer[], secret: Buffer) => made.filter((b) => b.includes(secret))

let dir: string
let cleanup: () => Promise<void>
let ks: TestKeyset

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
  ks = await makeKeyset(dir, { shares: 3, threshold: 2 })
})
afterEach(async () => {
  vi.restoreAllMocks()
  await cleanup()
})

/**
 * Starts an attempt, gives the first share, and gives the last while another
 * program holds the keyset's lock: that update waits inside the engine until
 * `release`.
 */
async function lastUpdateWaitingOnLock(engine: LocalEngine, flow: 'root' | 'share') {
  const { status } = await engine.start(flow, {})
  await engine.update(flow, { key: Buffer.from(ks.keys[0]!), nonce: status.nonce })
  let unlock: (() => void) | undefined
  const held = withFileLock(ks.path, () => new Promise<void>((r) => (unlock = r)))
  await vi.waitFor(() => expect(unlock).toBeDefined())
  const last = engine.update(flow, { key: Buffer.from(ks.keys[1]!), nonce: status.nonce })
  await new Promise((r) => setTimeout(r, 200))
  const release = async () => {
    unlock!()
    await held
  }
  return { last, release }
}

describe('closing the local engine', () => {
  it('wipes the shares it collected and the OTP it keeps', async () => {
    const engine = await LocalEngine.open(ks.path)
    const share = Buffer.from(ks.keys[0]!)
    const rec = recordBuffers()
    let otp: Buffer | null
    try {
      const started = await engine.start('root', {})
      otp = started.otp
      await engine.update('root', { key: share, nonce: started.status.nonce })
    } finally {
      rec.stop()
    }
    const otpBytes = Buffer.from(otp!)
    const shareBytes = Buffer.from(ks.keys[0]!, 'hex')
    // The caller's copies are the caller's to wipe.
    wipe(otp, share)
    // While the attempt runs, the engine holds both: the spy sees them.
    expect(holding(rec.made, otpBytes).length).toBeGreaterThan(0)
    expect(holding(rec.made, shareBytes).length).toBeGreaterThan(0)

    await engine.close()
    expect(holding(rec.made, otpBytes)).toEqual([])
    expect(holding(rec.made, shareBytes)).toEqual([])
  })

  it('refuses every attempt call afterwards, and still answers which tokens the keyset knows', async () => {
    const engine = await LocalEngine.open(ks.path)
    await engine.close()
    for (const call of [
      () => engine.sealStatus(),
      () => engine.status('root'),
      () => engine.start('root', {}),
      () => engine.update('root', { key: Buffer.from(ks.keys[0]!), nonce: 'n' }),
      () => engine.cancel('root'),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'backend_closed', status: 409, message: expect.stringMatching(/was closed/) })
    }
    // A held result is checked against the keyset that made it, even once another is open.
    expect(await engine.lookupToken(ks.rootToken)).toMatchObject({ type: 'root' })
  })

  it('lets an update already under way finish before it closes: a result is never cut in half', async () => {
    const engine = await LocalEngine.open(ks.path)
    const { last, release } = await lastUpdateWaitingOnLock(engine, 'share')
    let closed = false
    const closing = engine.close().then(() => (closed = true))
    await new Promise((r) => setTimeout(r, 50))
    expect(closed).toBe(false)
    await release()
    const { status: done } = await last
    expect(done).toMatchObject({ complete: true, key: expect.stringMatching(/^[0-9a-f]{66}$/) })
    await closing
    await expect(engine.status('share')).rejects.toMatchObject({ code: 'backend_closed' })
  })
})

describe('the local engine in order', () => {
  it('answers a status asked during an update once the update is done, never half way', async () => {
    const engine = await LocalEngine.open(ks.path)
    const { last, release } = await lastUpdateWaitingOnLock(engine, 'root')
    let seen: Awaited<ReturnType<LocalEngine['status']>> | undefined
    const asked = engine.status('root').then((s) => (seen = s))
    await new Promise((r) => setTimeout(r, 50))
    expect(seen).toBeUndefined()
    await release()
    await asked
    // After the update: the attempt is finished, as Vault's status shows it, not one share in.
    expect((await last).status.complete).toBe(true)
    expect(seen).toMatchObject({ started: false, progress: 0 })
    await engine.close()
  })
})

describe('closing a remote backend', () => {
  it('aborts a call in flight at once and refuses later ones', async () => {
    const silent = createServer(() => undefined)
    const { port } = await listen(silent, '127.0.0.1', 0)
    try {
      const remote = new RemoteVault({ address: `http://127.0.0.1:${port}`, timeoutMs: 60_000 }, 's.token')
      const pending = remote.status('recovery')
      const t0 = Date.now()
      await new Promise((r) => setTimeout(r, 100))
      await remote.close()
      await expect(pending).rejects.toMatchObject({ code: 'backend_closed' })
      expect(Date.now() - t0).toBeLessThan(5_000)
      await expect(remote.sealStatus()).rejects.toMatchObject({ code: 'backend_closed' })
    } finally {
      silent.closeAllConnections()
      silent.close()
    }
  })
})

describe('the session closes a backend it leaves', () => {
  let dispatch: Dispatch
  const { call } = ipcCalls(() => dispatch)
  let session: Session

  beforeEach(async () => {
    session = new Session({ configDir: join(dir, 'config') })
    dispatch = createRouter(handlersFor(session))
    await call('backend.openKeyset', { path: ks.path })
  })

  it('when another keyset is opened: the old engine is closed and its collected share wiped', async () => {
    const close = vi.spyOn(LocalEngine.prototype, 'close')
    const rec = recordBuffers()
    try {
      const start = await call('attempt.start', { flow: 'root' })
      await call('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce, holder: 'Alice' })
    } finally {
      rec.stop()
    }
    const shareBytes = Buffer.from(ks.keys[0]!, 'hex')
    expect(holding(rec.made, shareBytes).length).toBeGreaterThan(0)

    const other = await makeKeyset(dir, { shares: 2, threshold: 2 })
    await call('backend.openKeyset', { path: other.path })
    expect(close).toHaveBeenCalledTimes(1)
    const old = close.mock.contexts[0] as LocalEngine
    expect(old.keyset.path).toBe(ks.path)
    await expect(old.status('root')).rejects.toMatchObject({ code: 'backend_closed' })
    expect(holding(rec.made, shareBytes)).toEqual([])
    // The new keyset is open and answers.
    expect((await call('attempt.status', { flow: 'root' })).started).toBe(false)
  })

  it('on close (the process going away): the open engine is closed and nothing is held', async () => {
    const close = vi.spyOn(LocalEngine.prototype, 'close')
    const start = await call('attempt.start', { flow: 'root' })
    await call('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce })
    await session.close()
    expect(close).toHaveBeenCalledTimes(1)
    expect(await call('backend.describe')).toMatchObject({ kind: 'none' })
    expect(await call('session.state')).toMatchObject({ result: null, handOut: null, log: [] })
  })
})

/** `tessera web` as a child process, with a client of its RPC and what it printed so far. */
async function startWeb(keyset?: string) {
  const child = spawn(process.execPath, [TESSERA, 'web', '--port', '0', ...(keyset ? ['--keyset', keyset] : [])], {
    env: { ...process.env, TESSERA_CONFIG_DIR: join(dir, 'config') },
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const address = /open http:\/\/127\.0\.0\.1:(\d+)\/#access=([A-Za-z0-9_-]+)\n/
  for (let i = 0; i < 400 && !address.test(out); i++) await new Promise((r) => setTimeout(r, 25))
  const [, port, token] = address.exec(out)!
  const rpc = async (channel: string, input?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}/rpc/${channel}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(input ?? null),
    })
    expect(res.status).toBe(200)
    return (await res.json()) as Record<string, any>
  }
  return { child, rpc, exited, output: () => out }
}

/** The record's events, in order. */
const recordTypes = async (path: string) => (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).type as string)

describe('stopping tessera web', () => {
  it('on SIGTERM closes the open keyset, cancelling its running attempt, says so, and exits 0', async () => {
    const web = await startWeb(ks.path)
    const start = await web.rpc('attempt.start', { flow: 'root' })
    expect((await web.rpc('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce })).progress).toBe(1)
    web.child.kill('SIGTERM')
    expect(await web.exited).toBe(0)
    expect(web.output()).toContain('stopped: the root attempt in progress was cancelled and the shares given to it wiped\n')
    expect(web.output()).not.toContain(ks.keys[0]!)
  })

  it.for(['SIGTERM', 'SIGINT'] as const)('on %s with a finished result never decoded, says it was dropped and records it before the record closes', async (signal) => {
    const web = await startWeb(ks.path)
    const start = await web.rpc('attempt.start', { flow: 'root' })
    await web.rpc('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce })
    expect((await web.rpc('attempt.update', { flow: 'root', key: ks.keys[1], nonce: start.nonce })).complete).toBe(true)
    const { path } = (await web.rpc('session.state')).record
    web.child.kill(signal)
    expect(await web.exited).toBe(0)
    expect(web.output()).toContain('stopped: the finished root token was never decoded and is dropped with its one-time password: nobody can decode it now\n')
    expect((await recordTypes(path)).slice(-4)).toEqual(['completed', 'result_dropped', 'wiped', 'closed'])
  })

  it('says nothing is dropped once the result was decoded on screen', async () => {
    const web = await startWeb(ks.path)
    const start = await web.rpc('attempt.start', { flow: 'root' })
    await web.rpc('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce })
    const done = await web.rpc('attempt.update', { flow: 'root', key: ks.keys[1], nonce: start.nonce })
    await web.rpc('decode.held', { flow: 'root', encoded: done.encoded_root_token })
    web.child.kill('SIGTERM')
    expect(await web.exited).toBe(0)
    expect(web.output()).not.toContain('dropped')
  })

  it('on SIGINT during a hand-out, names the holders whose shares are lost and records it', async () => {
    const web = await startWeb()
    await web.rpc('backend.initKeyset', { path: join(dir, 'new.json'), shares: 2, threshold: 2, holders: ['Alice', 'Bob'] })
    await web.rpc('handout.revealShare', { index: 0 })
    const { path } = (await web.rpc('session.state')).record
    web.child.kill('SIGINT')
    expect(await web.exited).toBe(0)
    expect(web.output()).toContain('stopped: share 2 (Bob) was never handed out: lost for good\n')
    expect((await recordTypes(path)).slice(-3)).toEqual(['init_abandoned', 'wiped', 'closed'])
  })
})

describe('stopping tessera serve', () => {
  it('on SIGTERM cancels the running attempt, says so, and exits 0', async () => {
    const child = spawn(process.execPath, [TESSERA, 'serve', '--keyset', ks.path, '--port', '0'])
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    for (let i = 0; i < 400 && !/listening on http:\/\/[^\s]+:(\d+)\n/.test(out); i++) await new Promise((r) => setTimeout(r, 25))
    const url = /listening on (http:\/\/[^\s]+)\n/.exec(out)![1]!
    const put = (path: string, body: unknown) =>
      fetch(`${url}/v1/${path}`, { method: 'PUT', body: JSON.stringify(body) }).then((r) => r.json() as Promise<Record<string, unknown>>)
    const start = await put('sys/generate-root/attempt', {})
    expect(start.otp).toMatch(/^[0-9A-Za-z]{28}$/)
    expect((await put('sys/generate-root/update', { key: ks.keys[0], nonce: start.nonce })).progress).toBe(1)
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(out).toContain('stopped: the root attempt in progress was cancelled and the shares given to it wiped\n')
    expect(out).not.toContain(ks.keys[0]!)
  })
})
