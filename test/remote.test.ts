import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { readFileSync } from 'node:fs'
import * as openpgp from 'openpgp'
import { RemoteVault } from '../src-main/remote/remote-vault'
import { checkAddress } from '../src-main/remote/http-client'
import { decodeWithOtp, decodeWithPgp } from '../src-main/decode/decode'
import { readPrivateKey } from '../src-main/crypto/pgp'
import { TesseraError } from '../src-main/support/errors'
import type { Flow } from '../src-main/backend'
import type { Backend } from '../src-main/backend-interface'
import { listen } from '../src-main/server/listen'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { startServe, type ServeProcess } from './helpers/cli'
import { makePki, type TestPki } from './helpers/tls'

let tmp: Awaited<ReturnType<typeof tempDir>>
let ks: TestKeyset
let pki: TestPki
let otherPki: TestPki
const servers: ServeProcess[] = []

beforeAll(async () => {
  tmp = await tempDir()
  ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
  pki = makePki(tmp.dir, 'good')
  otherPki = makePki(tmp.dir, 'other')
})
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()))
  await tmp.cleanup()
})

async function serve(args: string[]): Promise<ServeProcess> {
  const s = await startServe(args)
  servers.push(s)
  return s
}

/** Drives one ceremony through a Backend and returns the decoded value. */
async function ceremony(backend: Backend, flow: Flow, keys: string[]): Promise<string> {
  await backend.cancel(flow)
  const { status: start, otp } = await backend.start(flow, {})
  expect(otp).toHaveLength(start.otp_length)
  let last = start
  for (const key of keys) last = (await backend.update(flow, { key: Buffer.from(key), nonce: start.nonce })).status
  expect(last.complete).toBe(true)
  return decodeWithOtp(last.encoded_token, otp!).value.toString()
}

async function refusal(p: Promise<unknown>): Promise<TesseraError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(TesseraError)
  return err as TesseraError
}

describe('a legacy server (unauthenticated generate-root, plain http on loopback)', () => {
  let remote: RemoteVault
  beforeAll(async () => {
    const s = await serve(['--keyset', ks.path])
    remote = new RemoteVault({ address: s.url })
  })

  it('reports seal status and the flows it offers', async () => {
    const seal = await remote.sealStatus()
    expect(seal).toMatchObject({ initialized: true, sealed: false, t: 2, n: 3, recovery_mode: false, flows: ['root', 'share'] })
    expect(await remote.rootGeneratePath()).toBe('sys/generate-root')
  })

  it('drives a root generation to completion with a locally made OTP', async () => {
    expect(await ceremony(remote, 'root', ks.keys.slice(0, 2))).toMatch(/^hvs\./)
  })

  it('drives a PGP-protected root generation', async () => {
    const { publicKey, privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Op' }], format: 'armored' })
    await remote.cancel('root')
    const { status: start, otp } = await remote.start('root', { pgp_key: publicKey })
    expect(start.pgp_fingerprint).toMatch(/^[0-9a-f]{40}$/)
    expect(otp).toBeNull()
    await remote.update('root', { key: Buffer.from(ks.keys[1]!), nonce: start.nonce })
    const { status: done } = await remote.update('root', { key: Buffer.from(ks.keys[2]!), nonce: start.nonce })
    const token = await decodeWithPgp(done.encoded_token, await readPrivateKey(privateKey))
    expect(token.value.toString()).toMatch(/^hvs\./)
  })

  it('makes a new share, returned as the generate-share document says (no OTP)', async () => {
    await remote.cancel('share')
    const { status: start, otp } = await remote.start('share', {})
    expect(start).toMatchObject({ started: true, otp_length: 0 })
    expect(otp).toBeNull()
    await remote.update('share', { key: Buffer.from(ks.keys[0]!), nonce: start.nonce })
    const { status: done } = await remote.update('share', { key: Buffer.from(ks.keys[2]!), nonce: start.nonce })
    expect(done.complete).toBe(true)
    expect(done.key).toMatch(/^[0-9a-f]{66}$/)
    expect(ks.keys).not.toContain(done.key)
  })

  it('passes the server\'s own words through for Vault errors', async () => {
    await remote.cancel('root')
    const { status: start } = await remote.start('root', {})
    const wrong = await refusal(remote.update('root', { key: Buffer.from(ks.keys[0]!), nonce: 'nope' }))
    expect(wrong.message).toBe(`incorrect nonce supplied; nonce for this root generation operation is "${start.nonce}"`)
    await remote.cancel('root')
  })

  it('says the recovery flow needs a server in recovery mode', async () => {
    const err = await refusal(remote.start('recovery', {}))
    expect(err.message).toMatch(/only a server started in recovery mode/)
  })
})

describe('a 2026 server over HTTPS (--require-token)', () => {
  let url: string
  beforeAll(async () => {
    const s = await serve(['--keyset', ks.path, '--require-token', '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey])
    url = s.url
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
  })

  it('verifies TLS by default: an unknown CA is refused with a sentence', async () => {
    const err = await refusal(new RemoteVault({ address: url }).sealStatus())
    expect(err.message).toMatch(/TLS certificate of 127\.0\.0\.1:\d+ is not trusted.*CA file/)
    const wrongCa = await refusal(new RemoteVault({ address: url, ca: readFileSync(otherPki.caCert) }).sealStatus())
    expect(wrongCa.code).toBe('tls')
  })

  it('checks the server name', async () => {
    const err = await refusal(new RemoteVault({ address: url, ca: readFileSync(pki.caCert), serverName: 'vault.example' }).sealStatus())
    expect(err.message).toMatch(/certificate is for another name/)
  })

  it('without a token, explains that one is needed', async () => {
    const remote = new RemoteVault({ address: url, ca: readFileSync(pki.caCert) })
    expect(await remote.rootGeneratePath()).toBe('sys/generate-root-token')
    // Not in recovery mode: that path stays a 404, token or not.
    expect(await remote.sealStatus()).toMatchObject({ recovery_mode: false, flows: ['root', 'share'] })
    const err = await refusal(remote.start('root', {}))
    expect(err.code).toBe('token_required')
    expect(err.message).toMatch(/needs a Vault token: add a token to the profile/)
    const legacy = await refusal(remote.start('share', {}))
    expect(legacy.message).toMatch(/refuses unauthenticated sys\/generate-share.*enable_unauthenticated_access.*Add a token/)
  })

  it('with a wrong token, names the policy', async () => {
    const remote = new RemoteVault({ address: url, ca: readFileSync(pki.caCert) }, 'hvs.' + 'x'.repeat(24))
    const err = await refusal(remote.start('root', {}))
    expect(err.message).toMatch(/refused the profile's token .*policy does not allow/)
  })

  it('with the root token, prefers sys/generate-root-token and completes', async () => {
    const remote = new RemoteVault({ address: url, ca: readFileSync(pki.caCert) }, ks.rootToken)
    expect(await remote.rootGeneratePath()).toBe('sys/generate-root-token')
    expect(await ceremony(remote, 'root', [ks.keys[2]!, ks.keys[0]!])).toMatch(/^hvs\./)
  })

  it('refuses plain http to a non-loopback host unless the profile allows it', () => {
    expect(() => checkAddress({ address: 'http://vault.example:8200' })).toThrow(/unencrypted/)
    expect(checkAddress({ address: 'http://vault.example:8200', allowInsecureHttp: true }).host).toBe('vault.example:8200')
    expect(checkAddress({ address: 'http://127.0.0.1:8200' }).host).toBe('127.0.0.1:8200')
    expect(() => checkAddress({ address: 'vault.example' })).toThrow(/not (a server|an http)/)
  })
})

describe('talking to servers as they are', () => {
  it('sends X-Vault-Namespace and X-Vault-Token', async () => {
    const seen: IncomingHttpHeaders[] = []
    const recorder = createServer((req, res) => {
      seen.push(req.headers)
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ started: false, nonce: '', progress: 0, required: 3, otp_length: 28 }))
    })
    const { port } = await listen(recorder, '127.0.0.1', 0)
    try {
      await new RemoteVault({ address: `http://127.0.0.1:${port}`, namespace: 'team-a/' }, 'hvs.tok').status('share')
      expect(seen.at(-1)).toMatchObject({ 'x-vault-namespace': 'team-a/', 'x-vault-token': 'hvs.tok' })
    } finally {
      recorder.close()
    }
  })

  it('gives an old server (no otp_length) a legacy base64 16-byte OTP', async () => {
    const bodies: string[] = []
    const old = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        if (req.method === 'PUT') bodies.push(body)
        res.writeHead(req.url!.includes('generate-root-token') ? 404 : 200, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ started: req.method === 'PUT', nonce: 'n', progress: 0, required: 3 }))
      })
    })
    const { port } = await listen(old, '127.0.0.1', 0)
    try {
      const started = await new RemoteVault({ address: `http://127.0.0.1:${port}` }).start('root', {})
      const sent = JSON.parse(bodies[0]!).otp as string
      expect(Buffer.from(sent, 'base64')).toHaveLength(16)
      expect(started.otp?.toString('ascii')).toBe(sent)
    } finally {
      old.close()
    }
  })

  it('retries a read on a dropped connection, never a write', async () => {
    let requests = 0
    const flaky = createServer((req, res) => {
      requests += 1
      if (requests % 2 === 1) return req.socket.destroy()
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ started: true, nonce: 'n', progress: 1, required: 3, otp_length: 28 }))
    })
    const { port } = await listen(flaky, '127.0.0.1', 0)
    try {
      const remote = new RemoteVault({ address: `http://127.0.0.1:${port}` })
      expect((await remote.status('share')).progress).toBe(1)
      expect(requests).toBe(2)
      const write = await refusal(remote.update('share', { key: Buffer.from(ks.keys[0]!), nonce: 'n' }))
      expect(write.message).toMatch(/closed the connection/)
      expect(requests).toBe(3)
    } finally {
      flaky.close()
    }
  })

  it('tells the truth when the server restarts mid-ceremony', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000)
    const first = await serve(['--keyset', ks.path, '--port', String(port)])
    const remote = new RemoteVault({ address: first.url })
    const { status: start } = await remote.start('root', {})
    expect((await remote.update('root', { key: Buffer.from(ks.keys[0]!), nonce: start.nonce })).status.progress).toBe(1)
    await first.stop()
    const down = await refusal(remote.update('root', { key: Buffer.from(ks.keys[1]!), nonce: start.nonce }))
    expect(down.message).toMatch(/connection refused/)
    await serve(['--keyset', ks.path, '--port', String(port)])
    // The attempt lived in the old process: the status says so instead of pretending.
    const after = await remote.status('root')
    expect(after).toMatchObject({ started: false, progress: 0 })
    const gone = await refusal(remote.update('root', { key: Buffer.from(ks.keys[1]!), nonce: start.nonce }))
    expect(gone.message).toBe('no root generation in progress')
  })

  it('drives a recovery token from a server in recovery mode', async () => {
    const s = await serve(['--keyset', ks.path, '--recovery'])
    const remote = new RemoteVault({ address: s.url })
    const seal = await remote.sealStatus()
    expect(seal).toMatchObject({ sealed: true, recovery_mode: true, flows: ['recovery'] })
    expect(await ceremony(remote, 'recovery', ks.keys.slice(0, 2))).toMatch(/^hvr\./)
    const unsupported = await refusal(remote.start('share', {}))
    expect(unsupported.code).toBe('unsupported_flow')
  })
})

describe('refusals become sentences', () => {
  /** A server that answers every request with one status and Vault's error body. */
  async function answering(status: number, errors: string[]) {
    const server = createServer((_req, res) => {
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ errors }))
    })
    const { port } = await listen(server, '127.0.0.1', 0)
    return { remote: new RemoteVault({ address: `http://127.0.0.1:${port}` }), close: () => server.close() }
  }

  it.each([
    [503, ['Vault is sealed'], 'root', /The server is sealed: generate-root needs an unsealed server/],
    [473, [], 'root', /is a standby and did not redirect/],
    [429, [], 'share', /is a standby/],
    [400, ['server is not yet initialized'], 'root', /not initialized yet: run its init first/],
    [405, [], 'root', /does not allow PUT on sys\/generate-root\/attempt: the endpoint is switched off/],
    [404, [], 'share', /does not support sys\/generate-share/],
    [403, ['unauthenticated generate-root endpoints are disabled'], 'root', /switched off \("unauthenticated generate-root endpoints are disabled"\): on OpenBao, disable_unauthed_generate_root_endpoints/],
    [500, ['storage backend exploded'], 'root', /failed on sys\/generate-root\/attempt \(HTTP 500\): storage backend exploded/],
  ] as const)('HTTP %i %j on %s', async (status, errors, flow, sentence) => {
    const s = await answering(status, [...errors])
    try {
      const err = await refusal(s.remote.start(flow, { otp: Buffer.from('x'.repeat(28)) }))
      expect(err.message).toMatch(sentence)
      expect(err.message).not.toMatch(/^\d{3}$/)
    } finally {
      s.close()
    }
  })
})
