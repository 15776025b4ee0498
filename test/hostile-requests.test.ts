import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { head, rawRequest, spawnServe, spawnWeb, type Spawned, type WebProcess } from './helpers/processes'

/**
 * Requests no client library would send, against the real processes: each gets
 * a 4xx, the process keeps answering, and its log names the refusal without
 * repeating the input.
 */

let tmp: Awaited<ReturnType<typeof tempDir>>
let ks: TestKeyset
let cert: { cert: string; key: string }
const servers: Array<{ name: string; proc: Spawned; tls: boolean; okPath: string }> = []
let web: WebProcess

/** A certificate whose names Host checks may accept: one DNS name, one wildcard, loopback. */
function makeCert(dir: string): { cert: string; key: string } {
  const c = join(dir, 'cert.pem')
  const k = join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=rehearsal', '-addext', 'subjectAltName=DNS:vault.rehearsal.test,DNS:*.wild.test,IP:127.0.0.1',
    '-keyout', k, '-out', c], { stdio: 'pipe' })
  return { cert: c, key: k }
}

beforeAll(async () => {
  tmp = await tempDir('tessera-hostile-')
  ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
  cert = makeCert(tmp.dir)
  const [plain, tls, token, sealed, uninitialized, w] = await Promise.all([
    spawnServe(['--keyset', ks.path]),
    spawnServe(['--keyset', ks.path, '--tls-cert', cert.cert, '--tls-key', cert.key]),
    spawnServe(['--keyset', ks.path, '--require-token']),
    spawnServe(['--keyset', ks.path, '--sealed']),
    spawnServe(['--keyset', join(tmp.dir, 'not-yet.json'), '--uninitialized']),
    spawnWeb(['--keyset', ks.path]),
  ])
  servers.push(
    { name: 'serve', proc: plain, tls: false, okPath: '/v1/sys/seal-status' },
    { name: 'serve --tls-cert', proc: tls, tls: true, okPath: '/v1/sys/seal-status' },
    { name: 'serve --require-token', proc: token, tls: false, okPath: '/v1/sys/seal-status' },
    { name: 'serve --sealed', proc: sealed, tls: false, okPath: '/v1/sys/seal-status' },
    { name: 'serve --uninitialized', proc: uninitialized, tls: false, okPath: '/v1/sys/seal-status' },
    { name: 'web', proc: w, tls: false, okPath: '/' },
  )
  web = w
})
afterAll(async () => {
  await Promise.all(servers.map((s) => s.proc.stop()))
  await tmp.cleanup()
})

const TARGETS = ['http://a:99999/', 'http://[/', '//a:99999', 'http://a:99999/v1/sys/seal-status']

describe('a request no parser accepts', () => {
  it('gets a 4xx from every server, which keeps answering and logs one line without the input', async () => {
    for (const { name, proc, tls, okPath } of servers) {
      const host = `127.0.0.1:${proc.port}`
      for (const target of TARGETS) {
        const before = proc.output()
        const r = await rawRequest(proc.port, head('GET', target, { Host: host }), { tls })
        expect(r.status, `${name} ${target}: ${r.text}`).toBe(400)
        expect(r.text).not.toContain('99999')
        await new Promise((done) => setTimeout(done, 50))
        const logged = proc.output().slice(before.length)
        expect(logged.trim().split('\n'), `${name} ${target}`).toHaveLength(1)
        expect(logged).not.toMatch(/99999|a:9|\[\/|TypeError|Invalid URL/)
      }
      const ok = await rawRequest(proc.port, head('GET', okPath, { Host: host }), { tls })
      expect(ok.status, `${name}: ${ok.text}`).toBe(200)
      expect(proc.alive(), name).toBe(true)
    }
  })

  it('answers garbage, oversized headers and a broken TLS handshake with a 4xx or a closed socket, never an exit', async () => {
    for (const { name, proc, tls, okPath } of servers) {
      const host = `127.0.0.1:${proc.port}`
      const garbage = [
        'NOT HTTP AT ALL\r\n\r\n',
        `GET / HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
        `GET / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: -1\r\n\r\n`,
        `GET / HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
        Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2, 3]),
      ]
      for (const bytes of garbage) {
        const r = await rawRequest(proc.port, bytes, { tls, waitMs: 2000 })
        if (r.status !== null) expect(r.status, `${name}: ${r.text.slice(0, 80)}`).toBeGreaterThanOrEqual(400)
        if (r.status !== null) expect(r.status).toBeLessThan(500)
      }
      expect((await rawRequest(proc.port, head('GET', okPath, { Host: host }), { tls })).status, name).toBe(200)
      expect(proc.alive(), name).toBe(true)
      expect(proc.output()).not.toMatch(/TypeError|Error:|\n\s+at /)
    }
  })
})

describe('a client that goes away mid-body', () => {
  it('is not a server error: no 500, no internal error in the log, and the server keeps answering', async () => {
    for (const { name, proc, tls } of servers) {
      const host = `127.0.0.1:${proc.port}`
      const path = name === 'web' ? '/rpc/app.info' : '/v1/sys/generate-root/attempt'
      const auth = name === 'web' ? { Authorization: `Bearer ${web.token}` } : {}
      const before = proc.output()
      const partial = `PUT ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n${Object.entries(auth).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n{"pgp_key": "mQ`
      await rawRequest(proc.port, partial, { tls, waitMs: 300 })
      await new Promise((done) => setTimeout(done, 200))
      const logged = proc.output().slice(before.length)
      expect(logged, name).not.toMatch(/internal error| 500\b/)
      expect(proc.alive(), name).toBe(true)
    }
  })
})
