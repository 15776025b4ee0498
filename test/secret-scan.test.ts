import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import * as openpgp from 'openpgp'
import { decodeWithOtp, decodeWithPgp } from '../src-main/decode/decode'
import { readPrivateKey } from '../src-main/crypto/pgp'
import { runCli, startServe, type ServeProcess } from './helpers/cli'
import { SCHEMES, tempDir } from './helpers/keysets'

/**
 * Full ceremonies against real `tessera serve` processes, then a search of the
 * keyset directory and everything the processes printed for every secret that
 * passed through: shares in all their spellings, OTPs, tokens.
 */
async function call(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}/v1/${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}

function spellings(share: string): string[] {
  const out = [share, share.toUpperCase()]
  if (/^[0-9a-f]+$/.test(share) && share.length % 2 === 0) out.push(Buffer.from(share, 'hex').toString('base64'))
  out.push(Buffer.from(share).toString('base64'))
  return out
}

describe.each(SCHEMES)('no secret reaches disk or output (%s keyset)', (scheme) => {
  let tmp: Awaited<ReturnType<typeof tempDir>>
  let elsewhere: Awaited<ReturnType<typeof tempDir>>
  const secrets: string[] = []
  const outputs: string[] = []
  let keyset: string
  let keys: string[]

  beforeAll(async () => {
    tmp = await tempDir()
    elsewhere = await tempDir()
    keyset = join(tmp.dir, 'keyset.json')
    const init = await runCli(['init', '--keyset', keyset, '--shares', '4', '--threshold', '2', '--scheme', scheme, '--format', 'json'])
    expect(init.code, init.stderr).toBe(0)
    outputs.push(init.stderr)
    const out = JSON.parse(init.stdout)
    keys = out.keys
    secrets.push(out.root_token, ...out.keys.flatMap(spellings), ...out.keys_base64)
    const foreign = JSON.parse(
      (await runCli(['init', '--keyset', join(elsewhere.dir, 'foreign.json'), '--shares', '2', '--threshold', '2', '--scheme', scheme, '--format', 'json'])).stdout,
    )
    secrets.push(...foreign.keys.flatMap(spellings))

    const { publicKey, privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Scan' }], format: 'armored' })
    const serve = async (args: string[] = []) => {
      const s: ServeProcess = await startServe(['--keyset', keyset, ...args])
      return s
    }

    let s = await serve()
    try {
      // Root with a server OTP, with the error paths on the way.
      let start = (await call(s.url, 'PUT', 'sys/generate-root/attempt', {})).json
      secrets.push(start.otp)
      expect((await call(s.url, 'PUT', 'sys/generate-root/update', { key: keys[0], nonce: 'wrong' })).status).toBe(400)
      await call(s.url, 'PUT', 'sys/generate-root/update', { key: keys[0], nonce: start.nonce })
      expect((await call(s.url, 'PUT', 'sys/generate-root/update', { key: keys[0], nonce: start.nonce })).status).toBe(400)
      let done = (await call(s.url, 'PUT', 'sys/generate-root/update', { key: keys[1], nonce: start.nonce })).json
      secrets.push(decodeWithOtp(done.encoded_token, start.otp).value.toString())

      // A foreign share set: refused, progress reset.
      start = (await call(s.url, 'PUT', 'sys/generate-root/attempt', {})).json
      secrets.push(start.otp)
      await call(s.url, 'PUT', 'sys/generate-root/update', { key: foreign.keys[0], nonce: start.nonce })
      expect((await call(s.url, 'PUT', 'sys/generate-root/update', { key: foreign.keys[1], nonce: start.nonce })).status).toBe(400)
      await call(s.url, 'DELETE', 'sys/generate-root/attempt')

      // Root with PGP.
      start = (await call(s.url, 'PUT', 'sys/generate-root/attempt', { pgp_key: publicKey })).json
      await call(s.url, 'PUT', 'sys/generate-root/update', { key: keys[2], nonce: start.nonce })
      done = (await call(s.url, 'PUT', 'sys/generate-root/update', { key: keys[3], nonce: start.nonce })).json
      secrets.push((await decodeWithPgp(done.encoded_token, await readPrivateKey(privateKey))).value.toString())

      // A new share.
      start = (await call(s.url, 'PUT', 'sys/generate-share/attempt', {})).json
      secrets.push(start.otp)
      await call(s.url, 'PUT', 'sys/generate-share/update', { key: keys[1], nonce: start.nonce })
      done = (await call(s.url, 'PUT', 'sys/generate-share/update', { key: keys[3], nonce: start.nonce })).json
      const fresh = decodeWithOtp(done.encoded_token, start.otp).value.toString()
      secrets.push(...spellings(fresh))

      // Decoding through the CLI, with the OTP on stdin.
      const decoded = await runCli(['decode', '--encoded', done.encoded_token, '--otp', '-'], { stdin: start.otp })
      expect(decoded.stdout.trim()).toBe(fresh)
      outputs.push(decoded.stderr)
    } finally {
      await s.stop()
      outputs.push(s.output())
    }

    s = await serve(['--recovery'])
    try {
      const start = (await call(s.url, 'PUT', 'sys/generate-recovery-token/attempt', {})).json
      secrets.push(start.otp)
      await call(s.url, 'PUT', 'sys/generate-recovery-token/update', { key: keys[0], nonce: start.nonce })
      const done = (await call(s.url, 'PUT', 'sys/generate-recovery-token/update', { key: keys[2], nonce: start.nonce })).json
      secrets.push(decodeWithOtp(done.encoded_token, start.otp).value.toString())
    } finally {
      await s.stop()
      outputs.push(s.output())
    }
  })
  afterAll(async () => {
    await tmp.cleanup()
    await elsewhere.cleanup()
  })

  it('collected the secrets it looks for', () => {
    expect(secrets.filter((x) => /^hvs\./.test(x))).toHaveLength(3)
    expect(secrets.filter((x) => /^hvr\./.test(x))).toHaveLength(1)
    expect(outputs.join('')).toMatch(/listening on http/)
  })

  it('leaves only the keyset in its directory, private', async () => {
    expect(await readdir(tmp.dir)).toEqual(['keyset.json'])
    expect((await stat(keyset)).mode & 0o777).toBe(0o600)
  })

  it('finds none of them in the keyset directory or in any output', async () => {
    const haystacks = [await readFile(keyset, 'utf8'), ...outputs]
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(15)
      for (const hay of haystacks) expect(hay.includes(secret), `a secret of ${secret.length} characters leaked`).toBe(false)
    }
  })
})
