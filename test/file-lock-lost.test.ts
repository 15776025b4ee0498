import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { withFileLock, writeFileAtomic } from '../src-main/support/files'
import { openKeysetFile, rewriteKeysetFile } from '../src-main/engine/keyset-file'
import { startServe } from './helpers/cli'
import { makeKeyset, tempDir } from './helpers/keysets'
import { callApi } from './helpers/server'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

/** What proper-lockfile's refresh timer would throw, were it left to its default. */
const uncaught: unknown[] = []
const onUncaught = (err: unknown) => uncaught.push(err)
beforeEach(() => {
  uncaught.length = 0
  process.on('uncaughtException', onUncaught)
})
afterEach(() => {
  process.off('uncaughtException', onUncaught)
})

/** The refresh timer runs every half stale time (10 s): past it, the library has seen the loss. */
const PAST_REFRESH_MS = 5_600

async function fileWith(name: string, text: string): Promise<string> {
  const path = join(tmp.dir, name)
  await writeFile(path, text)
  return path
}

describe('a file lock lost while held', () => {
  it('removed by someone: the refresh timer throws nothing, and the write is refused unwritten', async () => {
    const path = await fileWith('removed.json', 'old')
    const err = await withFileLock(path, async (target, lock) => {
      await rm(`${target}.lock`, { recursive: true })
      await sleep(PAST_REFRESH_MS)
      await writeFileAtomic(target, 'new', { overwrite: true, lock })
    }).catch((e: unknown) => e)
    expect(uncaught).toEqual([])
    expect(err).toMatchObject({ code: 'lock_lost' })
    expect((err as Error).message).toBe(`the lock on ${path} was lost while it was being written (its lock was removed by someone else): the change was not written; open it again and retry`)
    expect(await readFile(path, 'utf8')).toBe('old')
  }, 15_000)

  it("taken over by another process: refused at once, unwritten, and the other's lock is left to it", async () => {
    const path = await fileWith('taken.json', 'old')
    const lockDir = `${path}.lock`
    const err = await withFileLock(path, async (target, lock) => {
      await rm(lockDir, { recursive: true })
      await mkdir(lockDir)
      await writeFile(join(lockDir, 'owner'), 'elsewhere 4242 00ff')
      await writeFileAtomic(target, 'new', { overwrite: true, lock })
    }).catch((e: unknown) => e)
    expect((err as Error).message).toMatch(/\(another process took its lock over\): the change was not written/)
    expect(await readFile(path, 'utf8')).toBe('old')
    expect(await readFile(join(lockDir, 'owner'), 'utf8')).toBe('elsewhere 4242 00ff')
    await rm(lockDir, { recursive: true })
  })

  it('lost once the file was replaced: the sentence says the change was written', async () => {
    const path = await fileWith('after.json', 'old')
    const err = await withFileLock(path, async (target, lock) => {
      await writeFileAtomic(target, 'new', { overwrite: true, lock })
      await rm(`${target}.lock`, { recursive: true })
      await lock.assertHeld('after')
    }).catch((e: unknown) => e)
    expect((err as Error).message).toMatch(/: the change was written, but another process may have changed it since; open it again to see what it holds$/)
    expect(await readFile(path, 'utf8')).toBe('new')
  })

  it('a keyset rewrite whose lock went during the change leaves the keyset file as it was', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const opened = await openKeysetFile(ks.path)
    const before = await stat(ks.path)
    const err = await rewriteKeysetFile(ks.path, opened.data, async (fresh) => {
      await rm(`${ks.path}.lock`, { recursive: true })
      return { ...fresh, tokens: [] }
    }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'lock_lost' })
    expect((err as Error).message).toMatch(/the change was not written/)
    expect((await stat(ks.path)).ino).toBe(before.ino)
    expect(await readFile(ks.path, 'utf8')).toBe(opened.text)
  })
})

/**
 * Stops `pid` (SIGSTOP) the moment its temp file for `path` appears: it is
 * then writing under the lock, not yet committed. The watching runs in a
 * process of its own that does nothing else. Resolves once it watches;
 * `stopped` says whether the lock was still there once the process stood still.
 */
async function stopWhileWriting(pid: number, path: string): Promise<{ stopped: Promise<'held' | 'missed'> }> {
  const script = `
    const { existsSync, readdirSync } = require('node:fs')
    const { basename, dirname } = require('node:path')
    const path = process.env.TARGET
    const prefix = '.' + basename(path) + '.'
    console.log('watching')
    const until = Date.now() + 10000
    while (!readdirSync(dirname(path)).some((n) => n.startsWith(prefix) && n.endsWith('.tmp')) && Date.now() < until);
    process.kill(Number(process.env.PID), 'SIGSTOP')
    console.log(existsSync(path + '.lock') ? 'held' : 'missed')
  `
  const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, TARGET: path, PID: String(pid) } })
  let out = ''
  const stopped = new Promise<'held' | 'missed'>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', () => resolve(/held/.test(out) ? 'held' : 'missed'))
  })
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (d: Buffer) => {
      out += d
      if (out.includes('watching')) resolve()
    }),
  )
  return { stopped }
}

describe('tessera serve, its keyset lock removed while it writes', () => {
  it('keeps serving, and its answer says what became of the keyset', async () => {
    let caught = false
    for (let tries = 0; tries < 8 && !caught; tries++) {
      const ks = await makeKeyset(tmp.dir, { shares: 1, threshold: 1 })
      const serve = await startServe(['--keyset', ks.path])
      try {
        const { otp } = (await callApi(serve.url, 'PUT', 'sys/generate-root/attempt', {})).json
        expect(otp).toBeTruthy()
        const nonce = (await callApi(serve.url, 'GET', 'sys/generate-root/attempt')).json.nonce
        const before = await stat(ks.path)
        const { stopped } = await stopWhileWriting(serve.pid, ks.path)
        // The last share: the new root token is written into the keyset, under its lock.
        const answer = callApi(serve.url, 'PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce })
        if ((await stopped) === 'missed') {
          process.kill(serve.pid, 'SIGCONT')
          await answer
          continue
        }
        caught = true
        await rm(`${ks.path}.lock`, { recursive: true })
        // Stopped long enough for its refresh timer to be due as it wakes, as after a suspend.
        await sleep(PAST_REFRESH_MS)
        process.kill(serve.pid, 'SIGCONT')
        const reply = await answer
        await sleep(1_000)
        // Still serving.
        expect((await callApi(serve.url, 'GET', 'sys/seal-status')).status).toBe(200)
        expect(serve.output()).not.toMatch(/ECOMPROMISED|Unable to update lock/)
        // Its answer says what became of the keyset, and the file agrees.
        expect(reply.status).toBe(500)
        const message: string = reply.json.errors[0]
        expect(message).toMatch(/^the lock on .* was lost while it was being written \(its lock was removed by someone else\): the change (was not written|was written)/)
        expect((await stat(ks.path)).ino !== before.ino).toBe(/the change was written/.test(message))
        // And it writes the keyset again, under a lock of its own.
        await callApi(serve.url, 'DELETE', 'sys/generate-root/attempt')
        await callApi(serve.url, 'PUT', 'sys/generate-root/attempt', {})
        const again = (await callApi(serve.url, 'GET', 'sys/generate-root/attempt')).json.nonce
        expect((await callApi(serve.url, 'PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce: again })).json.complete).toBe(true)
      } finally {
        process.kill(serve.pid, 'SIGCONT')
        await serve.stop()
      }
    }
    expect(caught).toBe(true)
  }, 120_000)
})
