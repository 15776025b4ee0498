import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { execFileSync, spawn } from 'node:child_process'
import { mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { LocalEngine } from '../src-main/engine/local-engine'
import { runCli, startServe, TESSERA } from './helpers/cli'
import { makeKeyset, tempDir } from './helpers/keysets'
import { callApi } from './helpers/server'

/** Every file this process opens, counted by path: a keyset read is an open of its path. */
const opened = vi.hoisted(() => new Map<string, number>())
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>()
  const open: typeof real.open = (path, flags, mode) => {
    opened.set(String(path), (opened.get(String(path)) ?? 0) + 1)
    return real.open(path, flags, mode)
  }
  return { ...real, open, default: { ...real, open } }
})

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

/**
 * Runs `script` in a node process until it prints "ready", then kills it with
 * SIGKILL, as `kill -9` does: nothing of its own clean-up runs. Resolves to its pid.
 */
async function killedWhileRunning(script: string, env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env }, cwd: join(import.meta.dirname, '..') })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d
      if (out.includes('ready')) resolve()
    })
    child.on('error', reject)
    child.on('close', (code) => reject(new Error(`exited with ${code} before it was killed`)))
  })
  const gone = new Promise((resolve) => child.once('close', resolve))
  child.kill('SIGKILL')
  await gone
  return child.pid!
}

/**
 * A writer killed between its temp file and its rename, while holding the
 * keyset's lock: the lock directory with its holder's name and the temp file,
 * as Tessera names them.
 */
const KILLED_WRITER = `
  const { mkdirSync, writeFileSync } = require('node:fs')
  const { basename, dirname, join } = require('node:path')
  const path = process.env.KEYSET
  mkdirSync(path + '.lock')
  writeFileSync(join(path + '.lock', 'owner'), require('node:os').hostname() + ' ' + process.pid)
  writeFileSync(join(dirname(path), '.' + basename(path) + '.' + process.pid + '.0123456789ab.tmp'), '{"tessera_keyset": 3, "sch')
  console.log('ready')
  setInterval(() => undefined, 1000)`

const litterOf = async (path: string) => (await readdir(join(path, '..'))).filter((n) => n !== basename(path) && n.includes(basename(path)))

describe('what a killed process leaves beside a keyset', () => {
  it('a stale lock and an old temp file are removed by the next run that opens the keyset', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    // A lock with no holder's name (another program's, or an earlier version's), idle for a minute,
    // and a temp file of an earlier version (no pid in its name) as old.
    const legacy = join(tmp.dir, `.${basename(ks.path)}.a1b2c3d4e5f6.tmp`)
    await writeFile(legacy, '{')
    await mkdir(`${ks.path}.lock`)
    const aMinuteAgo = new Date(Date.now() - 60_000)
    await utimes(legacy, aMinuteAgo, aMinuteAgo)
    await utimes(`${ks.path}.lock`, aMinuteAgo, aMinuteAgo)
    expect((await litterOf(ks.path)).sort()).toEqual([basename(legacy), `${basename(ks.path)}.lock`].sort())

    const engine = await LocalEngine.open(ks.path)
    await engine.close()
    expect(await litterOf(ks.path)).toEqual([])
  })

  it('a lock whose holder was killed is taken over by the next writer at once, and its temp file removed', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const serve = await startServe(['--keyset', ks.path])
    try {
      const pid = await killedWhileRunning(KILLED_WRITER, { KEYSET: ks.path })
      expect((await litterOf(ks.path)).sort()).toEqual([`.${basename(ks.path)}.${pid}.0123456789ab.tmp`, `${basename(ks.path)}.lock`].sort())
      const start = (await callApi(serve.url, 'PUT', 'sys/generate-root/attempt', {})).json
      await callApi(serve.url, 'PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce: start.nonce })
      const t0 = performance.now()
      const done = await callApi(serve.url, 'PUT', 'sys/generate-root/update', { key: ks.keys[1], nonce: start.nonce })
      expect(done.json.complete, done.text).toBe(true)
      // A lock judged by its age alone would have kept this write waiting for 10 s.
      expect(performance.now() - t0).toBeLessThan(5000)
    } finally {
      await serve.stop()
    }
    expect(await litterOf(ks.path)).toEqual([])
  })

  it('a lock whose owner file is a FIFO or a link is judged by its age, without waiting on it', async () => {
    for (const kind of ['fifo', 'link']) {
      const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
      await mkdir(`${ks.path}.lock`)
      if (kind === 'fifo') execFileSync('mkfifo', [join(`${ks.path}.lock`, 'owner')])
      else await symlink('/dev/zero', join(`${ks.path}.lock`, 'owner'))
      const aMinuteAgo = new Date(Date.now() - 60_000)
      await utimes(`${ks.path}.lock`, aMinuteAgo, aMinuteAgo)
      const t0 = performance.now()
      await (await LocalEngine.open(ks.path)).keyset.addRootToken(Buffer.from('hvs.a-token-of-24-chars-xyzw'))
      expect(performance.now() - t0, kind).toBeLessThan(5000)
      expect(await litterOf(ks.path), kind).toEqual([])
    }
  })

  it('a temp file of a live writer is left alone', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    // The process that started this test runner is alive, and is not this one.
    const live = `.${basename(ks.path)}.${process.ppid}.0123456789ab.tmp`
    await writeFile(join(tmp.dir, live), '{')
    await (await LocalEngine.open(ks.path)).keyset.addRootToken(Buffer.from('hvs.a-token-of-24-chars-xyzw'))
    expect(await litterOf(ks.path)).toEqual([live])
  })

  it('init killed with kill -9 while it holds its path: the next init takes the path over at once', async () => {
    const path = join(tmp.dir, 'init-killed.json')
    // 255 shares: init holds the path's lock for seconds while it derives their check values.
    const child = spawn(process.execPath, [TESSERA, 'init', '--keyset', path, '--shares', '255', '--threshold', '3', '--format', 'json'])
    const gone = new Promise((resolve) => child.once('close', resolve))
    // Until the owner file holds its line: killed between its creation and its write, the lock is judged by age.
    while (!(await readFile(join(`${path}.lock`, 'owner'), 'utf8').catch(() => '')).includes(' ')) {
      if (child.exitCode !== null) throw new Error('init ended before it could be killed')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    child.kill('SIGKILL')
    await gone
    expect(await litterOf(path)).toEqual([`${basename(path)}.lock`])

    // The lock is made to look fresh for a minute: only its dead owner can explain a takeover now.
    const future = new Date(Date.now() + 60_000)
    await utimes(`${path}.lock`, future, future)
    const init = await runCli(['init', '--keyset', path, '--shares', '3', '--threshold', '2', '--format', 'json'])
    expect(init.code, init.stderr).toBe(0)
    expect(await litterOf(path)).toEqual([])
  })
})

describe('an unknown share or token', () => {
  it('is answered without reading the keyset again while the file is unchanged, and read once when it changed', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const foreign = await makeKeyset(tmp.dir, { shares: 20, threshold: 2 })
    const ours = new Set(ks.keys.map((k) => k.slice(-2)))
    const outsider = foreign.keys.find((k) => !ours.has(k.slice(-2)))!
    const engine = await LocalEngine.open(ks.path)
    const other = await LocalEngine.open(ks.path)
    try {
      const { status: { nonce } } = await engine.start('root', {})
      opened.delete(ks.path)
      for (let i = 0; i < 20; i++) {
        await expect(engine.update('root', { key: Buffer.from(outsider), nonce })).rejects.toMatchObject({ code: 'share_unknown' })
        expect(await engine.lookupToken(`hvs.${'x'.repeat(24)}`)).toBeUndefined()
      }
      expect(opened.get(ks.path) ?? 0).toBe(0)

      // Another program on the keyset issues a share: the next unknown number reads the file once.
      await other.start('share', {})
      await other.update('share', { key: Buffer.from(ks.keys[0]!), nonce: '' })
      const { status: issued } = await other.update('share', { key: Buffer.from(ks.keys[1]!), nonce: '' })
      opened.delete(ks.path)
      const { status: r } = await engine.update('root', { key: Buffer.from(issued.key!), nonce })
      expect(r.progress).toBe(1)
      expect(opened.get(ks.path)).toBe(1)
    } finally {
      await engine.close()
      await other.close()
    }
  })
})
