import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import fc from 'fast-check'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { LocalEngine } from '../src-main/engine/local-engine'
import { createApiServer } from '../src-main/server/http-api'
import { hostPolicy } from '../src-main/server/host-policy'
import { listen } from '../src-main/server/listen'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { spawnServe, type Spawned } from './helpers/processes'

/**
 * DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1
 * reaches `tessera serve` with `Host: evil.example`. On loopback only loopback
 * names and the certificate's own names are served; an Origin that is not this
 * server's is refused everywhere (Vault clients send none).
 */

let tmp: Awaited<ReturnType<typeof tempDir>>
let ks: TestKeyset
let plain: Spawned
let tls: Spawned

function call(port: number, opts: { method?: string; path?: string; headers: Record<string, string>; secure?: boolean }) {
  return new Promise<{ status: number; json: any }>((resolve, reject) => {
    const request = opts.secure ? httpsRequest : httpRequest
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/v1/sys/seal-status',
        headers: opts.headers,
        rejectUnauthorized: false,
      },
      (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode!, json: body ? JSON.parse(body) : undefined }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

beforeAll(async () => {
  tmp = await tempDir('tessera-host-')
  ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
  const cert = join(tmp.dir, 'cert.pem')
  const key = join(tmp.dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=rehearsal', '-addext', 'subjectAltName=DNS:vault.rehearsal.test,DNS:*.wild.test,IP:127.0.0.1',
    '-keyout', key, '-out', cert], { stdio: 'pipe' })
  ;[plain, tls] = await Promise.all([
    spawnServe(['--keyset', ks.path]),
    spawnServe(['--keyset', ks.path, '--tls-cert', cert, '--tls-key', key]),
  ])
})
afterAll(async () => {
  await Promise.all([plain.stop(), tls.stop()])
  await tmp.cleanup()
})

describe('tessera serve on loopback', () => {
  it('serves loopback names, with or without the port', async () => {
    const p = plain.port
    for (const host of [`127.0.0.1:${p}`, '127.0.0.1', `localhost:${p}`, 'localhost', 'LOCALHOST.', `127.4.5.6:${p}`, `[::1]:${p}`, '[::ffff:127.0.0.1]']) {
      expect((await call(p, { headers: { Host: host } })).status, host).toBe(200)
    }
  })

  it('refuses any other Host with a Vault-style 403', async () => {
    for (const host of [`evil.example:${plain.port}`, 'evil.example', '10.0.0.1', '127.0.0.1.evil.example', `[::2]:${plain.port}`, 'a b', '[::1']) {
      const r = await call(plain.port, { headers: { Host: host } })
      expect(r.status, host).toBe(403)
      expect(r.json.errors[0]).toMatch(/^forbidden: /)
      expect(r.json.errors[0]).not.toContain('evil')
    }
  })

  it('lets no rebinding page cancel the running attempt', async () => {
    const local = { Host: `127.0.0.1:${plain.port}` }
    const start = await call(plain.port, { method: 'PUT', path: '/v1/sys/generate-root/attempt', headers: local })
    expect(start.status).toBe(200)
    const cancel = await call(plain.port, { method: 'DELETE', path: '/v1/sys/generate-root/attempt', headers: { Host: `evil.example:${plain.port}` } })
    expect(cancel.status).toBe(403)
    const status = await call(plain.port, { path: '/v1/sys/generate-root/attempt', headers: local })
    expect(status.json).toMatchObject({ started: true, nonce: start.json.nonce })
    expect((await call(plain.port, { method: 'DELETE', path: '/v1/sys/generate-root/attempt', headers: local })).status).toBe(204)
  })

  it("accepts only this server's own Origin", async () => {
    const p = plain.port
    const host = `127.0.0.1:${p}`
    for (const origin of [`http://127.0.0.1:${p}`, `http://localhost:${p}`]) {
      expect((await call(p, { headers: { Host: host, Origin: origin } })).status, origin).toBe(200)
    }
    for (const origin of ['http://evil.example', `http://evil.example:${p}`, 'null', `https://127.0.0.1:${p}`, `http://127.0.0.1:${p + 1}`, 'http://127.0.0.1']) {
      const r = await call(p, { headers: { Host: host, Origin: origin } })
      expect(r.status, origin).toBe(403)
      expect(r.json.errors[0]).toMatch(/^forbidden: cross-origin/)
    }
  })
})

describe('tessera serve with a TLS certificate', () => {
  it("serves the certificate's own names too (a wildcard covers one label)", async () => {
    const p = tls.port
    for (const host of [`vault.rehearsal.test:${p}`, 'a.wild.test', `localhost:${p}`]) {
      expect((await call(p, { secure: true, headers: { Host: host } })).status, host).toBe(200)
    }
    for (const host of ['a.b.wild.test', 'wild.test', 'evil.example', 'rehearsal.test']) {
      expect((await call(p, { secure: true, headers: { Host: host } })).status, host).toBe(403)
    }
    expect((await call(p, { secure: true, headers: { Host: 'vault.rehearsal.test', Origin: `https://vault.rehearsal.test:${p}` } })).status).toBe(200)
    expect((await call(p, { secure: true, headers: { Host: 'vault.rehearsal.test', Origin: `http://vault.rehearsal.test:${p}` } })).status).toBe(403)
  })
})

describe('tessera serve on a non-loopback address', () => {
  it('serves any Host (a real server has names of its own) but still refuses foreign Origins', async () => {
    const engine = await LocalEngine.open(ks.path)
    // Policy for an address other than loopback; the socket itself stays on loopback for the test.
    const server = createApiServer(engine, { bindHost: '0.0.0.0' })
    const { port } = await listen(server, '127.0.0.1', 0)
    try {
      expect((await call(port, { headers: { Host: `vault.corp.example:${port}` } })).status).toBe(200)
      expect((await call(port, { headers: { Host: 'vault.corp.example', Origin: `http://vault.corp.example:${port}` } })).status).toBe(200)
      expect((await call(port, { headers: { Host: 'vault.corp.example', Origin: 'http://evil.example' } })).status).toBe(403)
    } finally {
      server.closeAllConnections()
      await new Promise((done) => server.close(done))
    }
  })
})

describe('the Host and Origin policy, remembered per Host header', () => {
  const HOSTS = ['127.0.0.1:8200', 'localhost', 'LOCALHOST.', '[::1]:8200', '[::ffff:127.0.0.1]', 'evil.example', 'evil.example:8200',
    '127.0.0.1.evil.example', 'a b', '[::1', 'vault.rehearsal.test', 'x.wild.test', 'a.b.wild.test', '10.0.0.1:8200']
  const ORIGINS = [undefined, 'http://127.0.0.1:8200', 'http://localhost:8200', 'http://evil.example', 'null', 'https://127.0.0.1:8200']
  const request = (host: string | undefined, origin: string | undefined) =>
    ({ headers: { ...(host === undefined ? {} : { host }), ...(origin === undefined ? {} : { origin }) }, socket: { localPort: 8200 } }) as never

  it('answers every request as a policy seeing it first would, through a flood of names', () => {
    for (const bindHost of ['127.0.0.1', '0.0.0.0']) {
      const opts = { bindHost, tls: false, certNames: ['vault.rehearsal.test', '*.wild.test'] }
      const kept = hostPolicy(opts)
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.oneof(fc.constantFrom(...HOSTS, undefined), fc.string({ maxLength: 30 })), fc.constantFrom(...ORIGINS)), { maxLength: 200 }),
          (requests) => {
            for (const [host, origin] of requests) expect(kept(request(host, origin))).toBe(hostPolicy(opts)(request(host, origin)))
          },
        ),
        { seed: 13, numRuns: 60 },
      )
      // After hundreds of names, the first ones are still judged the same.
      for (const host of HOSTS) for (const origin of ORIGINS) expect(kept(request(host, origin))).toBe(hostPolicy(opts)(request(host, origin)))
    }
  })
})
