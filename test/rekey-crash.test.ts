import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readdir } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { startServe, type ServeProcess } from './helpers/cli'
import { makeKeyset, tempDir, keysOpen } from './helpers/keysets'
import { callApi } from './helpers/server'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

/** A rekey with verification brought to its last share: what completes it, and the new shares. */
async function upToLastVerify(serve: ServeProcess, old: string[]): Promise<{ keys: string[]; vnonce: string }> {
  const { nonce } = (await callApi(serve.url, 'PUT', 'sys/rekey/init', { secret_shares: 3, secret_threshold: 2, require_verification: true })).json
  await callApi(serve.url, 'PUT', 'sys/rekey/update', { key: old[0], nonce })
  const made = await callApi(serve.url, 'PUT', 'sys/rekey/update', { key: old[1], nonce })
  const vnonce = made.json.verification_nonce
  expect((await callApi(serve.url, 'PUT', 'sys/rekey/verify', { key: made.json.keys[0], nonce: vnonce })).json.progress).toBe(1)
  return { keys: made.json.keys, vnonce }
}

/** `kill -9`, then waits until the process is gone: none of its own clean-up runs. */
async function sigkill(serve: ServeProcess): Promise<void> {
  process.kill(serve.pid, 'SIGKILL')
  for (;;) {
    try {
      process.kill(serve.pid, 0)
    } catch {
      return
    }
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe('kill -9 during a rekey (a real tessera serve, killed)', () => {
  it('leaves the old keyset whole or the new one whole, at every moment of the completing verify', async () => {
    const outcomes = { old: 0, new: 0 }
    // Infinity: killed once the reply came, so that a slow machine still sees the new keyset once.
    for (const delay of [0, 10, 20, 35, 50, 75, 100, 150, 250, Infinity]) {
      const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
      const serve = await startServe(['--keyset', ks.path])
      const { keys, vnonce } = await upToLastVerify(serve, ks.keys)
      const last = callApi(serve.url, 'PUT', 'sys/rekey/verify', { key: keys[1], nonce: vnonce }).catch(() => null)
      await (delay === Infinity ? last : new Promise((r) => setTimeout(r, delay)))
      await sigkill(serve)
      await last
      const oldOpens = await keysOpen(ks.path, ks.keys.slice(1, 3))
      const newOpens = await keysOpen(ks.path, keys.slice(1, 3))
      expect(oldOpens !== newOpens, `after ${delay} ms: old ${oldOpens}, new ${newOpens}`).toBe(true)
      outcomes[oldOpens ? 'old' : 'new']++
      // No temp file of the killed writer is left once the keyset is opened again (a lock it had
      // no time to sign is judged by its age, as test/keyset-litter.test.ts shows).
      expect((await readdir(dirname(ks.path))).filter((n) => n.includes(basename(ks.path)) && n.endsWith('.tmp'))).toEqual([])
    }
    // The kills fell on both sides of the write, so the test saw both outcomes.
    expect(outcomes.old).toBeGreaterThan(0)
    expect(outcomes.new).toBeGreaterThan(0)
  }, 180_000)

  it('a kill before the new shares take effect (after init, at the update threshold) leaves the keyset as it was', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const serve = await startServe(['--keyset', ks.path])
    const { keys } = await upToLastVerify(serve, ks.keys)
    await sigkill(serve)
    expect(await keysOpen(ks.path, ks.keys.slice(0, 2))).toBe(true)
    expect(await keysOpen(ks.path, keys.slice(0, 2))).toBe(false)
  })
})

describe('two processes racing to complete a rekey of one keyset', () => {
  it('never both win: one completes, the other is told its rekey was superseded, and only the winner\'s shares open it', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const a = await startServe(['--keyset', ks.path])
    const b = await startServe(['--keyset', ks.path])
    try {
      const ra = await upToLastVerify(a, ks.keys)
      const rb = await upToLastVerify(b, ks.keys)
      const [da, db] = await Promise.all([
        callApi(a.url, 'PUT', 'sys/rekey/verify', { key: ra.keys[1], nonce: ra.vnonce }),
        callApi(b.url, 'PUT', 'sys/rekey/verify', { key: rb.keys[1], nonce: rb.vnonce }),
      ])
      const statuses = [da.status, db.status].sort()
      expect(statuses, `${da.text} ${db.text}`).toEqual([200, 409])
      const [winner, loser] = da.status === 200 ? [ra, rb] : [rb, ra]
      const refused = da.status === 200 ? db : da
      expect(refused.json.errors[0]).toMatch(/^the rekey was not applied: .* was rekeyed or replaced by another program since this rekey began/)
      expect(await keysOpen(ks.path, winner.keys.slice(0, 2))).toBe(true)
      expect(await keysOpen(ks.path, loser.keys.slice(0, 2))).toBe(false)
      expect(await keysOpen(ks.path, ks.keys.slice(0, 2))).toBe(false)
      // The loser's rekey is gone, not left half done.
      const loserUrl = da.status === 200 ? b.url : a.url
      expect((await callApi(loserUrl, 'GET', 'sys/rekey/init')).json.started).toBe(false)
    } finally {
      await a.stop()
      await b.stop()
    }
  })
})
