import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'node:http'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { createRouter } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'
import { createWebHost, newAccessToken } from '../src-main/web/host'
import { StaticFiles } from '../src-main/web/static-files'
import { listen } from '../src-main/server/listen'
import { RENDERER_CSP } from '../src-main/csp'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { TESSERA } from './helpers/cli'
import { VERSION } from '../src-main/version'

let tmp: Awaited<ReturnType<typeof tempDir>>
let ks: TestKeyset
let port = 0
let token: string
let close: () => Promise<void>

/** Raw HTTP so that Host and Origin can be set exactly as an attacker's page would. */
function send(opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path, headers: { Host: `127.0.0.1:${port}`, ...opts.headers } },
      (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
      },
    )
    req.on('error', reject)
    req.end(opts.body)
  })
}

const rpc = (channel: string, input: unknown, headers: Record<string, string> = {}) =>
  send({
    path: `/rpc/${channel}`,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(input ?? null),
  })

beforeAll(async () => {
  tmp = await tempDir()
  ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
  const rendererDir = join(tmp.dir, 'renderer')
  await mkdir(join(rendererDir, 'assets'), { recursive: true })
  await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>t</title>')
  await writeFile(join(rendererDir, 'assets', 'app.js'), 'console.log(1)')
  await writeFile(join(tmp.dir, 'outside.txt'), 'not to be served')
  const session = new Session()
  await session.ceremony.openKeyset(ks.path)
  token = newAccessToken()
  const server = createWebHost({ rendererDir, token, port: () => port, dispatch: createRouter(handlersFor(session)) })
  port = (await listen(server, '127.0.0.1', 0)).port
  close = () => new Promise((r) => server.close(() => r()))
})
afterAll(async () => {
  await close()
  await tmp.cleanup()
})

describe('the tessera web transport', () => {
  it('answers app.info with the token', async () => {
    const r = await rpc('app.info', undefined)
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body)).toEqual({ name: 'tessera', version: VERSION })
  })

  it('makes a 32-byte base64url token', () => {
    expect(Buffer.from(newAccessToken(), 'base64url')).toHaveLength(32)
    expect(newAccessToken()).not.toBe(newAccessToken())
  })

  it('refuses a missing or wrong token with 401', async () => {
    expect((await send({ path: '/rpc/app.info', body: 'null' })).status).toBe(401)
    expect((await rpc('app.info', undefined, { Authorization: `Bearer ${token.slice(0, -1)}x` })).status).toBe(401)
    expect((await rpc('app.info', undefined, { Authorization: token })).status).toBe(401)
  })

  it('refuses another Host (DNS rebinding) and another Origin with 403', async () => {
    expect((await rpc('app.info', undefined, { Host: `evil.example:${port}` })).status).toBe(403)
    expect((await rpc('app.info', undefined, { Host: `127.0.0.1:${port + 1}` })).status).toBe(403)
    expect((await rpc('app.info', undefined, { Origin: 'http://evil.example' })).status).toBe(403)
    expect((await rpc('app.info', undefined, { Origin: `http://localhost:${port}` })).status).toBe(403)
    expect((await rpc('app.info', undefined, { Host: `localhost:${port}`, Origin: `http://localhost:${port}` })).status).toBe(200)
    expect((await rpc('app.info', undefined, { Origin: `http://127.0.0.1:${port}` })).status).toBe(200)
  })

  it('never sends CORS headers, even to a preflight', async () => {
    const preflight = await send({
      method: 'OPTIONS',
      path: '/rpc/app.info',
      headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
    })
    const ok = await rpc('app.info', undefined)
    for (const r of [preflight, ok]) {
      expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).toEqual([])
    }
  })

  it('serves the renderer without a token, with the strict CSP, and nothing outside it', async () => {
    const page = await send({ method: 'GET', path: '/' })
    expect(page.status).toBe(200)
    expect(page.headers['content-security-policy']).toBe(RENDERER_CSP)
    expect(RENDERER_CSP).toContain("default-src 'self'")
    expect(RENDERER_CSP).not.toMatch(/unsafe-eval|unsafe-inline|https?:/)
    expect((await send({ method: 'GET', path: '/assets/app.js' })).headers['content-type']).toMatch(/javascript/)
    expect((await send({ method: 'GET', path: '/../outside.txt' })).status).toBe(404)
    expect((await send({ method: 'GET', path: '/%2e%2e/outside.txt' })).status).toBe(404)
    expect((await send({ method: 'GET', path: '/..%2foutside.txt' })).status).toBe(404)
    expect((await send({ method: 'GET', path: '/assets/..%2f..%2foutside.txt' })).status).toBe(404)
    expect((await send({ method: 'GET', path: '/missing.js' })).status).toBe(404)
  })

  it('serves the renderer\'s files as they are, compressing nothing on loopback, and keeps them read', async () => {
    const source = 'export const greeting = "hello";\n'.repeat(400)
    const file = join(tmp.dir, 'renderer', 'assets', 'big.js')
    await writeFile(file, source)
    const get = (acceptEncoding?: string) =>
      new Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
        const headers: Record<string, string> = { Host: `127.0.0.1:${port}` }
        if (acceptEncoding !== undefined) headers['Accept-Encoding'] = acceptEncoding
        request({ host: '127.0.0.1', port, path: '/assets/big.js', headers }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }))
        })
          .on('error', reject)
          .end()
      })
    for (const accepted of ['gzip, deflate, br, zstd', 'gzip', undefined, 'identity']) {
      const plain = await get(accepted)
      expect(plain.headers['content-encoding'], String(accepted)).toBeUndefined()
      expect(plain.headers['content-length']).toBe(String(source.length))
      expect(plain.body.toString()).toBe(source)
      expect(plain.headers['content-security-policy']).toBe(RENDERER_CSP)
    }
    // Read once: the files do not change while Tessera runs.
    const files = new StaticFiles()
    expect((await files.get(file))?.body.toString()).toBe(source)
    await writeFile(file, 'changed')
    expect((await files.get(file))?.body.toString()).toBe(source)
  })

  it('validates every input by schema before acting, and never echoes it', async () => {
    const bad = await rpc('attempt.update', { flow: 'root', key: 42, nonce: 'x' })
    expect(bad.status).toBe(400)
    expect(JSON.parse(bad.body)).toEqual({ code: 'invalid_input', message: 'key: expected string' })
    const share = ks.keys[0]!
    const extra = await rpc('attempt.update', { flow: 'root', key: share, nonce: 'x', sneaky: share })
    expect(extra.status).toBe(400)
    expect(extra.body).not.toContain(share)
    const badFlow = await rpc('attempt.status', { flow: 'everything' })
    expect(JSON.parse(badFlow.body).code).toBe('invalid_input')
    expect((await rpc('no.suchChannel', null)).status).toBe(404)
    expect((await send({ path: '/rpc/app.info', headers: { Authorization: `Bearer ${token}` }, body: '{not json' })).status).toBe(400)
  })

  it('keeps the OTP in main: a ceremony decodes without the page ever holding it', async () => {
    const start = JSON.parse((await rpc('attempt.start', { flow: 'root' })).body)
    expect(start).not.toHaveProperty('otp')
    expect(start.otp_held).toBe(true)
    await rpc('attempt.update', { flow: 'root', key: ks.keys[0], nonce: start.nonce })
    const done = JSON.parse((await rpc('attempt.update', { flow: 'root', key: ks.keys[1], nonce: start.nonce })).body)
    expect(done.complete).toBe(true)
    const decoded = JSON.parse((await rpc('decode.held', { flow: 'root', encoded: done.encoded_token })).body)
    expect(decoded.value).toMatch(/^hvs\./)
    expect(decoded.checksum).toMatch(/^[0-9a-f]{8}$/)
    // Held with its result for as many decodes as the operator needs, until wiped.
    const again = JSON.parse((await rpc('decode.held', { flow: 'root', encoded: done.encoded_token })).body)
    expect(again.value).toBe(decoded.value)
    await rpc('session.wipe', null)
    const wiped = await rpc('decode.held', { flow: 'root', encoded: done.encoded_token })
    expect(JSON.parse(wiped.body).code).toBe('no_held_otp')
  })

  it('errors cross as {code, message, detail}: a plain sentence, the engine\'s words beside it, no secret', async () => {
    const start = JSON.parse((await rpc('attempt.start', { flow: 'root' })).body)
    const share = ks.keys[2]!
    await rpc('attempt.update', { flow: 'root', key: share, nonce: start.nonce })
    const dup = await rpc('attempt.update', { flow: 'root', key: share, nonce: start.nonce })
    expect(JSON.parse(dup.body)).toEqual({
      code: 'duplicate_key',
      message: 'This share was already entered in this attempt: progress is unchanged, and the next holder enters theirs.',
      detail: 'Engine said: given key has already been provided during this generation operation',
    })
    expect(dup.body).not.toContain(share)
    await rpc('attempt.cancel', { flow: 'root' })
  })
})

describe('tessera web (the command)', () => {
  it('binds 127.0.0.1 and prints the address with a fresh token in the fragment', async () => {
    const tokens: string[] = []
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, [TESSERA, 'web', '--port', '0'])
      const out = await new Promise<string>((resolve, reject) => {
        let text = ''
        child.stdout.on('data', (d) => {
          text += d
          if (text.includes('#access=')) resolve(text)
        })
        child.on('close', (code) => reject(new Error(`exited ${code}`)))
      })
      child.kill('SIGTERM')
      const m = /^listening on http:\/\/127\.0\.0\.1:(\d+)\nopen http:\/\/127\.0\.0\.1:\1\/#access=([A-Za-z0-9_-]{43})\n/.exec(out)
      expect(m, out).not.toBeNull()
      tokens.push(m![2]!)
    }
    expect(tokens[0]).not.toBe(tokens[1])
  })
})
