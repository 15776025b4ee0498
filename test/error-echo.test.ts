import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRouter, type Handlers } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'
import { createApiServer } from '../src-main/server/http-api'
import { listen } from '../src-main/server/listen'
import { MAX_MESSAGE_CHARS } from '../src-main/support/errors'
import type { LocalEngine } from '../src-main/engine/local-engine'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { callApi, startApi, type Api } from './helpers/server'

/**
 * Errors name the field and the problem, never the content: not a value, not an
 * unknown key (a key is the caller's text as much as a value is), not a channel
 * name. System faults are named in words, not hidden as "internal error".
 */

const SECRET = 'hvs.S3cr3tT0k3nV4lu3Xy9Zq8W'
const SHARE = 'a1'.repeat(33)

let tmp: Awaited<ReturnType<typeof tempDir>>
let ks: TestKeyset
let api: Api
beforeAll(async () => {
  tmp = await tempDir('tessera-echo-')
  ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
  api = await startApi(ks.path)
})
afterAll(async () => {
  await api.close()
  await tmp.cleanup()
})

describe('IPC input errors', () => {
  const dispatch = createRouter(handlersFor(new Session()))

  const refusals: Array<[string, unknown, RegExp]> = [
    ['attempt.update', { flow: 'root', key: 'x', nonce: 'y', [SECRET]: 1 }, /^input: unexpected field$/],
    ['attempt.update', { flow: 'root', key: 'x', nonce: 'y', [SHARE]: SHARE }, /^input: unexpected field$/],
    ['profiles.save', { profile: { name: 'n', address: 'http://127.0.0.1', [SECRET]: true } }, /^profile: unexpected field$/],
    ['attempt.update', { flow: 'root', key: 7, nonce: 'y' }, /^key: expected string$/],
    ['attempt.update', { flow: SECRET, key: SHARE, nonce: 'y' }, /^flow: expected /],
    ['decode.otp', { encoded: 'x'.repeat(70_000), otp: SECRET }, /^encoded: expected <=65536$/],
  ]
  for (const [channel, input, message] of refusals) {
    it(`${channel}: ${message.source} and nothing of the input`, async () => {
      const r = await dispatch(channel, input)
      expect(r).toEqual({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(message) } })
      const text = JSON.stringify(r)
      expect(text).not.toContain(SECRET)
      expect(text).not.toContain(SHARE)
    })
  }

  it('does not repeat an unknown channel name', async () => {
    const r = await dispatch(`attempt.${SECRET}`, {})
    expect(r).toEqual({ ok: false, error: { code: 'unknown_channel', message: 'unknown channel' } })
  })
})

describe('HTTP API errors', () => {
  it('never repeat what was sent, and stay bounded', async () => {
    const start = await api.call('PUT', 'sys/generate-root/attempt', {})
    try {
      const bodies: unknown[] = [
        `{"key": "${SHARE}", "nonce": ${SECRET}}`,
        { key: { [SECRET]: SHARE }, nonce: start.json.nonce },
        { key: SHARE, nonce: SECRET },
        { [SECRET]: SHARE },
        { pgp_key: `-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: ${SECRET}\n\n${SHARE}\n-----END PGP PUBLIC KEY BLOCK-----` },
        { pgp_key: `${SECRET}!` },
      ]
      for (const body of bodies) {
        for (const path of ['sys/generate-root/update', 'sys/generate-share/attempt', 'sys/decode-token']) {
          const r = await api.call('PUT', path, body)
          expect(r.status, r.text).toBeGreaterThanOrEqual(400)
          expect(r.status).toBeLessThan(500)
          expect(r.text).not.toContain(SECRET)
          expect(r.text).not.toContain(SHARE)
          expect(r.json.errors.join('').length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS)
        }
      }
    } finally {
      await api.call('DELETE', 'sys/generate-root/attempt')
    }
    expect(api.logs.join('\n')).not.toContain(SECRET)
  })
})

describe('system faults', () => {
  const enospc = () => Object.assign(new Error(`ENOSPC: no space left on device, write '/home/op/${SECRET}'`), { code: 'ENOSPC' })

  it('reach the app as a named sentence, not "internal error", and without the path', async () => {
    const logged: string[] = []
    const handlers = { 'backend.describe': async () => { throw enospc() } } as unknown as Handlers
    const dispatch = createRouter(handlers, { onInternalError: (channel) => logged.push(channel) })
    const r = await dispatch('backend.describe', undefined)
    expect(r).toEqual({ ok: false, error: { code: 'system_error', message: 'The operation failed: no space left on device.' } })
    expect(logged).toEqual(['backend.describe'])
  })

  it('reach an HTTP client as a Vault-style 500 that names the fault', async () => {
    const logs: string[] = []
    const engine = { sealStatus: async () => { throw Object.assign(new Error('EACCES: permission denied, open /x'), { code: 'EACCES' }) } }
    const server = createApiServer(engine as unknown as LocalEngine, { log: (l) => logs.push(l) })
    const { port } = await listen(server, '127.0.0.1', 0)
    try {
      const r = await callApi(`http://127.0.0.1:${port}`, 'GET', 'sys/seal-status')
      expect(r.status).toBe(500)
      expect(r.json).toEqual({ errors: ['the operation failed: permission denied'] })
      expect(logs).toContain('server error: the operation failed: permission denied')
    } finally {
      server.closeAllConnections()
      await new Promise((done) => server.close(done))
    }
  })
})
