import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ProfileStore, ProfileError } from '../src-main/profiles/profile-store'
import { Connections } from '../src-main/profiles/connections'
import { SessionCredentials } from '../src-main/profiles/credentials'
import { EngineError } from '../src-main/engine/errors'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { startServe, type ServeProcess } from './helpers/cli'

let tmp: Awaited<ReturnType<typeof tempDir>>
let ks: TestKeyset
let server: ServeProcess

beforeAll(async () => {
  tmp = await tempDir()
  ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
  server = await startServe(['--keyset', ks.path, '--require-token'])
})
afterAll(async () => {
  await server.stop()
  await tmp.cleanup()
})

describe('server profiles', () => {
  it('keep no secret in the file, and the token in the credential store', async () => {
    const path = join(tmp.dir, 'config', 'profiles.json')
    const credentials = new SessionCredentials()
    const c = new Connections(await ProfileStore.open(path), credentials)
    const saved = await c.save({ name: 'Prod', address: server.url, namespace: 'ops/' }, undefined, ks.rootToken)
    expect(saved).toMatchObject({ name: 'Prod', hasToken: true, risks: [] })
    const text = await readFile(path, 'utf8')
    expect(text).not.toContain(ks.rootToken)
    expect(JSON.parse(text).profiles[0]).toMatchObject({ name: 'Prod', address: server.url, namespace: 'ops/' })
    expect(await credentials.get(saved.id)).toBe(ks.rootToken)

    // A reopened store reads the same profiles back.
    const again = new Connections(await ProfileStore.open(path), credentials)
    expect((await again.list()).map((p) => p.name)).toEqual(['Prod'])

    // Edit keeps the token unless told to forget it.
    await c.save({ name: 'Production', address: server.url }, saved.id, undefined)
    expect(await credentials.get(saved.id)).toBe(ks.rootToken)
    await c.save({ name: 'Production', address: server.url }, saved.id, null)
    expect(await credentials.get(saved.id)).toBeUndefined()

    await c.remove(saved.id)
    expect(await c.list()).toEqual([])
    expect((await stat(join(tmp.dir, 'config'))).mode & 0o777).toBe(0o700)
  })

  it('refuse plain http beyond loopback unless allowed, and flag the risks', async () => {
    const c = new Connections(await ProfileStore.open(join(tmp.dir, 'risky.json')), new SessionCredentials())
    await expect(c.save({ name: 'x', address: 'http://vault.example:8200' }, undefined, undefined)).rejects.toBeInstanceOf(EngineError)
    const plain = await c.save({ name: 'x', address: 'http://vault.example:8200', allowInsecureHttp: true }, undefined, undefined)
    expect(plain.risks).toEqual(['plain-http'])
    const blind = await c.save({ name: 'y', address: 'https://vault.example:8200', skipVerify: true }, undefined, undefined)
    expect(blind.risks).toEqual(['no-tls-verification'])
    await expect(c.save({ name: '', address: 'https://a' }, undefined, undefined)).rejects.toBeInstanceOf(ProfileError)
  })

  it('test a connection: version, seal state, generate-root path, token', async () => {
    const credentials = new SessionCredentials()
    const c = new Connections(await ProfileStore.open(join(tmp.dir, 'test.json')), credentials)
    const p = await c.save({ name: 'Local', address: server.url }, undefined, undefined)
    expect(await c.test(p.id)).toMatchObject({ reachable: true, initialized: true, sealed: false, rootPath: 'sys/generate-root-token', tokenAccepted: null })
    expect((await c.test(p.id, 'hvs.' + 'x'.repeat(24))).tokenAccepted).toBe(false)
    expect((await c.test(p.id, ks.rootToken)).tokenAccepted).toBe(true)
  })

  it('name a corrupt profiles file', async () => {
    const path = join(tmp.dir, 'corrupt.json')
    await writeFile(path, '{"tessera_profiles": 1, "profiles": [{"name": 3}]}')
    await expect(ProfileStore.open(path)).rejects.toThrow(/is not a Tessera profiles file/)
    await writeFile(path, 'nope')
    await expect(ProfileStore.open(path)).rejects.toThrow(/corrupt: not valid JSON/)
  })
})
