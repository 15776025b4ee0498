import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeWithOtp } from '../src-main/decode/decode'
import { verifyTranscript } from '../src-main/transcript/verify'
import { runCli, startServe } from './helpers/cli'
import { makeKeyset, mistypeAt, tempDir } from './helpers/keysets'
import { leaks, secret } from './helpers/secret-forms'
import { callApi } from './helpers/server'

/** One character changed, so that the share is of the right length but wrong. */
const mistype = (hex: string) => mistypeAt(hex, 10)

describe('tessera serve --transcript', () => {
  it('records an API-driven ceremony in a transcript that verifies and holds no secret', async () => {
    const dir = await tempDir('tessera-serve-transcript-')
    try {
      const ks = await makeKeyset(dir.dir, { shares: 3, threshold: 2 })
      const file = join(dir.dir, 'ceremony.jsonl')
      const serve = await startServe(['--keyset', ks.path, '--transcript', file])
      let token = ''
      let encoded = ''
      let otp = ''
      try {
        const start = (await callApi(serve.url, 'PUT', 'sys/generate-root/attempt', {})).json
        otp = start.otp
        await callApi(serve.url, 'PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce: start.nonce })
        const refused = await callApi(serve.url, 'PUT', 'sys/generate-root/update', { key: mistype(ks.keys[1]!), nonce: start.nonce })
        expect(refused.status).toBe(400)
        const done = (await callApi(serve.url, 'PUT', 'sys/generate-root/update', { key: ks.keys[1], nonce: start.nonce })).json
        expect(done.complete).toBe(true)
        encoded = done.encoded_token
        token = decodeWithOtp(encoded, Buffer.from(otp)).value.toString()
        await callApi(serve.url, 'PUT', 'sys/generate-root/attempt', {})
        expect((await callApi(serve.url, 'DELETE', 'sys/generate-root/attempt')).status).toBe(204)
      } finally {
        await serve.stop()
      }
      expect(serve.output()).toMatch(/transcript .*ceremony\.jsonl closed, final hash [0-9a-f]{64}/)

      const text = await readFile(file, 'utf8')
      const r = verifyTranscript(text)
      expect(r.ok).toBe(true)
      if (!r.ok) return
      expect(r.closed).toBe(true)
      expect(r.lines.map((l) => l.type)).toEqual([
        'backend_opened', 'attempt_started', 'share_accepted', 'share_refused', 'share_accepted', 'completed',
        'attempt_started', 'cancelled', 'closed',
      ])
      expect(r.lines[3]!.data).toMatchObject({ reason: 'share_mismatch', progress: 1 })
      const cli = await runCli(['transcript', 'verify', file])
      expect(cli.code).toBe(0)
      expect(cli.stdout).toContain(`9 events, final hash ${r.finalHash}`)

      const secrets = [
        ...ks.keys.map((k, i) => secret(`share ${i + 1}`, k)),
        ...ks.keys_base64.map((k, i) => secret(`share ${i + 1} b64`, k)),
        secret('otp', otp),
        secret('new root token', token),
        secret('initial root token', ks.rootToken),
      ]
      expect(leaks(secrets, [{ name: 'transcript', content: text }, { name: 'serve output', content: serve.output() }])).toEqual([])
    } finally {
      await dir.cleanup()
    }
  })

  it('never overwrites a transcript: an existing file is refused before the server listens', async () => {
    const dir = await tempDir('tessera-serve-transcript-')
    try {
      const ks = await makeKeyset(dir.dir, { shares: 3, threshold: 2 })
      const file = join(dir.dir, 'ceremony.jsonl')
      await (await import('node:fs/promises')).writeFile(file, 'kept\n')
      const r = await runCli(['serve', '--keyset', ks.path, '--port', '0', '--transcript', file])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/^tessera serve: .*exists/)
      expect(await readFile(file, 'utf8')).toBe('kept\n')
    } finally {
      await dir.cleanup()
    }
  })
})
