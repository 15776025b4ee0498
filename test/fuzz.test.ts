import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'node:http'
import { join } from 'node:path'
import fc from 'fast-check'
import { decodeWithOtp } from '../src-main/decode/decode'
import { MAX_BODY_BYTES } from '../src-main/server/http-api'
import { MAX_RPC_BYTES } from '../src-main/web/host'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { spawnServe, spawnWeb, type Spawned, type WebProcess } from './helpers/processes'

/**
 * A fuzz run with a fixed seed: generated requests (methods, paths, headers,
 * bodies of every type, malformed JSON, huge strings) against a ceremony in
 * progress, on a spawned `tessera serve` and a spawned `tessera web`. No 5xx,
 * no crash, the same nonce and progress afterwards, and the real shares still
 * complete the ceremony.
 */

const SEED = 20261125
const RUNS_PER_SERVER = 700
const BATCH = 10

interface Sent {
  method: string
  path: string
  headers: Record<string, string>
  body?: string
}

interface Reply {
  status: number
  body: string
}

function send(port: number, r: Sent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // A declared length, so that a GET with a body is one request and not a second, garbled one.
    const headers = r.body === undefined ? r.headers : { ...r.headers, 'Content-Length': String(Buffer.byteLength(r.body)) }
    const req = request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers, agent: false }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode!, body }))
    })
    req.on('error', reject)
    req.end(r.body)
  })
}

const json = async (port: number, method: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
  const r = await send(port, { method, path, headers: { Host: `127.0.0.1:${port}`, 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) })
  return { status: r.status, json: r.body ? JSON.parse(r.body) : undefined }
}

// ---- what gets generated ----

const printable = (max: number) => fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: max })
const pathChars = fc.string({
  unit: fc.oneof(
    fc.constantFrom(...'abcxyz019./-_~%?&=;:@!$*+,'),
    fc.constantFrom('%00', '%zz', '%2f', '%2e%2e', '..', '//', '%E0%A4%A', '\u00e9', '\u00ff'),
  ),
  maxLength: 40,
})
const hugeString = fc.constantFrom(64 * 1024, 512 * 1024, 1100 * 1024).map((n) => 'A'.repeat(n))

/** Values of every type, including the ones no schema expects. */
const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 80 }),
    printable(120),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 12 }), tie('v'), { maxKeys: 4 }),
  ),
})).v

const FIELDS = ['key', 'nonce', 'otp', 'pgp_key', 'encoded_token', 'flow', 'encoded', 'privateKey', 'passphrase', 'text', 'path', 'id', 'pgpKey', 'token', '__proto__', 'constructor']

const body: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  { weight: 24, arbitrary: fc.dictionary(fc.constantFrom(...FIELDS), anyValue, { maxKeys: 4 }).map((o) => JSON.stringify(o)) },
  { weight: 8, arbitrary: anyValue.map((v) => JSON.stringify(v) ?? 'undefined') },
  { weight: 12, arbitrary: fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('{', '{"key":', '[1,2', 'nul', '\u0000', '{"key": "\\ud800"}', '{"a":1}{"b":2}', '1e999999')) },
  // Rare: each costs a megabyte on the wire.
  { weight: 1, arbitrary: hugeString.map((s) => JSON.stringify({ key: s, pgp_key: s })) },
  { weight: 1, arbitrary: hugeString.map((s) => `{"pgp_key": "A${s.replaceAll('A', ' ')}!"}`) },
)

const METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND']

function headers(port: number, extra: fc.Arbitrary<Record<string, string>>): fc.Arbitrary<Record<string, string>> {
  const host = fc.oneof(
    { weight: 6, arbitrary: fc.constant(`127.0.0.1:${port}`) },
    { weight: 1, arbitrary: fc.constantFrom('localhost', `[::1]:${port}`, 'evil.example', `evil.example:${port}`, '127.0.0.1.evil.example') },
    { weight: 1, arbitrary: printable(60) },
  )
  const optional = fc.record(
    {
      Origin: fc.oneof(fc.constantFrom('http://evil.example', `http://127.0.0.1:${port}`, 'null', `http://localhost:${port}`), printable(40)),
      'Content-Type': fc.oneof(fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=x'), printable(40)),
      'X-Vault-Token': fc.oneof(fc.constantFrom('hvs.AAAAAAAAAAAAAAAAAAAAAAAA', 's.x', ''), printable(80)),
      'X-Vault-Namespace': printable(30),
      'Accept-Encoding': fc.constantFrom('gzip', 'br', 'identity'),
    },
    { requiredKeys: [] },
  )
  return fc.tuple(host, optional, extra).map(([Host, rest, more]) => ({ Host, ...rest, ...more }))
}

const VAULT_PATHS = [
  'sys/generate-root/attempt', 'sys/generate-root/update', 'sys/generate-share/attempt', 'sys/generate-share/update',
  'sys/generate-recovery-token/attempt', 'sys/generate-recovery-token/update', 'sys/generate-root-token/attempt',
  'sys/seal-status', 'sys/health', 'sys/init', 'sys/decode-token', 'auth/token/lookup-self', 'auth/token/revoke-self',
]

function serveRequests(port: number): fc.Arbitrary<Sent> {
  const path = fc.oneof(
    { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...VAULT_PATHS), fc.constantFrom('', '/', '//', '?x=1', '?activecode=999&sealedcode=abc')).map(([p, s]) => `/v1/${p}${s}`) },
    { weight: 2, arbitrary: pathChars.map((p) => `/v1/${p}`) },
    { weight: 1, arbitrary: pathChars.map((p) => `/${p}`) },
  )
  return fc.record({ method: fc.constantFrom(...METHODS), path, headers: headers(port, fc.constant({})), body }).map((r) => ({
    ...r,
    // Cancelling is what the API is for; the run checks that nothing else disturbs the ceremony.
    method: r.method === 'DELETE' && r.path.includes('attempt') ? 'GET' : r.method,
  }))
}

/** Channels that act on the session by design (cancel, wipe, open another backend) are left out. */
const HARMLESS_CHANNELS = ['app.info', 'backend.describe', 'profiles.list', 'attempt.status', 'attempt.start', 'attempt.update',
  'decode.held', 'decode.otp', 'decode.pgp', 'pgp.inspect', 'clipboard.copy']

function webRequests(port: number, token: string): fc.Arbitrary<Sent> {
  const auth = fc.oneof(
    { weight: 3, arbitrary: fc.constant({ Authorization: `Bearer ${token}` }) },
    { weight: 1, arbitrary: fc.constant({}) },
    { weight: 1, arbitrary: fc.oneof(fc.constant(`Bearer ${token.slice(0, -1)}x`), fc.constant(token), printable(60)).map((a) => ({ Authorization: a })) },
  )
  const inputs = fc.oneof(
    body,
    fc.record({ flow: fc.constantFrom('root', 'share', 'recovery', 'x'), key: anyValue, nonce: anyValue, encoded: anyValue, otp: anyValue }, { requiredKeys: ['flow'] }).map((o) => JSON.stringify(o)),
  )
  const rpc = fc.record({
    method: fc.oneof({ weight: 5, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
    path: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...HARMLESS_CHANNELS) }, { weight: 1, arbitrary: pathChars }).map((c) => `/rpc/${c}`),
    headers: headers(port, auth),
    body: inputs,
  })
  // The static files: no token needed, GET mostly, paths that try to leave the directory or do not decode.
  const files = fc.record({
    method: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('GET', 'HEAD') }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
    path: fc.oneof(
      fc.constantFrom('/', '/index.html', '/assets/%2e%2e/%2e%2e/package.json', '/../../etc/passwd', '/rpc/', '/%', '/%E0%A4%A'),
      pathChars.map((p) => `/${p}`),
    ),
    headers: headers(port, auth),
    body: fc.constant(undefined),
  })
  return fc.oneof({ weight: 3, arbitrary: rpc }, { weight: 1, arbitrary: files })
}

// ---- the run ----

let tmp: Awaited<ReturnType<typeof tempDir>>
let serveKs: TestKeyset
let webKs: TestKeyset
let serve: Spawned
let web: WebProcess

beforeAll(async () => {
  tmp = await tempDir('tessera-fuzz-')
  ;[serveKs, webKs] = await Promise.all([makeKeyset(tmp.dir, { shares: 5, threshold: 3 }), makeKeyset(tmp.dir, { shares: 5, threshold: 3 })])
  ;[serve, web] = await Promise.all([
    spawnServe(['--keyset', serveKs.path]),
    spawnWeb(['--keyset', webKs.path], { TESSERA_CONFIG_DIR: join(tmp.dir, 'config') }),
  ])
})
afterAll(async () => {
  await Promise.all([serve?.stop(), web?.stop()])
  await tmp.cleanup()
})

/**
 * Fires the requests in batches; what comes back is every 5xx and every broken
 * exchange. A body over the server's limit is refused unread and its connection
 * dropped, so a client still sending it may meet a reset: that alone is not a failure.
 */
async function fire(port: number, requests: Sent[], maxBody: number): Promise<string[]> {
  const failures: string[] = []
  for (let i = 0; i < requests.length; i += BATCH) {
    await Promise.all(
      requests.slice(i, i + BATCH).map(async (r) => {
        try {
          const reply = await send(port, r)
          if (reply.status >= 500) failures.push(`${r.method} ${r.path.slice(0, 60)} → ${reply.status} ${reply.body.slice(0, 120)}`)
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? ''
          const oversized = r.body !== undefined && Buffer.byteLength(r.body) > maxBody
          if (!(oversized && ['EPIPE', 'ECONNRESET'].includes(code))) failures.push(`${r.method} ${r.path.slice(0, 60)} → ${(err as Error).message}`)
        }
      }),
    )
  }
  return failures
}

describe(`a fuzz run (seed ${SEED}) against ceremonies in progress`, () => {
  it(`tessera serve: ${RUNS_PER_SERVER} generated requests, then the real shares complete the ceremony`, async () => {
    const p = serve.port
    const start = await json(p, 'PUT', '/v1/sys/generate-root/attempt', {})
    expect(start.status).toBe(200)
    const { nonce, otp } = start.json
    expect((await json(p, 'PUT', '/v1/sys/generate-root/update', { key: serveKs.keys[0], nonce })).json.progress).toBe(1)

    const requests = fc.sample(serveRequests(p), { seed: SEED, numRuns: RUNS_PER_SERVER })
    expect(await fire(p, requests, MAX_BODY_BYTES)).toEqual([])
    expect(serve.alive()).toBe(true)

    const after = await json(p, 'GET', '/v1/sys/generate-root/attempt', undefined)
    expect(after.json).toMatchObject({ started: true, nonce, progress: 1, required: 3 })
    await json(p, 'PUT', '/v1/sys/generate-root/update', { key: serveKs.keys[1], nonce })
    const done = await json(p, 'PUT', '/v1/sys/generate-root/update', { key: serveKs.keys[2], nonce })
    expect(done.json.complete).toBe(true)
    const token = decodeWithOtp(done.json.encoded_token, Buffer.from(otp))
    expect(token.kind).toBe('root token')
    const lookup = await send(p, { method: 'GET', path: '/v1/auth/token/lookup-self', headers: { Host: `127.0.0.1:${p}`, 'X-Vault-Token': token.value.toString() } })
    expect(lookup.status).toBe(200)
  })

  it(`tessera web: ${RUNS_PER_SERVER} generated requests, with and without the access token, then the real shares complete the ceremony`, async () => {
    const p = web.port
    const auth = { Authorization: `Bearer ${web.token}` }
    const start = await json(p, 'POST', '/rpc/attempt.start', { flow: 'root' }, auth)
    expect(start.status).toBe(200)
    const { nonce } = start.json
    expect((await json(p, 'POST', '/rpc/attempt.update', { flow: 'root', key: webKs.keys[0], nonce }, auth)).json.progress).toBe(1)

    const requests = fc.sample(webRequests(p, web.token), { seed: SEED, numRuns: RUNS_PER_SERVER })
    expect(requests.filter((r) => r.headers.Authorization === `Bearer ${web.token}`).length).toBeGreaterThan(RUNS_PER_SERVER / 3)
    expect(await fire(p, requests, MAX_RPC_BYTES)).toEqual([])
    expect(web.alive()).toBe(true)

    const after = await json(p, 'POST', '/rpc/attempt.status', { flow: 'root' }, auth)
    expect(after.json).toMatchObject({ started: true, nonce, progress: 1, required: 3, otp_held: true })
    await json(p, 'POST', '/rpc/attempt.update', { flow: 'root', key: webKs.keys[1], nonce }, auth)
    const done = await json(p, 'POST', '/rpc/attempt.update', { flow: 'root', key: webKs.keys[2], nonce }, auth)
    expect(done.json.complete).toBe(true)
    const decoded = await json(p, 'POST', '/rpc/decode.held', { flow: 'root', encoded: done.json.encoded_token }, auth)
    expect(decoded.status).toBe(200)
    expect(decoded.json.kind).toBe('root token')
  })
})
