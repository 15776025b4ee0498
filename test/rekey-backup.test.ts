import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { callApi, startApi, type Api } from './helpers/server'
import { startServe } from './helpers/cli'
import { Gpg } from './helpers/gnupg'

let tmp: Awaited<ReturnType<typeof tempDir>>
const gpg = new Gpg()
let pgpKeys: string[]
beforeAll(async () => {
  tmp = await tempDir()
  for (const uid of ['Pat <pat@example.org>', 'Quinn <quinn@example.org>']) gpg.generate(uid)
  pgpKeys = ['pat@example.org', 'quinn@example.org'].map((uid) => gpg.exportPublic(uid).toString('base64'))
})
afterAll(() => tmp.cleanup())

type Call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number; json: any }>

/** A rekey to two shares encrypted to Pat and Quinn, given `keys`: its nonce and its final update's answer. */
async function rekey(call: Call, keys: string[], opts: { backup: boolean; verify: boolean }) {
  const init = await call('PUT', 'sys/rekey/init', { secret_shares: 2, secret_threshold: 2, pgp_keys: pgpKeys, backup: opts.backup, require_verification: opts.verify })
  expect(init.status).toBe(200)
  let last = { status: 0, json: {} as any }
  for (const key of keys) last = await call('PUT', 'sys/rekey/update', { key, nonce: init.json.nonce })
  expect(last.json.complete).toBe(true)
  const shares: string[] = last.json.keys_base64.map((b64: string) => gpg.decryptBase64(b64))
  return { nonce: init.json.nonce as string, made: last.json, shares }
}

async function backupOf(call: Call, ks: TestKeyset): Promise<{ status: number; nonce?: string; keys?: unknown }> {
  const reply = await call('GET', 'sys/rekey/backup', undefined, { 'X-Vault-Token': ks.rootToken })
  return { status: reply.status, ...(reply.status === 200 ? { nonce: reply.json.data.nonce, keys: reply.json.data.keys } : {}) }
}

async function rootWith(call: Call, keys: string[]): Promise<boolean> {
  const { nonce } = (await call('PUT', 'sys/generate-root/attempt', {})).json
  let done = false
  for (const key of keys) done = (await call('PUT', 'sys/generate-root/update', { key, nonce })).json.complete === true
  if (!done) await call('DELETE', 'sys/generate-root/attempt')
  return done
}

describe("a rekey's backup lives as long as its new shares", () => {
  let ks: TestKeyset
  let api: Api
  beforeAll(async () => {
    ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    api = await startApi(ks.path)
  })
  afterAll(() => api.close())

  it('is readable once the new shares are made, as Vault stores it then, and goes when that rekey is cancelled', async () => {
    const { nonce } = await rekey(api.call, ks.keys.slice(0, 2), { backup: true, verify: true })
    expect(await backupOf(api.call, ks)).toMatchObject({ status: 200, nonce })
    expect((await api.call('DELETE', 'sys/rekey/init')).status).toBe(204)
    // Its shares never took effect: there is nothing to back up.
    expect(await backupOf(api.call, ks)).toEqual({ status: 400 })
    expect(await rootWith(api.call, ks.keys.slice(1, 3))).toBe(true)
  })

  it('a cancelled rekey leaves the backup of the shares in effect as it was; shares replaced by a rekey that kept none leave none', async () => {
    const first = await rekey(api.call, ks.keys.slice(0, 2), { backup: true, verify: false })
    const kept = await backupOf(api.call, ks)
    expect(kept).toMatchObject({ status: 200, nonce: first.nonce })

    const second = await rekey(api.call, first.shares, { backup: true, verify: true })
    expect(await backupOf(api.call, ks)).toMatchObject({ status: 200, nonce: second.nonce })
    await api.call('DELETE', 'sys/rekey/init')
    expect(await backupOf(api.call, ks)).toEqual(kept)
    expect(await rootWith(api.call, first.shares)).toBe(true)

    // A rekey without a backup replaces the shares the kept backup holds.
    const init = await api.call('PUT', 'sys/rekey/init', { secret_shares: 3, secret_threshold: 2 })
    for (const key of first.shares) await api.call('PUT', 'sys/rekey/update', { key, nonce: init.json.nonce })
    expect(await rootWith(api.call, first.shares)).toBe(false)
    expect(await backupOf(api.call, ks)).toEqual({ status: 400 })
  })
})

describe('tessera serve stopped while it holds a backup', () => {
  it("says that the backup, in memory only, is gone, and that a cancelled rekey's went with it", async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const serve = await startServe(['--keyset', ks.path])
    const call: Call = (method, path, body, headers) => callApi(serve.url, method, path, body, headers)
    const first = await rekey(call, ks.keys.slice(0, 2), { backup: true, verify: false })
    await rekey(call, first.shares, { backup: true, verify: true })
    await serve.stop()
    expect(serve.output()).toContain(
      'stopped: the rekey in progress (sys/rekey) was cancelled, the new shares it made are void and so is their backup; the shares given to it were wiped and the current shares stay in effect\n',
    )
    expect(serve.output()).toContain(
      `stopped: the backup of the shares in effect (sys/rekey/backup, rekey ${first.nonce}) was held in memory only and is gone; the shares themselves still work\n`,
    )
  })
})
