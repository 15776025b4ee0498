import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { withFileLock } from '../src-main/support/files'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { startApi, type Api } from './helpers/server'

/**
 * A status is read over real loopback HTTP as a client polls it: it must show
 * every change an answered request made, and never an operation half done.
 */

let tmp: Awaited<ReturnType<typeof tempDir>>
let ks: TestKeyset
let api: Api

beforeAll(async () => {
  tmp = await tempDir()
  ks = await makeKeyset(tmp.dir, { shares: 5, threshold: 3 })
  api = await startApi(ks.path)
})
afterAll(async () => {
  await api.close()
  await api.engine.close()
  await tmp.cleanup()
})

const status = async () => {
  const reply = await api.call('GET', 'sys/generate-root/attempt')
  expect(reply.status).toBe(200)
  return reply.json
}

describe('the status of tessera serve', () => {
  it('shows each answered start, update, refusal and cancel at once', async () => {
    expect(await status()).toMatchObject({ started: false, progress: 0, nonce: '' })
    const { nonce } = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
    expect(await status()).toMatchObject({ started: true, progress: 0, nonce, required: 3, otp: '' })
    expect((await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce })).json.progress).toBe(1)
    expect(await status()).toMatchObject({ started: true, progress: 1, nonce })
    // A refused share changes nothing.
    expect((await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce })).status).toBe(400)
    expect(await status()).toMatchObject({ started: true, progress: 1, nonce })
    expect((await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[1], nonce })).json.progress).toBe(2)
    expect(await status()).toMatchObject({ started: true, progress: 2, nonce })
    expect((await api.call('DELETE', 'sys/generate-root/attempt')).status).toBe(204)
    expect(await status()).toMatchObject({ started: false, progress: 0, nonce: '' })
  })

  it('shows the attempt finished once the last share is answered', async () => {
    const { nonce } = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
    for (const key of ks.keys.slice(0, 2)) await api.call('PUT', 'sys/generate-root/update', { key, nonce })
    const last = await api.call('PUT', 'sys/generate-root/update', { key: ks.keys[2], nonce })
    expect(last.json).toMatchObject({ complete: true, progress: 3 })
    expect(await status()).toMatchObject({ started: false, progress: 0, nonce: '', complete: false })
  })

  it('answers a status asked while the last share is being committed only once it is, never half way', async () => {
    const { nonce } = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
    for (const key of ks.keys.slice(0, 2)) await api.call('PUT', 'sys/generate-root/update', { key, nonce })
    // The keyset's lock held by another program keeps the last share's commit waiting.
    let unlock: (() => void) | undefined
    const held = withFileLock(ks.path, () => new Promise<void>((resolve) => (unlock = resolve)))
    await vi.waitFor(() => expect(unlock).toBeDefined())
    const last = api.call('PUT', 'sys/generate-root/update', { key: ks.keys[2], nonce })
    await new Promise((resolve) => setTimeout(resolve, 200))
    const seen: unknown[] = []
    const polls = Promise.all([status(), status(), status()]).then((all) => seen.push(...all))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(seen).toEqual([])
    unlock!()
    await held
    expect((await last).json).toMatchObject({ complete: true })
    await polls
    for (const s of seen) expect(s).toMatchObject({ started: false, progress: 0, nonce: '' })
  })
})
