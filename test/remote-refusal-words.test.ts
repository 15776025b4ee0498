import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type Server } from 'node:http'
import { randomBytes, randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { Connections } from '../src-main/profiles/connections'
import { SessionCredentials } from '../src-main/profiles/credentials'
import { ProfileStore } from '../src-main/profiles/profile-store'
import { createRouter, type Dispatch } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'
import { listen } from '../src-main/server/listen'
import { MAX_DETAIL_CHARS } from '../src-main/support/errors'
import { ERRORS } from '../src-main/support/error-codes'
import { tempDir } from './helpers/keysets'

/**
 * A loopback stand-in for Vault whose next updates are refused with the words
 * given, as Vault and its forks word them across versions. What the app shows
 * is the plain sentence for what happened; the server's words come as the
 * detail, redacted and bounded, never as the headline.
 */
function refusingVault() {
  const refusals: Array<{ status: number; errors: string[] }> = []
  let attempt: { nonce: string; progress: number } | null = null
  const status = () => ({
    started: attempt !== null, nonce: attempt?.nonce ?? '', progress: attempt?.progress ?? 0, required: 3, complete: false,
    encoded_token: '', encoded_root_token: '', pgp_fingerprint: '', otp: '', otp_length: 28,
  })
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const send = (code: number, body?: unknown) => {
        res.writeHead(code, { 'Content-Type': 'application/json' })
        res.end(body === undefined ? undefined : JSON.stringify(body))
      }
      const route = `${req.method} ${req.url}`
      if (route === 'GET /v1/sys/seal-status') return send(200, { type: 'shamir', initialized: true, sealed: false, t: 3, n: 5, version: '1.15.0' })
      if (route === 'GET /v1/sys/generate-root/attempt') return send(200, status())
      if (route === 'DELETE /v1/sys/generate-root/attempt') return (attempt = null), send(204)
      if (route === 'PUT /v1/sys/generate-root/attempt') return (attempt = { nonce: randomUUID(), progress: 0 }), send(200, status())
      if (route === 'PUT /v1/sys/generate-root/update') {
        const refusal = refusals.shift()
        if (refusal) {
          // As Vault does at the threshold: progress is emptied whatever the outcome.
          if (attempt && refusal.status === 400 && /aborted/.test(refusal.errors[0] ?? '')) attempt.progress = 0
          return send(refusal.status, { errors: refusal.errors })
        }
        if (attempt) attempt.progress += 1
        return send(200, status())
      }
      send(404, { errors: [] })
    })
  })
  return { server, refusals }
}

const SHARE = randomBytes(33).toString('base64')

let tmp: Awaited<ReturnType<typeof tempDir>>
let server: Server
let refusals: ReturnType<typeof refusingVault>['refusals']
let dispatch: Dispatch
let nonce: string

async function call(channel: string, input?: unknown): Promise<any> {
  const r = await dispatch(channel, input)
  if (!r.ok) throw new Error(`${channel}: ${r.error.message}`)
  return r.value
}

beforeAll(async () => {
  tmp = await tempDir('tessera-refusal-words-')
  ;({ server, refusals } = refusingVault())
  const { port } = await listen(server, '127.0.0.1', 0)
  const connections = new Connections(await ProfileStore.open(join(tmp.dir, 'profiles.json')), new SessionCredentials())
  dispatch = createRouter(handlersFor(new Session({ connections })))
  const profile = await call('profiles.save', { profile: { name: 'Lab', address: `http://127.0.0.1:${port}` } })
  await call('backend.connectRemote', { id: profile.id })
  nonce = (await call('attempt.start', { flow: 'root' })).nonce
})
afterAll(async () => {
  server.close()
  await tmp.cleanup()
})

async function refusedWith(status: number, words: string) {
  refusals.push({ status, errors: [words] })
  const r = await dispatch('attempt.update', { flow: 'root', key: SHARE, nonce, holder: 'Carol' })
  if (r.ok) throw new Error('the update was accepted')
  return r.error
}

describe('a remote server refuses a share in its own words', () => {
  it.each([
    [400, 'duplicate unseal key provided', 'duplicate_key'],
    [400, 'given key has already been provided during this generation operation', 'duplicate_key'],
    [400, 'attempt nonce does not match', 'wrong_nonce'],
    [400, 'incorrect nonce supplied; nonce for this root generation operation is "8d3c0e0a-1b2c-4d5e-8f90-a1b2c3d4e5f6"', 'wrong_nonce'],
    [400, 'no root generation in progress', 'no_attempt'],
    [400, 'root generation already in progress for this namespace', 'attempt_in_progress'],
    [400, 'root generation aborted: root key verification failed: cipher: message authentication failed', 'authentication_failed'],
    [400, 'failed to compute root key: illegal key', 'authentication_failed'],
    [400, 'invalid key', 'invalid_key'],
    [400, "'key' must be a valid hex or base64 string", 'invalid_key'],
    [400, 'something this version says that nobody foresaw', 'server_refused'],
    [403, 'permission denied', 'token_required'],
    [503, 'Vault is sealed', 'sealed'],
  ] as const)('HTTP %i "%s": the sentence for %s, the server\'s words as detail', async (status, words, code) => {
    const error = await refusedWith(status, words)
    expect(error).toEqual({ code, message: ERRORS[code].sentence, detail: `Server said: ${words}` })
    expect(error.message).not.toContain(words)
  })

  it('names what happened to the whole set at the threshold, not the holder who gave the last share', async () => {
    await refusedWith(400, 'root generation aborted: root key verification failed')
    const { log } = await call('session.state')
    const last = log.slice(-2).map((e: any) => [e.operator, e.ok, e.outcome])
    expect(last).toEqual([
      ['Carol', true, 'gave the last share needed'],
      ['Tessera', false, ERRORS.authentication_failed.sentence],
    ])
    expect(ERRORS.authentication_failed.sentence).toMatch(/progress was reset.*each holder should check their share/i)
  })

  it('redacts a share the server echoes and bounds what it says', async () => {
    const echoed = await refusedWith(400, `invalid key ${SHARE}`)
    expect(echoed.code).toBe('invalid_key')
    expect(echoed.detail).toBe('Server said: invalid key [redacted]')
    expect(JSON.stringify(echoed)).not.toContain(SHARE)

    const flood = await refusedWith(400, `duplicate unseal key provided ${'and more '.repeat(600)}`)
    expect(flood.message).toBe(ERRORS.duplicate_key.sentence)
    expect(flood.detail!.length).toBeLessThanOrEqual('Server said: '.length + MAX_DETAIL_CHARS)
  })

  it('says plainly when the server said nothing at all', async () => {
    const error = await refusedWith(473, '')
    expect(error).toEqual({ code: 'standby', message: ERRORS.standby.sentence, detail: 'Server said: HTTP 473, no message' })
  })
})
