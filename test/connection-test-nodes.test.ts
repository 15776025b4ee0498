import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer as createTcpServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { ProfileStore } from '../src-main/profiles/profile-store'
import { Connections } from '../src-main/profiles/connections'
import { SessionCredentials } from '../src-main/profiles/credentials'
import { makeKeyset, tempDir } from './helpers/keysets'
import { startServe, type ServeProcess } from './helpers/cli'
import { makePki } from './helpers/tls'

let tmp: Awaited<ReturnType<typeof tempDir>>
const serves: ServeProcess[] = []
const servers: Array<{ close: () => void }> = []
const silentSockets: Socket[] = []
let healthy: ServeProcess
let sealed: ServeProcess
let untrusted: ServeProcess
let stoppedUrl: string
let notVaultUrl: string
let silentUrls: string[]

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  servers.push(server)
  const { port } = server.address() as { port: number }
  return `http://127.0.0.1:${port}`
}

beforeAll(async () => {
  tmp = await tempDir()
  const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
  const pki = makePki(tmp.dir)
  healthy = await startServe(['--keyset', ks.path])
  sealed = await startServe(['--keyset', ks.path, '--sealed'])
  // Its certificate chains to a CA the profile does not name.
  untrusted = await startServe(['--keyset', ks.path, '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey])
  serves.push(healthy, sealed, untrusted)
  const stopped = await startServe(['--keyset', ks.path])
  stoppedUrl = stopped.url
  await stopped.stop()
  // A web server, not a Vault: plain HTTP, a page of HTML.
  notVaultUrl = await listen(createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>It works!</body></html>')))
  // Two that take the connection and never answer.
  silentUrls = [
    await listen(createTcpServer((s) => silentSockets.push(s))),
    await listen(createTcpServer((s) => silentSockets.push(s))),
  ]
}, 60_000)

afterAll(async () => {
  for (const s of silentSockets) s.destroy()
  for (const s of servers) s.close()
  await Promise.all(serves.map((s) => s.stop()))
  await tmp.cleanup()
})

describe('Test connection on a profile that lists cluster nodes', () => {
  it('tries every node at once and says of each what answered, or why nothing did', async () => {
    const c = new Connections(await ProfileStore.open(join(tmp.dir, 'cluster.json')), new SessionCredentials())
    const nodes = [sealed.url, stoppedUrl, notVaultUrl, untrusted.url, ...silentUrls]
    const p = await c.save({ name: 'Cluster', address: healthy.url, nodes, timeoutSeconds: 2 }, undefined, undefined)
    const began = Date.now()
    const result = await c.test(p.id)
    const took = Date.now() - began
    // The profile's own address, as before.
    expect(result).toMatchObject({ reachable: true, initialized: true, sealed: false, tokenAccepted: null })
    if (!result.reachable) throw new Error('the own address failed')
    const host = (url: string) => new URL(url).host
    expect(result.nodes).toEqual([
      { address: healthy.url, reachable: true, version: result.version, initialized: true, sealed: false },
      { address: sealed.url, reachable: true, version: result.version, initialized: true, sealed: true },
      { address: stoppedUrl, reachable: false, problem: 'unreachable', reason: `Cannot reach ${host(stoppedUrl)}: connection refused. Is the server running?` },
      { address: notVaultUrl, reachable: false, problem: 'not_vault', reason: "The server's reply to GET sys/seal-status is not JSON." },
      {
        address: untrusted.url,
        reachable: false,
        problem: 'tls',
        reason: `The TLS certificate of ${host(untrusted.url)} is not trusted: its certificate chains to a CA that is not trusted. Add the server's CA file to the profile, or set its TLS server name.`,
      },
      ...silentUrls.map((url) => ({ address: url, reachable: false, problem: 'timeout', reason: `${host(url)} did not answer within 2 s.` })),
    ])
    expect(result.version).toMatch(/\d/)
    // Each node has its own 2 s: one after the other, the two silent nodes alone would take 4 s.
    expect(took).toBeLessThan(3_500)
  }, 30_000)

  it("when the profile's own address fails, says why and still reports every other node", async () => {
    const c = new Connections(await ProfileStore.open(join(tmp.dir, 'own-down.json')), new SessionCredentials())
    const p = await c.save({ name: 'Own down', address: stoppedUrl, nodes: [healthy.url, sealed.url, notVaultUrl] }, undefined, undefined)
    const result = await c.test(p.id, 'hvs.' + 'x'.repeat(24))
    const cannotReach = `Cannot reach ${new URL(stoppedUrl).host}: connection refused. Is the server running?`
    expect(result).toEqual({
      reachable: false,
      error: { code: 'unreachable', message: cannotReach },
      nodes: [
        { address: stoppedUrl, reachable: false, problem: 'unreachable', reason: cannotReach },
        { address: healthy.url, reachable: true, version: expect.stringMatching(/\d/), initialized: true, sealed: false },
        { address: sealed.url, reachable: true, version: expect.stringMatching(/\d/), initialized: true, sealed: true },
        { address: notVaultUrl, reachable: false, problem: 'not_vault', reason: "The server's reply to GET sys/seal-status is not JSON." },
      ],
    })
  })

  it('a profile without nodes lists its own address alone', async () => {
    const c = new Connections(await ProfileStore.open(join(tmp.dir, 'single.json')), new SessionCredentials())
    const p = await c.save({ name: 'One', address: healthy.url }, undefined, undefined)
    expect((await c.test(p.id)).nodes).toEqual([{ address: healthy.url, reachable: true, version: expect.any(String), initialized: true, sealed: false }])
  })
})
