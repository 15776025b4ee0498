import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { handlersFor } from '../src-main/ipc/handlers'
import { createRouter } from '../src-main/ipc/router'
import { Connections } from '../src-main/profiles/connections'
import { SessionCredentials } from '../src-main/profiles/credentials'
import { ProfileStore } from '../src-main/profiles/profile-store'
import { Session } from '../src-main/session/session'
import { ipcCalls } from './helpers/ipc'
import { tempDir } from './helpers/keysets'
import { startUninitializedApi } from './helpers/server'

/**
 * A rekey of a server through its saved profile and the IPC router, as the
 * page runs it: `tessera serve --uninitialized`'s real HTTP API, initialized by
 * the app (so with a server check file), unsealed, then rekeyed.
 */

let tmp: Awaited<ReturnType<typeof tempDir>>
let api: Awaited<ReturnType<typeof startUninitializedApi>>
let configDir: string
let session: Session
let profileId: string
const { call, refusal } = ipcCalls(() => createRouter(handlersFor(session)))

const HOLDERS = ['Alice', 'Bob', 'Carol']

beforeAll(async () => {
  tmp = await tempDir('tessera-server-rekey-')
})
afterAll(() => tmp.cleanup())
afterEach(async () => {
  await session.close()
  await api.close()
})

let n = 0
/** A server behind a saved profile, initialized 2-of-3 by the app for HOLDERS: its shares and root token; unsealed unless `unseal` is false. */
async function initialized(opts: { requireToken?: boolean; unseal?: boolean; token?: boolean } = {}): Promise<{ shares: string[]; token: string }> {
  n++
  configDir = join(tmp.dir, `config-${n}`)
  api = await startUninitializedApi(join(tmp.dir, `keyset-${n}.json`), { requireToken: opts.requireToken ?? false })
  const connections = new Connections(await ProfileStore.open(join(configDir, 'profiles.json')), new SessionCredentials())
  session = new Session({ connections, configDir })
  profileId = (await call('profiles.save', { profile: { name: 'Lab', address: api.url } })).id
  await call('backend.connectRemote', { id: profileId })
  await call('backend.initServer', { shares: 3, threshold: 2, holders: HOLDERS })
  const shares: string[] = []
  for (let i = 0; i < 3; i++) shares.push((await call('handout.revealShare', { index: i })).key)
  const token = (await call('handout.revealRootToken')).value as string
  await call('handout.finish')
  if (opts.unseal !== false) {
    await call('unseal.submit', { holder: 'Alice', key: shares[0] })
    expect((await call('unseal.submit', { holder: 'Bob', key: shares[1] })).unsealed).toBe(true)
    await call('unseal.finish')
  }
  // Connected again, with the root token where asked (sys/rotate/root needs one; without, the legacy sys/rekey is used).
  await call('backend.connectRemote', { id: profileId, ...(opts.token ?? opts.requireToken ? { token } : {}) })
  return { shares, token }
}

describe('a rekey offered on a server', () => {
  it('offers none on a sealed server, with no error, and says why a start is refused', async () => {
    await initialized({ unseal: false })
    const view = await call('rekey.status')
    expect(view).toMatchObject({ offered: null, status: null, verify: null, asked: null, backup: false })
    expect((await call('session.snapshot')).rekey.offered).toBeNull()
    expect(await refusal('rekey.start', { shares: 3, threshold: 2, verification: 'threshold' })).toMatchObject({
      code: 'sealed',
      message: 'The server is sealed: a root token, a new share or a rekey needs an unsealed server (a recovery token, one in recovery mode).',
    })
  })

  it('offers the legacy API on an unsealed server, and the same rekey each time', async () => {
    await initialized()
    const view = await call('rekey.status')
    expect(view.offered).toMatchObject({ api: 'legacy', verifyAll: true, verificationNone: false, backupInMemory: false })
    expect(view.status).toMatchObject({ started: false, required: 2 })
    const open = session.ceremony.openBackend!
    expect(await open.rekeyer()).toBe(await open.rekeyer())
  })

  it('offers sys/rotate/root on a server that requires a token', async () => {
    await initialized({ requireToken: true })
    expect((await call('rekey.status')).offered).toMatchObject({ api: 'rotate', verifyAll: true, verificationNone: false })
  })

  it("refuses verification 'none': the server would apply new shares a lost hand-out could not bring back", async () => {
    await initialized()
    const inits = () => api.logs.filter((l) => l.includes('sys/rekey/init') && l.startsWith('PUT')).length
    expect(await refusal('rekey.start', { shares: 3, threshold: 2, verification: 'none' })).toMatchObject({
      code: 'rekey_request',
      message: expect.stringMatching(/^Verification: a server puts unverified new shares in effect the moment it makes them.*choose a threshold of them, or every one\.$/),
    })
    expect(inits()).toBe(0)
    expect((await call('rekey.status')).status.started).toBe(false)
  })
})


