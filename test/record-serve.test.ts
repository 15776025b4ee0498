import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeWithOtp } from '../src-main/decode/decode'
import { verifyRecord } from '../src-main/record/verify'
import { runCli, startServe } from './helpers/cli'
import { makeKeyset, mistypeAt, tempDir } from './helpers/keysets'
import { leaks, secret } from './helpers/secret-forms'
import { callApi } from './helpers/server'

/** One character changed, so that the share is of the right length but wrong. */
const mistype = (hex: string) => mistypeAt(hex, 10)

describe('tessera serve --record', () => {
  it('records an API-driven ceremony in a record that verifies and holds no secret', async () => {
    const dir = await tempDir('tessera-serve-record-')
    try {
      const ks = await makeKeyset(dir.dir, { shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] })
      const file = join(dir.dir, 'ceremony.jsonl')
      const serve = await startServe(['--keyset', ks.path, '--record', file])
      expect(serve.output()).toContain('warning: without --require-token, any process on this machine can start, update or cancel an attempt')
      let token = ''
      let encoded = ''
      let otp = ''
      try {
        const start = (await callApi(serve.url, 'PUT', 'sys/generate-root/attempt', {})).json
        otp = start.otp
        await callApi(serve.url, 'PUT', 'sys/generate-root/update', { key: ks.keys[2], nonce: start.nonce })
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
      expect(serve.output()).toMatch(/record .*ceremony\.jsonl closed, final hash [0-9a-f]{64}/)

      const text = await readFile(file, 'utf8')
      const r = verifyRecord(text)
      expect(r.ok).toBe(true)
      if (!r.ok) return
      expect(r.closed).toBe(true)
      expect(r.lines.map((l) => l.type)).toEqual([
        'backend_opened', 'attempt_started', 'share_accepted', 'share_refused', 'share_accepted', 'completed',
        'attempt_started', 'cancelled', 'closed',
      ])
      expect(r.lines[3]!.data).toMatchObject({ reason: 'share_mismatch', progress: 1 })
      // Each share accepted is named as the keyset knows it: its number and its holder.
      expect(r.lines[2]!.data).toEqual({ holder: 'Carol', share_number: 3, progress: 1, required: 2 })
      expect(r.lines[4]!.data).toEqual({ holder: 'Bob', share_number: 2, progress: 2, required: 2 })
      const cli = await runCli(['record', 'verify', file])
      expect(cli.code).toBe(0)
      expect(cli.stdout).toContain(`9 events, final hash ${r.finalHash}`)

      const secrets = [
        ...ks.keys.map((k, i) => secret(`share ${i + 1}`, k)),
        ...ks.keys_base64.map((k, i) => secret(`share ${i + 1} b64`, k)),
        secret('otp', otp),
        secret('new root token', token),
        secret('initial root token', ks.rootToken),
      ]
      expect(leaks(secrets, [{ name: 'record', content: text }, { name: 'serve output', content: serve.output() }])).toEqual([])
    } finally {
      await dir.cleanup()
    }
  })

  it('never overwrites a record: an existing file is refused before the server listens', async () => {
    const dir = await tempDir('tessera-serve-record-')
    try {
      const ks = await makeKeyset(dir.dir, { shares: 3, threshold: 2 })
      const file = join(dir.dir, 'ceremony.jsonl')
      await (await import('node:fs/promises')).writeFile(file, 'kept\n')
      const r = await runCli(['serve', '--keyset', ks.path, '--port', '0', '--record', file])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/^tessera serve: .*exists/)
      expect(await readFile(file, 'utf8')).toBe('kept\n')
    } finally {
      await dir.cleanup()
    }
  })

  it('keeps the ceremony, not the noise: calls that change nothing leave no line, a flood of refusals is counted, and the record verifies', async () => {
    const dir = await tempDir('tessera-serve-flood-')
    try {
      const ks = await makeKeyset(dir.dir, { shares: 3, threshold: 2, holders: ['Alice', 'Bob', 'Carol'] })
      const file = join(dir.dir, 'flood.jsonl')
      const serve = await startServe(['--keyset', ks.path, '--record', file, '--require-token'])
      const token = { 'X-Vault-Token': ks.rootToken }
      const api = (method: string, path: string, body?: unknown) => callApi(serve.url, method, path, body, token)
      // Enough for a run far longer than the three refusals kept in full; each mistyped share costs a slow check.
      const BAD = 60
      try {
        expect(serve.output()).not.toContain('any process on this machine')
        // With no attempt running, an update or a cancel changes nothing.
        for (let i = 0; i < 50; i++) expect((await api('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce: 'x' })).status).toBe(400)
        expect((await api('DELETE', 'sys/generate-root/attempt')).status).toBe(204)
        const start = (await api('PUT', 'sys/generate-root/attempt', {})).json
        // Twenty at a time, as a flood arrives.
        for (let i = 0; i < BAD; i += 20) {
          const batch = Array.from({ length: 20 }, (_, j) =>
            (i + j) % 3 === 0 ? { key: ks.keys[0], nonce: 'wrong' } : { key: mistype(ks.keys[1]!), nonce: start.nonce },
          )
          for (const reply of await Promise.all(batch.map((body) => api('PUT', 'sys/generate-root/update', body)))) expect(reply.status).toBe(400)
        }
        await api('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce: start.nonce })
        for (let i = 0; i < 10; i++) await api('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce: start.nonce })
      } finally {
        await serve.stop()
      }
      const text = await readFile(file, 'utf8')
      const r = verifyRecord(text)
      if (!r.ok) throw new Error(r.problem)
      expect(r.closed).toBe(true)
      expect(r.lines.map((l) => l.type)).toEqual([
        'backend_opened', 'attempt_started',
        'share_refused', 'share_refused', 'share_refused', 'refusals_summarized',
        'share_accepted',
        'share_refused', 'share_refused', 'share_refused', 'refusals_summarized',
        'closed',
      ])
      // Every refusal is accounted for: the first three of the run in full, the rest counted by reason.
      const sent: Record<string, number> = { wrong_nonce: BAD / 3, share_mismatch: (BAD * 2) / 3 }
      const inFull = r.lines.slice(2, 5).map((l) => l.data as { reason: string; holder?: string; share_number?: number })
      const counted = (r.lines[5]!.data as { counts: Array<{ reason: string; count: number }> }).counts
      for (const reason of Object.keys(sent)) {
        expect(inFull.filter((l) => l.reason === reason).length + (counted.find((c) => c.reason === reason)?.count ?? 0), reason).toBe(sent[reason])
      }
      // A refused share is named where its check value tells which it is; a mistyped one cannot be.
      for (const l of inFull) {
        if (l.reason === 'wrong_nonce') expect(l).toEqual({ holder: 'Alice', share_number: 1, reason: 'wrong_nonce', progress: 0 })
        else expect(l).toEqual({ reason: 'share_mismatch', progress: 0 })
      }
      expect(r.lines[7]!.data).toEqual({ holder: 'Alice', share_number: 1, reason: 'duplicate_key', progress: 1 })
      expect(r.lines[6]!.data).toEqual({ holder: 'Alice', share_number: 1, progress: 1, required: 2 })
      expect(r.lines[10]!.data).toEqual({ counts: [{ reason: 'duplicate_key', count: 7 }] })
      expect(text.length).toBeLessThan(4096)
      expect((await runCli(['record', 'verify', file])).code).toBe(0)
    } finally {
      await dir.cleanup()
    }
  })
})
