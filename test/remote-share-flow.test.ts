import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type Server } from 'node:http'
import { randomBytes, randomUUID } from 'node:crypto'
import * as openpgp from 'openpgp'
import { RemoteVault } from '../src-main/remote/remote-vault'
import { listen } from '../src-main/server/listen'

/**
 * A server that follows sys/generate-share's API document to the letter: start
 * takes only pgp_key, update lists only key (a nonce, when given, must match),
 * and the result is the share itself, or the PGP message bytes.
 */
function documentServer(newShare: Buffer) {
  const puts: Record<string, unknown>[] = []
  let a: { nonce: string; progress: number; pgpKey?: string; result?: { key: string; key_base64: string } } | null = null
  const status = () => ({
    started: a !== null, nonce: a?.nonce ?? '', progress: a?.progress ?? 0, required: 2,
    complete: Boolean(a?.result), key: a?.result?.key ?? '', key_base64: a?.result?.key_base64 ?? '', pgp_fingerprint: '',
  })
  const server = createServer((req, res) => {
    let text = ''
    req.on('data', (d) => (text += d))
    req.on('end', async () => {
      const send = (code: number, body?: unknown) => {
        res.writeHead(code, { 'Content-Type': 'application/json' })
        res.end(body === undefined ? undefined : JSON.stringify(body))
      }
      const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>
      const route = `${req.method} ${req.url}`
      if (req.method === 'PUT') puts.push(body)
      if (route === 'GET /v1/sys/generate-share/attempt') return send(200, status())
      if (route === 'DELETE /v1/sys/generate-share/attempt') return (a = null), send(204)
      if (route === 'PUT /v1/sys/generate-share/attempt') {
        const unknown = Object.keys(body).filter((k) => k !== 'pgp_key')
        if (unknown.length) return send(400, { errors: [`unknown parameters: ${unknown.join(', ')}`] })
        a = { nonce: randomUUID(), progress: 0, pgpKey: body.pgp_key as string | undefined }
        return send(200, status())
      }
      if (route === 'PUT /v1/sys/generate-share/update') {
        if (!a) return send(400, { errors: ['no share generation in progress'] })
        if (body.nonce !== undefined && body.nonce !== a.nonce) return send(400, { errors: ['incorrect nonce'] })
        a.progress += 1
        if (a.progress >= 2) {
          let bytes = newShare
          if (a.pgpKey) {
            const encryptionKeys = await openpgp.readKey({ armoredKey: a.pgpKey })
            const message = await openpgp.createMessage({ binary: newShare })
            bytes = Buffer.from(await openpgp.encrypt({ message, encryptionKeys, format: 'binary' }))
          }
          a.result = { key: bytes.toString('hex'), key_base64: bytes.toString('base64') }
        }
        return send(200, status())
      }
      send(404, { errors: [] })
    })
  })
  return { server, puts }
}

let server: Server
let puts: Record<string, unknown>[]
let remote: RemoteVault
const newShare = randomBytes(33)

beforeAll(async () => {
  ;({ server, puts } = documentServer(newShare))
  const { port } = await listen(server, '127.0.0.1', 0)
  remote = new RemoteVault({ address: `http://127.0.0.1:${port}` })
})
afterAll(() => void server.close())

describe('the share flow in remote mode, as its API document has it', () => {
  it('starts without an OTP and reads the new share in the clear from key / key_base64', async () => {
    await remote.cancel('share')
    puts.length = 0
    const { status: start, otp } = await remote.start('share', {})
    expect(otp).toBeNull()
    expect(puts[0]).toEqual({})
    await remote.update('share', { key: Buffer.from('aa'.repeat(33)), nonce: start.nonce })
    const { status: done } = await remote.update('share', { key: Buffer.from('bb'.repeat(33)), nonce: start.nonce })
    expect(done.complete).toBe(true)
    expect(done.key).toBe(newShare.toString('hex'))
    expect(done.key_base64).toBe(newShare.toString('base64'))
  })

  it('sends an update without a nonce when there is none', async () => {
    await remote.cancel('share')
    puts.length = 0
    await remote.start('share', { new_holder: 'Dana', allow_shared_key: true })
    // A server does not say which share it took, and takes no holder's name: only the status comes back.
    const updated = await remote.update('share', { key: Buffer.from('aa'.repeat(33)), nonce: '', holder: 'Alice' })
    expect(Object.keys(updated)).toEqual(['status'])
    expect(puts).toEqual([{}, { key: 'aa'.repeat(33) }])
  })

  it('sends only pgp_key, and the result is the share encrypted to it', async () => {
    const { publicKey, privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Holder' }], format: 'armored' })
    await remote.cancel('share')
    puts.length = 0
    const { status: start, otp } = await remote.start('share', { pgp_key: publicKey })
    expect(puts[0]).toEqual({ pgp_key: publicKey })
    expect(otp).toBeNull()
    await remote.update('share', { key: Buffer.from('aa'.repeat(33)), nonce: start.nonce })
    const { status: done } = await remote.update('share', { key: Buffer.from('bb'.repeat(33)), nonce: start.nonce })
    expect(done.key).toBe(Buffer.from(done.key_base64!, 'base64').toString('hex'))
    const message = await openpgp.readMessage({ binaryMessage: Buffer.from(done.key_base64!, 'base64') })
    const decryptionKeys = await openpgp.readPrivateKey({ armoredKey: privateKey })
    const { data } = await openpgp.decrypt({ message, decryptionKeys, format: 'binary' })
    expect(Buffer.from(data as Uint8Array).equals(newShare)).toBe(true)
  })
})
