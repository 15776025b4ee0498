import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { keyringFingerprint } from '../src-main/record/attempt-record'
import { verifyRecord } from '../src-main/record/verify'
import { runCli, startServe } from './helpers/cli'
import { keysOpen, mistypeAt } from './helpers/keysets'
import { keysetToRekey, rekeySecrets } from './helpers/rekeys'
import { leaks } from './helpers/secret-forms'
import { callApi } from './helpers/server'

describe('tessera serve --record records a rekey', () => {
  it('started with its parameters, each share accepted or refused with number and holder, verification, completion with the new fingerprint and generation, a cancel', async () => {
    const { dir, cleanup, ks } = await keysetToRekey('tessera-rekey-record-')
    try {
      const file = join(dir, 'rekey.jsonl')
      const serve = await startServe(['--keyset', ks.path, '--record', file])
      let fresh: string[] = []
      try {
        const call = (method: string, path: string, body?: unknown) => callApi(serve.url, method, path, body)
        const { nonce } = (await call('PUT', 'sys/rekey/init', { secret_shares: 2, secret_threshold: 2, tessera_verify_all: true, tessera_holders: ['Dana', 'Eve'] })).json
        await call('PUT', 'sys/rekey/update', { key: ks.keys[2], nonce })
        expect((await call('PUT', 'sys/rekey/update', { key: mistypeAt(ks.keys[0]!, 10), nonce })).status).toBe(400)
        const made = (await call('PUT', 'sys/rekey/update', { key: ks.keys[0], nonce })).json
        fresh = made.keys
        await call('PUT', 'sys/rekey/verify', { key: fresh[1], nonce: made.verification_nonce })
        const restarted = (await call('DELETE', 'sys/rekey/verify')).json.nonce
        await call('PUT', 'sys/rekey/verify', { key: fresh[0], nonce: restarted })
        expect((await call('PUT', 'sys/rekey/verify', { key: fresh[1], nonce: restarted })).json.complete).toBe(true)
        await call('PUT', 'sys/rekey/init', { secret_shares: 3, secret_threshold: 2 })
        expect((await call('DELETE', 'sys/rekey/init')).status).toBe(204)
      } finally {
        await serve.stop()
      }
      const text = await readFile(file, 'utf8')
      const r = verifyRecord(text)
      expect(r.ok).toBe(true)
      if (!r.ok) return
      expect(r.lines.map((l) => l.type)).toEqual([
        'backend_opened', 'rekey_started', 'share_accepted', 'share_refused', 'share_accepted', 'rekey_shares_issued',
        'new_share_verified', 'rekey_verification_restarted', 'new_share_verified', 'new_share_verified', 'rekey_completed',
        'rekey_started', 'rekey_cancelled', 'closed',
      ])
      expect(r.lines[1]!.data).toMatchObject({ shares: 2, threshold: 2, required: 2, verification: 'all', holders: ['Dana', 'Eve'] })
      expect(r.lines[2]!.data).toEqual({ holder: 'Carol', share_number: 3, progress: 1, required: 2 })
      expect(r.lines[3]!.data).toMatchObject({ reason: 'share_mismatch', progress: 1 })
      expect(r.lines[6]!.data).toEqual({ holder: 'Eve', share_number: 2, progress: 1, required: 2 })
      const keyset = JSON.parse(await readFile(ks.path, 'utf8'))
      expect(r.lines[10]!.data).toEqual({ keyset_fingerprint: keyringFingerprint(keyset.keyring.ciphertext), generation: 2, shares: 2, threshold: 2 })

      const html = join(dir, 'rekey.html')
      expect((await runCli(['record', 'print', file, '--out', html])).code).toBe(0)
      const page = await readFile(html, 'utf8')
      expect(page).toContain('Rekey complete: the new shares are in effect')
      expect(page).toContain('Dana (new share 1): entered back, 1 of 2')

      expect(leaks(rekeySecrets(ks.keys, fresh), [{ name: 'record', content: text }, { name: 'printed', content: page }])).toEqual([])
    } finally {
      await cleanup()
    }
  })

  it('stopping serve mid-rekey cancels it, says so, records it, and the current shares stay in effect', async () => {
    const { dir, cleanup, ks } = await keysetToRekey('tessera-rekey-stop-')
    try {
      const file = join(dir, 'stop.jsonl')
      const serve = await startServe(['--keyset', ks.path, '--record', file])
      const call = (method: string, path: string, body?: unknown) => callApi(serve.url, method, path, body, { 'X-Vault-Token': ks.rootToken })
      const { nonce } = (await call('PUT', 'sys/rekey/init', { secret_shares: 2, secret_threshold: 2, require_verification: true })).json
      await call('PUT', 'sys/rekey/update', { key: ks.keys[0], nonce })
      const made = (await call('PUT', 'sys/rekey/update', { key: ks.keys[1], nonce })).json
      expect(made.verification_nonce).toBeTruthy()
      const rotate = (await call('PUT', 'sys/rotate/root/init', { secret_shares: 3, secret_threshold: 2 })).json.data
      await call('PUT', 'sys/rotate/root/update', { key: ks.keys[2], nonce: rotate.nonce })
      await serve.stop()

      expect(serve.output()).toContain('stopped: the rekey in progress (sys/rekey) was cancelled, the new shares it made are void; the shares given to it were wiped and the current shares stay in effect\n')
      expect(serve.output()).toContain('stopped: the rekey in progress (sys/rotate/root) was cancelled; the shares given to it were wiped and the current shares stay in effect\n')
      const r = verifyRecord(await readFile(file, 'utf8'))
      expect(r.ok).toBe(true)
      if (!r.ok) return
      expect(r.lines.filter((l) => l.type === 'rekey_cancelled')).toHaveLength(2)
      expect(await keysOpen(ks.path, ks.keys.slice(0, 2))).toBe(true)
      expect(await keysOpen(ks.path, made.keys)).toBe(false)
      expect(leaks(rekeySecrets(ks.keys, made.keys), [{ name: 'output', content: serve.output() }])).toEqual([])
    } finally {
      await cleanup()
    }
  })
})
