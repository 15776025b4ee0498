import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Socket } from 'node:net'
import { RemoteVault } from '../src-main/remote/remote-vault'
import type { ServerTarget } from '../src-main/remote/http-client'
import { Connections } from '../src-main/profiles/connections'
import { ProfileStore } from '../src-main/profiles/profile-store'
import { SessionCredentials } from '../src-main/profiles/credentials'
import { TesseraError } from '../src-main/support/errors'
import { listen } from '../src-main/server/listen'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { startServe } from './helpers/cli'
import { makePki, type TestPki } from './helpers/tls'

let tmp: Awaited<ReturnType<typeof tempDir>>
let ks: TestKeyset
let pki: TestPki
let otherPki: TestPki
const closers: (() => unknown)[] = []

beforeAll(async () => {
  tmp = await tempDir()
  ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
  pki = makePki(tmp.dir, 'good')
  otherPki = makePki(tmp.dir, 'other')
})
afterAll(async () => {
  for (const close of closers.reverse()) await close()
  await tmp.cleanup()
})

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** A plain http server on `host`, closed (connections too) after the file. */
async function httpServer(handler: Handler, host = '127.0.0.1'): Promise<{ server: Server; url: string; port: number }> {
  const server = createServer(handler)
  const { port } = await listen(server, host, 0)
  closers.push(() => {
    server.closeAllConnections()
    server.close()
  })
  return { server, url: `http://${host}:${port}`, port }
}

async function httpsServer(handler: Handler, certs: TestPki): Promise<{ url: string; port: number }> {
  const server = createTlsServer({ cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey) }, handler)
  const { port } = await listen(server, '127.0.0.1', 0)
  closers.push(() => {
    server.closeAllConnections()
    server.close()
  })
  return { url: `https://127.0.0.1:${port}`, port }
}

/** A server that records every request it gets and answers like a Vault attempt status. */
async function capturing(host = '127.0.0.1', certs?: TestPki) {
  const seen: IncomingMessage['headers'][] = []
  const handler: Handler = (req, res) => {
    seen.push(req.headers)
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.end(JSON.stringify({ started: true, nonce: 'n', progress: 1, required: 3 }))
  }
  const { url, port } = certs ? await httpsServer(handler, certs) : await httpServer(handler, host)
  return { url, port, seen }
}

/** A server that answers every request with a 307 to `where(req)`. */
const redirecting = (where: (req: IncomingMessage) => string): Handler => (req, res) => {
  req.resume()
  res.writeHead(307, { Location: where(req) })
  res.end()
}

async function refusal(p: Promise<unknown>): Promise<TesseraError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(TesseraError)
  return err as TesseraError
}

const TOKEN = 'hvs.CAESIredirecttoken0123456789'
const update = async (target: ServerTarget) => (await new RemoteVault(target, TOKEN).update('share', { key: Buffer.from(ks.keys[0]!), nonce: 'n' })).status

describe('redirects are checked hop by hop, before the hop sees a byte', () => {
  it('never follows plain http to another address, whatever its form', async () => {
    const elsewhere = await capturing('127.0.0.2')
    const otherPort = await capturing('127.0.0.1')
    for (const forbidden of [elsewhere.url, otherPort.url, `http://[::ffff:127.0.0.2]:${elsewhere.port}`]) {
      const standby = await httpServer(redirecting((req) => `${forbidden}${req.url}`))
      const err = await refusal(update({ address: standby.url }))
      expect(err.code).toBe('insecure_redirect')
      expect(err.message).toMatch(/over plain http; Tessera follows plain http only on the profile's own host and port/)
      expect(err.message).not.toContain(TOKEN)
    }
    // The token and the share never reached the forbidden targets.
    expect(elsewhere.seen).toHaveLength(0)
    expect(otherPort.seen).toHaveLength(0)
  })

  it('follows plain http within the same node: ::ffff:127.0.0.1 is 127.0.0.1', async () => {
    let port = 0
    const seen: string[] = []
    const node = await httpServer((req, res) => {
      seen.push(req.headers.host!)
      if (!req.headers.host!.startsWith('[')) return redirecting(() => `http://[::ffff:127.0.0.1]:${port}${req.url}`)(req, res)
      req.resume()
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ started: true, nonce: 'n', progress: 2, required: 3, complete: false }))
    }, '::')
    port = node.port
    const done = await update({ address: `http://127.0.0.1:${port}` })
    expect(done.progress).toBe(2)
    expect(seen).toHaveLength(2)
  })

  it('never goes from https to http', async () => {
    const plain = await capturing('127.0.0.1')
    const standby = await httpsServer(redirecting((req) => `${plain.url}${req.url}`), pki)
    const err = await refusal(update({ address: standby.url, ca: readFileSync(pki.caCert) }))
    expect(err.code).toBe('insecure_redirect')
    expect(err.message).toMatch(/redirected to plain http/)
    expect(plain.seen).toHaveLength(0)
  })

  it("checks another node's certificate even when the profile skips verification for its own", async () => {
    const impostor = await capturing('127.0.0.1', otherPki)
    const standby = await httpsServer(redirecting((req) => `${impostor.url}${req.url}`), otherPki)
    // skipVerify lets the profile reach its own self-made certificate, not the node it is sent to.
    const err = await refusal(update({ address: standby.url, skipVerify: true }))
    expect(err.code).toBe('tls')
    expect(err.message).toMatch(new RegExp(`certificate of 127\\.0\\.0\\.1:${impostor.port} is not trusted`))
    expect(impostor.seen).toHaveLength(0)
  })

  it("reaches another node under that node's own name, not the profile's TLS server name", async () => {
    const impostor = await capturing('127.0.0.1', pki)
    // The other node's certificate names 127.0.0.1, not the name given for the profile's node.
    const standby = await httpsServer(redirecting((req) => `${impostor.url}${req.url}`), pki)
    const done = await update({ address: standby.url, ca: readFileSync(pki.caCert), serverName: 'localhost' })
    expect(done.progress).toBe(1)
    expect(impostor.seen).toHaveLength(1)
    expect(impostor.seen[0]!['x-vault-token']).toBe(TOKEN)
  })

  it('refuses a Location that is not an address, in a sentence', async () => {
    const standby = await httpServer((req, res) => {
      req.resume()
      res.writeHead(307, { Location: 'http://[zz' })
      res.end()
    })
    const err = await refusal(update({ address: standby.url }))
    expect(err.code).toBe('bad_redirect')
    expect(err.message).toMatch(/redirected to something that is not an address/)
  })

  it("follows a standby's 307 to the active node over verified https, and the connection test names that node", async () => {
    const active = await startServe(['--keyset', ks.path, '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey])
    closers.push(() => active.stop())
    const standby = await httpsServer(redirecting((req) => `${active.url}${req.url}`), pki)
    const remote = new RemoteVault({ address: standby.url, ca: readFileSync(pki.caCert) })
    await remote.cancel('root')
    const { status: start } = await remote.start('root', {})
    await remote.update('root', { key: Buffer.from(ks.keys[0]!), nonce: start.nonce })
    const { status: done } = await remote.update('root', { key: Buffer.from(ks.keys[1]!), nonce: start.nonce })
    expect(done.complete).toBe(true)
    expect(remote.answeredBy).toBe(active.url)

    const c = new Connections(await ProfileStore.open(join(tmp.dir, 'cluster.json')), new SessionCredentials())
    const viaStandby = await c.save({ name: 'standby', address: standby.url, caFile: pki.caCert }, undefined, undefined)
    expect(await c.test(viaStandby.id)).toMatchObject({ reachable: true, answeredBy: active.url })
    const direct = await c.save({ name: 'active', address: active.url, caFile: pki.caCert }, undefined, undefined)
    expect(await c.test(direct.id)).not.toHaveProperty('answeredBy')
  })
})

describe('every call has one overall deadline', () => {
  /** Headers at once, then one body byte every 200 ms, forever. */
  async function dripping() {
    const closed: number[] = []
    const s = await httpServer((req, res) => {
      req.resume()
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.write('{')
      const drip = setInterval(() => res.write(' '), 200)
      res.on('close', () => {
        clearInterval(drip)
        closed.push(Date.now())
      })
    })
    return { ...s, closed }
  }

  it('ends a server that drips its reply, destroys the socket, and says so in a sentence', async () => {
    const s = await dripping()
    const began = Date.now()
    const err = await refusal(new RemoteVault({ address: s.url, timeoutMs: 1000 }).sealStatus())
    const took = Date.now() - began
    expect(err.code).toBe('timeout')
    expect(err.message).toBe(`127.0.0.1:${s.port} did not answer within 1 s.`)
    expect(took).toBeGreaterThanOrEqual(900)
    expect(took).toBeLessThan(4000)
    await expect.poll(() => s.closed.length).toBe(1)
  })

  it('ends a server that never answers, reads and writes alike, retries included', async () => {
    const sockets: Socket[] = []
    const s = await httpServer((req) => void sockets.push(req.socket))
    for (const call of [
      (r: RemoteVault) => r.status('root'),
      (r: RemoteVault) => r.update('share', { key: Buffer.from(ks.keys[0]!), nonce: 'n' }),
    ]) {
      const began = Date.now()
      const err = await refusal(call(new RemoteVault({ address: s.url, timeoutMs: 1000 })))
      expect(err.code).toBe('timeout')
      // One deadline for the whole call: a read's retries do not each get their own.
      expect(Date.now() - began).toBeLessThan(2500)
    }
    await expect.poll(() => sockets.every((sock) => sock.destroyed)).toBe(true)
  })

  it("takes the deadline from the profile's timeoutSeconds, and the connection test reports it", async () => {
    const s = await dripping()
    const c = new Connections(await ProfileStore.open(join(tmp.dir, 'slow.json')), new SessionCredentials())
    const p = await c.save({ name: 'slow', address: s.url, timeoutSeconds: 1 }, undefined, undefined)
    const began = Date.now()
    const result = await c.test(p.id)
    expect(result).toMatchObject({ reachable: false, error: { code: 'timeout', message: `127.0.0.1:${s.port} did not answer within 1 s.` } })
    expect(Date.now() - began).toBeLessThan(4000)
    await expect(c.save({ name: 'slow', address: s.url, timeoutSeconds: 301 }, undefined, undefined)).rejects.toThrow(/timeoutSeconds/)
    await expect(c.save({ name: 'slow', address: s.url, timeoutSeconds: 1.5 }, undefined, undefined)).rejects.toThrow(/timeoutSeconds/)
  })
})

describe('server replies are checked before use', () => {
  /** A server answering `GET path` with the given raw body (200), and 404 elsewhere. */
  async function answering(bodies: Record<string, string>) {
    const s = await httpServer((req, res) => {
      req.resume()
      const path = req.url!.replace(/^\/v1\//, '')
      const body = bodies[`${req.method} ${path}`]
      if (body === undefined) {
        res.writeHead(404, { 'Content-Type': 'application/json' })
        return res.end('{"errors":[]}')
      }
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(body)
    })
    return new RemoteVault({ address: s.url }, TOKEN)
  }
  const status = (fields: Record<string, unknown>) => JSON.stringify({ started: true, nonce: 'n', progress: 0, required: 3, otp_length: 28, ...fields })

  it.each([
    ['"28"', { otp_length: '28' }, /otp_length should be an integer from 0 to 128/],
    ['1e9', { otp_length: 1e9 }, /otp_length should be an integer from 0 to 128/],
    ['27.5', { otp_length: 27.5 }, /otp_length should be an integer from 0 to 128/],
    ['"true"', { complete: 'true' }, /complete should be true or false/],
    ['an object', { nonce: { n: 1 } }, /nonce should be at most 64 letters, digits or \. _ ~ : \+ \/ = -/],
    ['-1', { progress: -1 }, /progress should be an integer from 0 to 255/],
    ['a long string', { encoded_token: 'A'.repeat(70_000) }, /encoded_token should be a string of at most 65536 characters/],
  ])('an attempt status with %s', async (_what, fields, sentence) => {
    const remote = await answering({ 'GET sys/generate-root/attempt': status(fields) })
    const err = await refusal(remote.status('root'))
    expect(err.code).toBe('bad_reply')
    expect(err.message).toMatch(/^The server's reply to GET sys\/generate-root\/attempt is not what Vault sends: /)
    expect(err.message).toMatch(sentence)
    expect(err.message).not.toMatch(/1000000000|27\.5|"28"|AAAA/)
  })

  it('a start whose status carries a fractional otp_length', async () => {
    const remote = await answering({ 'GET sys/generate-root/attempt': status({ otp_length: 27.5 }) })
    expect((await refusal(remote.start('root', {}))).code).toBe('bad_reply')
  })

  it.each([
    ['not JSON', 'Service Unavailable', /is not JSON/],
    ['null', 'null', /it should be a JSON object/],
    ['a number for t', JSON.stringify({ initialized: true, sealed: false, t: '2', n: 3 }), /t should be an integer from 0 to 255/],
    ['without sealed', JSON.stringify({ initialized: true, t: 2, n: 3 }), /sealed: missing/],
    ['an array', '[]', /it should be a JSON object/],
  ])('a seal status that is %s', async (_what, body, sentence) => {
    const remote = await answering({ 'GET sys/seal-status': body })
    const err = await refusal(remote.sealStatus())
    expect(err.code).toBe('bad_reply')
    expect(err.message).toMatch(sentence)
  })

  it('an update whose reply is not an object, and a lookup-self that is not Vault\'s', async () => {
    const remote = await answering({ 'GET sys/generate-root-token/attempt': '[1]' })
    expect((await refusal(remote.status('root'))).message).toMatch(/generate-root-token\/attempt .*should be a JSON object/)
    const lookup = await answering({ 'GET auth/token/lookup-self': '{"data": "yes"}' })
    expect((await refusal(lookup.tokenAccepted())).message).toMatch(/data should be a JSON object/)
  })

  it('refuses a reply cut off before its end, and one larger than 1 MiB', async () => {
    const cut = await httpServer((req, res) => {
      req.resume()
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '200' })
      res.write('{"initialized": true,')
      setTimeout(() => res.destroy(), 50)
    })
    const err = await refusal(new RemoteVault({ address: cut.url }).update('share', { key: Buffer.from(ks.keys[0]!), nonce: 'n' }))
    expect(err.code).toBe('bad_reply')
    expect(err.message).toBe(`127.0.0.1:${cut.port} cut its reply off before the end.`)

    const huge = await httpServer((req, res) => {
      req.resume()
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(`{"nonce": "${'x'.repeat(2 * 1024 * 1024)}"}`)
    })
    const big = await refusal(new RemoteVault({ address: huge.url }).update('share', { key: Buffer.from(ks.keys[0]!), nonce: 'n' }))
    expect(big.message).toMatch(/sent a reply larger than 1 MiB/)
  })
})
