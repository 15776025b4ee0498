import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createServer, type Server } from 'node:http'
import { randomUUID } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Connections } from '../src-main/profiles/connections'
import { SessionCredentials } from '../src-main/profiles/credentials'
import { ProfileStore } from '../src-main/profiles/profile-store'
import { createRouter, type Dispatch } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'
import { listen } from '../src-main/server/listen'
import { RecordWriter } from '../src-main/record/writer'
import { verifyRecord } from '../src-main/record/verify'
import { ipcCalls } from './helpers/ipc'
import { tempDir } from './helpers/keysets'

/**
 * A loopback stand-in for a Vault whose replies are legal but odd: the version
 * it reports, the nonce it makes (from the OTP it was sent, so that a lying
 * server can echo it), and whether it reports otp_length at all (servers before
 * Vault 0.9.x did not, and took a base64 16-byte OTP). Each update must carry
 * the nonce exactly as the server made it.
 */
interface Odd {
  version?: string
  nonce?: (otp: string) => string
  /** Undefined: the field is left out, as old servers do. */
  otpLength?: number
}

function oddVault(odd: Odd) {
  const sent: { otps: string[]; nonces: string[] } = { otps: [], nonces: [] }
  let attempt: { nonce: string; progress: number } | null = null
  const status = () => ({
    started: attempt !== null,
    nonce: attempt?.nonce ?? '',
    progress: attempt && attempt.progress < 2 ? attempt.progress : 0,
    required: 2,
    complete: attempt !== null && attempt.progress >= 2,
    encoded_token: attempt && attempt.progress >= 2 ? 'AxMdHg8kOTsFKDQLDh8qJiAnPiw0BC0c' : '',
    encoded_root_token: '',
    pgp_fingerprint: '',
    ...(odd.otpLength === undefined ? {} : { otp_length: odd.otpLength }),
  })
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      const send = (code: number, reply?: unknown) => {
        res.writeHead(code, { 'Content-Type': 'application/json' })
        res.end(reply === undefined ? undefined : JSON.stringify(reply))
      }
      const route = `${req.method} ${req.url}`
      const json = body ? (JSON.parse(body) as { otp?: string; nonce?: string }) : {}
      if (route === 'GET /v1/sys/seal-status') {
        return send(200, { type: 'shamir', initialized: true, sealed: false, t: 2, n: 3, version: odd.version ?? '1.15.0' })
      }
      if (route === 'GET /v1/sys/generate-root/attempt') return send(200, status())
      if (route === 'DELETE /v1/sys/generate-root/attempt') return (attempt = null), send(204)
      if (route === 'PUT /v1/sys/generate-root/attempt') {
        sent.otps.push(json.otp ?? '')
        attempt = { nonce: odd.nonce ? odd.nonce(json.otp ?? '') : randomUUID(), progress: 0 }
        return send(200, status())
      }
      if (route === 'PUT /v1/sys/generate-root/update') {
        sent.nonces.push(json.nonce ?? '')
        if (!attempt || json.nonce !== attempt.nonce) return send(400, { errors: ['nonce mismatch'] })
        attempt.progress += 1
        const reply = status()
        if (attempt.progress >= 2) attempt = null
        return send(200, reply)
      }
      send(404, { errors: [] })
    })
  })
  return { server, sent }
}

let dir: string
let cleanup: () => Promise<void>
let server: Server
let dispatch: Dispatch
const { call, refusal } = ipcCalls(() => dispatch)

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('tessera-odd-replies-'))
})
afterEach(async () => {
  server?.closeAllConnections()
  server?.close()
  await cleanup()
})

/** Connects a session that records to `dir/config/records` to a fake Vault answering as `odd` says. */
async function connect(odd: Odd) {
  const fake = oddVault(odd)
  server = fake.server
  const { port } = await listen(server, '127.0.0.1', 0)
  const connections = new Connections(await ProfileStore.open(join(dir, 'profiles.json')), new SessionCredentials())
  dispatch = createRouter(handlersFor(new Session({ configDir: join(dir, 'config'), connections })))
  const profile = await call('profiles.save', { profile: { name: 'Odd', address: `http://127.0.0.1:${port}`, timeoutSeconds: 5 } })
  return { sent: fake.sent, profile, info: await call('backend.connectRemote', { id: profile.id }) }
}

/** A whole root ceremony through the session, then the record's lines as verified. */
async function ceremony() {
  const start = await call('attempt.start', { flow: 'root' })
  await call('attempt.confirmNonce', { flow: 'root', nonce: start.nonce, holder: 'Alice' })
  await call('attempt.update', { flow: 'root', key: 'AAAA'.repeat(11), nonce: start.nonce, holder: 'Alice' })
  const done = await call('attempt.update', { flow: 'root', key: 'BBBB'.repeat(11), nonce: start.nonce, holder: 'Bob' })
  expect(done.complete).toBe(true)
  await call('session.wipe')
  const path = (await call('session.state')).record.path as string
  const v = verifyRecord(await readFile(path, 'utf8'))
  if (!v.ok) throw new Error(v.problem)
  return { start, path, lines: v.lines }
}

describe('odd but legal server replies never block a ceremony', () => {
  it.each([
    ['a build hash after the version', `1.15.0+ent.hsm-${'a1b2c3d4'.repeat(8)}`, '1.15.0+ent.hsm'],
    ['a token-shaped suffix', '1.16.2-s.Ab3dEf7hIj9kLm1n', '1.16.2-s'],
    ['control characters and a line break', '2.0.0\u001b[31m\r\nforged', '2.0.0 [31m forged'],
    ['letters beyond ASCII', 'Vault 1.17 – édition', 'Vault 1.17 dition'],
    ['one long word', 'v'.repeat(300), 'unknown'],
  ])('records %s as a bounded, printable version and runs the ceremony', async (_, version, recorded) => {
    const { profile, info } = await connect({ version })
    const shown = recorded === 'unknown' ? '' : recorded
    expect(info.seal.version).toBe(shown)
    expect((await call('profiles.test', { id: profile.id })).version).toBe(shown)
    const { lines } = await ceremony()
    expect(lines[0]!.data).toMatchObject({ backend: 'remote', server_version: recorded })
    expect(lines.map((l) => l.type).slice(1)).toEqual(['attempt_started', 'nonce_confirmed', 'share_accepted', 'share_accepted', 'completed', 'wiped', 'closed'])
  })

  it('uses a nonce that is not a UUID as the server gave it: on screen, in each update and in the record', async () => {
    const nonce = 'ns1:Zm9vYmFy/YmF6cXV4=='
    const { sent } = await connect({ nonce: () => nonce })
    const { start, path, lines } = await ceremony()
    expect(start.nonce).toBe(nonce)
    expect(sent.nonces).toEqual([nonce, nonce])
    expect(lines.find((l) => l.type === 'attempt_started')!.data).toMatchObject({ nonce })
    expect(lines.find((l) => l.type === 'nonce_confirmed')!.data).toEqual({ holder: 'Alice', nonce })
    // The file is named by the nonce, with what a file name cannot hold replaced.
    expect(path.endsWith('-ns1_Zm9vYmFy_YmF6cXV4__.jsonl')).toBe(true)
  })

  it('refuses a nonce too long or not safe to show, naming the field and never the value', async () => {
    for (const nonce of ['n'.repeat(65), 'two words', 'line\nbreak', '<b>bold</b>']) {
      await connect({ nonce: () => nonce })
      const err = await refusal('attempt.start', { flow: 'root' })
      expect(err.code).toBe('bad_reply')
      expect(err.message).toBe('The server\'s reply to PUT sys/generate-root/attempt is not what Vault sends: nonce should be at most 64 letters, digits or . _ ~ : + / = -.')
      server.closeAllConnections()
      server.close()
    }
  })

  it('refuses a nonce that carries the OTP back, so the OTP never reaches the screen or the record', async () => {
    await connect({ nonce: (otp) => `x-${otp}` })
    const err = await refusal('attempt.start', { flow: 'root' })
    expect(err).toMatchObject({ code: 'bad_reply', message: expect.stringContaining('its nonce repeats the one-time password') })
    expect((await call('session.state')).record.path).toBeNull()
  })

  it("records a legacy server's base64 OTP as OTP protection, not as none", async () => {
    const { sent } = await connect({})
    const { lines } = await ceremony()
    expect(Buffer.from(sent.otps[0]!, 'base64')).toHaveLength(16)
    expect(lines.find((l) => l.type === 'attempt_started')!.data).toMatchObject({ protection: { kind: 'otp', length: 24 } })
  })

  it('records the server’s own otp_length where it reports one', async () => {
    const { sent } = await connect({ otpLength: 28 })
    const { lines } = await ceremony()
    expect(sent.otps[0]).toHaveLength(28)
    expect(lines.find((l) => l.type === 'attempt_started')!.data).toMatchObject({ protection: { kind: 'otp', length: 28 } })
  })
})

describe('a record whose first line cannot be written', () => {
  it('leaves no file behind', async () => {
    const path = join(dir, 'records', 'refused.jsonl')
    // A version the secret guard refuses: the first line cannot be written.
    const facts = { backend: 'remote', server: 'http://127.0.0.1:8200', server_version: `1.0-${'a1b2c3d4'.repeat(6)}`, threshold: 2, recovery_mode: false } as const
    await expect(RecordWriter.create(path, facts)).rejects.toMatchObject({ code: 'record_secret' })
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await readdir(join(dir, 'records'))).toEqual([])
  })
})
