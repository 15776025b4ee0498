import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { ProfileStore } from '../src-main/profiles/profile-store'
import { Connections } from '../src-main/profiles/connections'
import { SessionCredentials } from '../src-main/profiles/credentials'
import { TesseraError } from '../src-main/support/errors'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { startServe, TESSERA, type ServeProcess } from './helpers/cli'
import { createRouter } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'

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
    await expect(c.save({ name: 'x', address: 'http://vault.example:8200' }, undefined, undefined)).rejects.toBeInstanceOf(TesseraError)
    const plain = await c.save({ name: 'x', address: 'http://vault.example:8200', allowInsecureHttp: true }, undefined, undefined)
    expect(plain.risks).toEqual(['plain-http'])
    const blind = await c.save({ name: 'y', address: 'https://vault.example:8200', skipVerify: true }, undefined, undefined)
    expect(blind.risks).toEqual(['no-tls-verification'])
    await expect(c.save({ name: '', address: 'https://a' }, undefined, undefined)).rejects.toMatchObject({ code: 'profile' })
  })

  it('test a connection: version, seal state, generate-root path, token', async () => {
    const credentials = new SessionCredentials()
    const c = new Connections(await ProfileStore.open(join(tmp.dir, 'test.json')), credentials)
    const p = await c.save({ name: 'Local', address: server.url }, undefined, undefined)
    expect(await c.test(p.id)).toMatchObject({ reachable: true, initialized: true, sealed: false, rootPath: 'sys/generate-root-token', tokenAccepted: null })
    expect(await c.test(p.id, 'hvs.' + 'x'.repeat(24))).toMatchObject({ reachable: true, tokenAccepted: false })
    expect(await c.test(p.id, ks.rootToken)).toMatchObject({ reachable: true, tokenAccepted: true })
  })

  it('refuse at save a namespace, address or token that cannot travel in an HTTP header, naming the field only', async () => {
    const path = join(tmp.dir, 'headers.json')
    const credentials = new SessionCredentials()
    const c = new Connections(await ProfileStore.open(path), credentials)
    const cases: Array<[field: string, input: { namespace?: string; address?: string }, token: string | undefined]> = [
      ['namespace', { namespace: 'ops\r\nX-Injected: 1' }, undefined],
      ['namespace', { namespace: 'ops\u0000' }, undefined],
      ['namespace', { namespace: 'équipe' }, undefined],
      ['namespace', { namespace: 'команда' }, undefined],
      ['token', {}, 'hvs.secret\r\nX-Injected: 1'],
      ['token', {}, 'hvs.sécret'],
      ['token', {}, 'hvs.s€cret'],
      ['address', { address: `${server.url}\r\n` + 'x' }, undefined],
      ['address', { address: `${server.url}\u0007` }, undefined],
    ]
    for (const [field, input, token] of cases) {
      const err = await c.save({ name: 'Bad', address: server.url, ...input }, undefined, token).then(() => undefined, (e: unknown) => e)
      expect(err, `${field} ${JSON.stringify(input)}`).toBeInstanceOf(TesseraError)
      const { message, code } = err as TesseraError
      expect(code).toMatch(/^bad_(header|address)$/)
      expect(message).toContain(`the ${field === 'address' ? 'server address' : field} holds`)
      for (const text of [...Object.values(input), token ?? '']) if (text) expect(message).not.toContain(text.slice(0, 6))
      expect(message).not.toContain('secret')
    }
    // Nor an address that is no address, or one holding a password: never quoted.
    for (const [address, problem] of [
      ['https://ops:hunter2secret@vault.example', 'holds a user name or password'],
      ['https://vault.example:99999', 'is not an http(s) address: expected https://host:port'],
      ['ftp://hunter2secret.example', 'is not an http(s) address'],
    ]) {
      const err = await c.save({ name: 'Bad', address: address! }, undefined, undefined).then(() => undefined, (e: unknown) => e)
      expect(err).toMatchObject({ code: 'bad_address', message: expect.stringContaining(`the server address ${problem}`) })
      expect((err as Error).message).not.toContain('hunter2')
      expect((err as Error).message).not.toContain('99999')
    }
    // Nothing was saved, and a printable ASCII namespace still is.
    expect(await c.list()).toEqual([])
    expect(await credentials.get('x')).toBeUndefined()
    await expect(c.save({ name: 'Ok', address: server.url, namespace: 'team a/ops' }, undefined, 'hvs.fine')).resolves.toMatchObject({ namespace: 'team a/ops' })
  })

  it('answer with a sentence, not an internal error, when a hand-edited profile or a given token cannot be sent', async () => {
    const config = join(tmp.dir, 'hand-edited')
    await mkdir(config, { recursive: true })
    const profiles = [
      { id: 'ns', name: 'Namespace', address: server.url, namespace: 'ops\r\nX-Injected: 1' },
      { id: 'addr', name: 'Address', address: server.url.replace('//', '//\n') },
      { id: 'ok', name: 'Fine', address: server.url },
    ]
    await writeFile(join(config, 'profiles.json'), JSON.stringify({ tessera_profiles: 1, profiles }))
    const dispatch = createRouter(handlersFor(new Session({ connections: new Connections(await ProfileStore.open(join(config, 'profiles.json')), new SessionCredentials()) })))
    const refused = async (channel: string, input: unknown) => {
      const r = await dispatch(channel, input)
      if (r.ok) throw new Error(`${channel} succeeded`)
      return r.error
    }
    for (const channel of ['profiles.test', 'backend.connectRemote']) {
      expect(await refused(channel, { id: 'ns' })).toEqual({ code: 'bad_header', message: 'The namespace holds a line break or control character, which its X-Vault-Namespace header cannot carry: type it again.' })
      expect(await refused(channel, { id: 'addr' })).toEqual({ code: 'bad_address', message: 'The server address holds a space, line break or control character: type it again.' })
      expect(await refused(channel, { id: 'ok', token: 'hvs.\u0000abc' })).toMatchObject({ code: 'bad_header', message: expect.stringContaining('The token holds a line break') })
      expect(await refused(channel, { id: 'ok', token: 'hvs.✓abc' })).toMatchObject({ code: 'bad_header', message: expect.stringContaining('The token holds a character outside ASCII') })
    }
  })

  it('name a damaged profiles file by field and problem, never by its content, and only where profiles are used', async () => {
    const path = join(tmp.dir, 'corrupt.json')
    // Nothing is read when the store opens: a damaged file stops nothing else.
    const store = await ProfileStore.open(path)
    const c = new Connections(store, new SessionCredentials())
    const token = 'hvs.' + 'A1b2C3d4'.repeat(3)
    const damaged = async (text: string) => {
      await writeFile(path, text)
      const err = await c.list().then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(TesseraError)
      expect(err).toMatchObject({ code: 'profile' })
      const { message } = err as TesseraError
      expect(message).toMatch(/^The server profiles file .*corrupt\.json is damaged \(.*\): remote servers are unavailable until it is repaired or removed\. Local keysets work as before\.$/)
      expect(message).not.toContain(token)
      expect(message.length).toBeLessThan(300)
      return /is damaged \((.*)\): remote/.exec(message)![1]
    }
    const entry = { id: 'a', name: 'Lab', address: server.url }
    expect(await damaged(JSON.stringify({ tessera_profiles: 1, profiles: [{ ...entry, name: 3 }] }))).toBe('profiles.0.name: expected string')
    expect(await damaged(JSON.stringify({ tessera_profiles: 1, profiles: [{ ...entry, address: token.repeat(80) }] }))).toBe('profiles.0.address: expected <=2048')
    // An unknown key is the file's text as much as a value is.
    expect(await damaged(JSON.stringify({ tessera_profiles: 1, profiles: [{ ...entry, [token]: 1 }] }))).toBe('profiles.0: unexpected field')
    expect(await damaged(JSON.stringify({ tessera_profiles: 1, profiles: [entry], [token]: 1 }))).toBe('file: unexpected field')
    expect(await damaged(JSON.stringify({ tessera_profiles: 2, profiles: [] }))).toBe('tessera_profiles: expected 1')
    expect(await damaged(`{"tessera_profiles": 1, "profiles": [${token}]}`)).toBe('not valid JSON')
    expect(await damaged(JSON.stringify({ tessera_profiles: 1 }))).toBe('profiles: missing')
    expect(await damaged(JSON.stringify(token))).toBe('file: expected Object')
    // Saving to a damaged file says the same, and leaves it as it was.
    await expect(c.save({ name: 'New', address: server.url }, undefined, undefined)).rejects.toThrow(/is damaged \(file: expected Object\)/)
    expect(await readFile(path, 'utf8')).toBe(JSON.stringify(token))
  })
})

/** `tessera web` as an operator starts it, with its printed address and access token. */
function startWeb(configDir: string): Promise<{ child: ChildProcess; port: number; token: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TESSERA_CONFIG_DIR: configDir }
    // No keychain: tokens stay in each process, never in the test machine's keychain.
    delete env.DBUS_SESSION_BUS_ADDRESS
    const child = spawn(process.execPath, [TESSERA, 'web', '--port', '0'], { env })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const m = /open http:\/\/127\.0\.0\.1:(\d+)\/#access=(\S+)/.exec(out)
      if (m) resolve({ child, port: Number(m[1]), token: m[2]! })
    })
    child.stderr.on('data', (d) => (out += d))
    child.on('close', (code) => reject(new Error(`tessera web exited with ${code}: ${out}`)))
  })
}

function rpc(web: { port: number; token: string }, channel: string, input: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1', port: web.port, method: 'POST', path: `/rpc/${channel}`,
        headers: { Host: `127.0.0.1:${web.port}`, Authorization: `Bearer ${web.token}`, 'Content-Type': 'application/json' },
      },
      (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(body) }))
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify(input))
  })
}

describe('tessera web with a damaged profiles file', () => {
  it('starts, runs a local ceremony, and says in the remote list that the file is damaged', async () => {
    const configDir = join(tmp.dir, 'damaged-config')
    await mkdir(configDir, { recursive: true })
    const content = JSON.stringify({ tessera_profiles: 1, profiles: [{ id: 'a', name: 'Lab', address: 'https://vault.example', token: ks.rootToken }] })
    await writeFile(join(configDir, 'profiles.json'), content)
    const web = await startWeb(configDir)
    try {
      const list = await rpc(web, 'profiles.list', null)
      expect(list).toEqual({
        status: 400,
        body: { code: 'profile', message: expect.stringMatching(/is damaged \(profiles\.0: unexpected field\): remote servers are unavailable/) },
      })
      expect(JSON.stringify(list.body)).not.toContain(ks.rootToken)
      expect(JSON.stringify(list.body)).not.toContain('vault.example')
      expect((await rpc(web, 'backend.openKeyset', { path: ks.path })).body).toMatchObject({ kind: 'local' })
      const start = await rpc(web, 'attempt.start', { flow: 'root' })
      expect(start.body).toMatchObject({ started: true })
      const updates = []
      for (const key of ks.keys.slice(0, 2)) updates.push(await rpc(web, 'attempt.update', { flow: 'root', key, nonce: start.body.nonce }))
      expect(updates.map((u) => u.body.progress)).toEqual([1, 2])
      expect(updates[1]!.body.complete).toBe(true)
      // The file is left as the operator had it.
      expect(await readFile(join(configDir, 'profiles.json'), 'utf8')).toBe(content)
    } finally {
      web.child.kill('SIGTERM')
    }
  })
})

describe('profiles changed at once', () => {
  it('keep every save made in parallel in one process', async () => {
    const path = join(tmp.dir, 'parallel', 'profiles.json')
    const credentials = new SessionCredentials()
    const c = new Connections(await ProfileStore.open(path), credentials)
    const saved = await Promise.all([1, 2, 3, 4, 5].map((i) => c.save({ name: `p${i}`, address: server.url }, undefined, `hvs.token${i}`)))
    expect((await c.list()).map((p) => p.name).sort()).toEqual(['p1', 'p2', 'p3', 'p4', 'p5'])
    // Every saved token belongs to a profile in the file: none is orphaned.
    for (const p of saved) expect(await credentials.get(p.id)).toBeDefined()
    const fresh = await ProfileStore.open(path)
    expect((await fresh.list()).map((p) => p.id).sort()).toEqual(saved.map((p) => p.id).sort())
  })

  it('keep every save made in parallel by two tessera web processes, and each sees the other\'s', async () => {
    const configDir = join(tmp.dir, 'shared-config')
    const webs = await Promise.all([startWeb(configDir), startWeb(configDir)])
    try {
      const saves = webs.flatMap((web, w) =>
        [1, 2, 3, 4, 5].map((i) => rpc(web, 'profiles.save', { profile: { name: `w${w}-p${i}`, address: server.url } })),
      )
      const replies = await Promise.all(saves)
      for (const r of replies) expect(r.status).toBe(200)
      const names = replies.map((r) => r.body.name as string).sort()
      expect(names).toHaveLength(10)
      const file = JSON.parse(await readFile(join(configDir, 'profiles.json'), 'utf8'))
      expect(file.profiles.map((p: { name: string }) => p.name).sort()).toEqual(names)
      for (const web of webs) {
        const list = await rpc(web, 'profiles.list', null)
        expect(list.body.profiles.map((p: { name: string }) => p.name).sort()).toEqual(names)
      }
      // A profile one process removes is gone for the other too.
      const gone = replies[0]!.body.id as string
      expect((await rpc(webs[1], 'profiles.remove', { id: gone })).status).toBe(200)
      const after = await rpc(webs[0], 'profiles.list', null)
      expect(after.body.profiles.map((p: { id: string }) => p.id)).not.toContain(gone)
    } finally {
      for (const web of webs) web.child.kill('SIGTERM')
    }
  })

  it('keep the token of a profile whose removal could not be written', async () => {
    const dir = join(tmp.dir, 'unwritable')
    const path = join(dir, 'profiles.json')
    const credentials = new SessionCredentials()
    const c = new Connections(await ProfileStore.open(path), credentials)
    const p = await c.save({ name: 'keep', address: server.url }, undefined, 'hvs.keepme')
    // The file turns into a directory: the removal cannot be written.
    await rm(path)
    await mkdir(join(path, 'blocker'), { recursive: true })
    await expect(c.remove(p.id)).rejects.toThrow(/profiles/)
    expect(await credentials.get(p.id)).toBe('hvs.keepme')
  })
})
