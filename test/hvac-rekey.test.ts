import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { makeKeyset, tempDir } from './helpers/keysets'
import { startApi } from './helpers/server'
import { Gpg } from './helpers/gnupg'

/**
 * Debian's python3-hvac (0.11), unchanged, runs a rekey against Tessera's HTTP
 * API. Debian installs it for the system Python only, hence /usr/bin/python3.
 * Only hvac talks to the server here; each script prints what hvac returned.
 */
const PYTHON = '/usr/bin/python3'

function hvac(url: string, token: string, body: string, input: unknown): Promise<any> {
  const script = `
import json, sys, hvac
args = json.load(sys.stdin)
client = hvac.Client(url=${JSON.stringify(url)}, token=${JSON.stringify(token)})
out = {}
def failed(call):
    try:
        call()
        return None
    except hvac.exceptions.VaultError as e:
        return [type(e).__name__, e.errors]
${body}
print(json.dumps(out))
`
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, ['-c', script], (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout))))
    child.stdin!.end(JSON.stringify(input))
  })
}

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

describe('hvac drives sys/rekey', () => {
  it('start_rekey, rekey_multi, read_rekey_progress, cancel_rekey; with verification rekey_verify(_multi), its progress and cancel', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const api = await startApi(ks.path)
    try {
      const out = await hvac(
        api.url,
        ks.rootToken,
        `
sys = client.sys
out['idle'] = sys.read_rekey_progress()
start = sys.start_rekey(secret_shares=2, secret_threshold=2)
out['cancel'] = sys.cancel_rekey().status_code
out['after_cancel'] = sys.read_rekey_progress()['started']
start = sys.start_rekey(secret_shares=4, secret_threshold=3, require_verification=True)
out['started'] = start
out['again'] = failed(lambda: sys.start_rekey(secret_shares=4, secret_threshold=3))
made = sys.rekey_multi(args['old'], nonce=start['nonce'])
out['made'] = made
out['stale'] = failed(lambda: sys.rekey(args['old'][0], nonce=start['nonce']))
vnonce = made['verification_nonce']
out['verify_one'] = sys.rekey_verify(made['keys'][0], vnonce)
out['verify_progress'] = sys.read_rekey_verify_progress()
restarted = sys.cancel_rekey_verify()
out['restarted'] = restarted
out['wrong_nonce'] = failed(lambda: sys.rekey_verify(made['keys'][1], vnonce))
out['done'] = sys.rekey_verify_multi(made['keys'][1:], restarted['nonce'])
out['progress_after'] = sys.read_rekey_progress()
out['new_keys'] = made['keys']
`,
        { old: ks.keys },
      )
      expect(out.idle).toMatchObject({ started: false, required: 2, nonce: '' })
      expect(out.cancel).toBe(204)
      expect(out.after_cancel).toBe(false)
      expect(out.started).toMatchObject({ started: true, t: 3, n: 4, required: 2, verification_required: true })
      expect(out.again).toEqual(['InvalidRequest', ['rekey already in progress']])
      expect(out.made).toMatchObject({ complete: true, verification_required: true })
      expect(out.made.keys).toHaveLength(4)
      expect(out.stale[0]).toBe('InvalidRequest')
      expect(out.stale[1][0]).toMatch(/^rekey operation already finished; verification must be performed/)
      expect(out.verify_one).toMatchObject({ started: true, progress: 1, t: 3, n: 4 })
      expect(out.verify_progress.progress).toBe(1)
      expect(out.restarted).toMatchObject({ started: true, progress: 0 })
      expect(out.wrong_nonce).toEqual(['InvalidRequest', [`incorrect nonce supplied; nonce for this verify operation is "${out.restarted.nonce}"`]])
      expect(out.done).toEqual({ nonce: out.restarted.nonce, complete: true })
      expect(out.progress_after.started).toBe(false)
      expect(out.progress_after.required).toBe(3)
      expect(JSON.parse(await readFile(ks.path, 'utf8'))).toMatchObject({ generation: 2, secret_shares: 4, secret_threshold: 3 })
    } finally {
      await api.close()
    }
  })

  it('start_rekey with PGP keys and backup; read_backup_keys with the token; a bad parameter is an InternalServerError as in Vault', async () => {
    const gpg = new Gpg()
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const api = await startApi(ks.path)
    try {
      const fprs = ['Ana <ana@example.org>', 'Ben <ben@example.org>'].map((uid) => gpg.generate(uid))
      const keys = ['ana@example.org', 'ben@example.org'].map((uid) => gpg.exportPublic(uid).toString('base64'))
      const out = await hvac(
        api.url,
        ks.rootToken,
        `
sys = client.sys
out['bad'] = failed(lambda: sys.start_rekey(secret_shares=3, secret_threshold=4))
start = sys.start_rekey(secret_shares=2, secret_threshold=2, pgp_keys=args['pgp'], backup=True)
out['start'] = start
out['made'] = sys.rekey_multi(args['old'], nonce=start['nonce'])
out['backup'] = sys.read_backup_keys()
`,
        { old: ks.keys, pgp: keys },
      )
      expect(out.bad).toEqual(['InternalServerError', ['invalid rekey seal configuration: threshold cannot be larger than shares']])
      expect(out.start).toMatchObject({ pgp_fingerprints: fprs, backup: true })
      expect(out.made).toMatchObject({ complete: true, pgp_fingerprints: fprs, backup: true, verification_required: false })
      expect(out.backup.data).toEqual({
        nonce: out.start.nonce,
        keys: { [fprs[0]!]: [out.made.keys[0]], [fprs[1]!]: [out.made.keys[1]] },
        keys_base64: { [fprs[0]!]: [out.made.keys_base64[0]], [fprs[1]!]: [out.made.keys_base64[1]] },
      })
      expect(gpg.decryptBase64(out.made.keys_base64[1])).toMatch(/^[0-9a-f]{66}$/)
    } finally {
      await api.close()
    }
  })
})
