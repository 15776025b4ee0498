import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Gpg } from './helpers/gnupg'
import { runCli } from './helpers/cli'
import { tempDir } from './helpers/keysets'
import { startApi } from './helpers/server'

// PGP interop with the real gpg, both ways: gpg's keys receive what Tessera
// encrypts, and Tessera decrypts what gpg encrypts.
let tmp: Awaited<ReturnType<typeof tempDir>>
let gpg: Gpg
const fpr: Record<string, string> = {}

beforeAll(async () => {
  tmp = await tempDir()
  gpg = new Gpg()
  fpr.alice = gpg.generate('Alice <alice@example.org>')
  fpr.bob = gpg.generate('Bob <bob@example.org>', { algo: 'rsa2048' })
  fpr.carol = gpg.generate('Carol <carol@example.org>', { passphrase: 'carol secret' })
  fpr.mallory = gpg.generate('Mallory <mallory@example.org>')
})
afterAll(async () => {
  gpg.close()
  await tmp.cleanup()
})

const file = async (name: string, content: Buffer | string) => {
  const path = join(tmp.dir, name)
  await writeFile(path, content)
  return path
}

describe('gpg keys receive what Tessera encrypts', () => {
  it('init encrypts each share to its holder, whatever form the key came in', async () => {
    const keys = [
      await file('alice.asc', gpg.exportPublic('alice@example.org', true)),
      await file('bob.gpg', gpg.exportPublic('bob@example.org')),
      await file('carol.b64', gpg.exportPublic('carol@example.org').toString('base64')),
    ]
    const keyset = join(tmp.dir, 'pgp-keyset.json')
    const init = await runCli(['init', '--keyset', keyset, '--shares', '3', '--threshold', '2', '--pgp-keys', keys.join(','), '--format', 'json'])
    expect(init.code, init.stderr).toBe(0)
    expect(init.stderr).toContain(`Share 1 will be encrypted to ${fpr.alice} (Alice <alice@example.org>; armored key)`)
    expect(init.stderr).toContain(`Share 2 will be encrypted to ${fpr.bob} (Bob <bob@example.org>; binary key)`)
    expect(init.stderr).toContain(`Share 3 will be encrypted to ${fpr.carol} (Carol <carol@example.org>; base64 key)`)
    const out = JSON.parse(init.stdout)
    expect(Buffer.from(out.keys[0], 'hex').equals(Buffer.from(out.keys_base64[0], 'base64'))).toBe(true)

    const shares = [
      gpg.decryptBase64(out.keys_base64[0]),
      gpg.decryptBase64(out.keys_base64[1]),
      gpg.decryptBase64(out.keys_base64[2], 'carol secret'),
    ]
    for (const share of shares) expect(share).toMatch(/^[0-9a-f]{66}$/)

    // The decrypted shares are the keyset's: two of them make a root token.
    const api = await startApi(keyset)
    try {
      const { nonce } = (await api.call('PUT', 'sys/generate-root/attempt', {})).json
      await api.call('PUT', 'sys/generate-root/update', { key: shares[0], nonce })
      const done = await api.call('PUT', 'sys/generate-root/update', { key: shares[2], nonce })
      expect(done.json.complete).toBe(true)
    } finally {
      await api.close()
    }
  })

  it('refuses a gpg key that can only sign, before writing anything', async () => {
    gpg.run(['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'Signer <signer@example.org>', 'rsa2048', 'default', 'never'])
    const keys = [await file('signer.gpg', gpg.exportPublic('signer@example.org')), await file('alice2.asc', gpg.exportPublic('alice@example.org', true))]
    const keyset = join(tmp.dir, 'never-written.json')
    const r = await runCli(['init', '--keyset', keyset, '--shares', '2', '--threshold', '2', '--pgp-keys', keys.join(',')])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/signer\.gpg: key [0-9a-f]{40} cannot encrypt \(.+\): its owner adds an encryption subkey with gpg --quick-add-key [0-9A-F]{40} cv25519 encr/)
    // The command it names is the fix: with that subkey, the same key is taken.
    const fpr = /--quick-add-key ([0-9A-F]{40})/.exec(r.stderr)![1]!
    gpg.run(['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-add-key', fpr, 'cv25519', 'encr'])
    keys[0] = await file('signer-fixed.gpg', gpg.exportPublic('signer@example.org'))
    const fixed = await runCli(['init', '--keyset', join(tmp.dir, 'fixed.json'), '--shares', '2', '--threshold', '2', '--pgp-keys', keys.join(',')])
    expect(fixed.code, fixed.stderr).toBe(0)
    expect(r.stdout).toBe('')
    await expect(readFile(keyset)).rejects.toThrow(/ENOENT/)
  })

  it('a root token encrypted to a gpg key decrypts with gpg -dq', async () => {
    const init = await runCli(['init', '--keyset', join(tmp.dir, 'plain.json'), '--shares', '2', '--threshold', '2', '--format', 'json'])
    const out = JSON.parse(init.stdout)
    const api = await startApi(join(tmp.dir, 'plain.json'))
    try {
      for (const uid of ['alice@example.org', 'bob@example.org']) {
        const pgp_key = gpg.exportPublic(uid).toString('base64')
        const start = await api.call('PUT', 'sys/generate-root/attempt', { pgp_key })
        expect(start.status, start.text).toBe(200)
        expect(start.json.pgp_fingerprint).toBe(uid.startsWith('alice') ? fpr.alice : fpr.bob)
        await api.call('PUT', 'sys/generate-root/update', { key: out.keys[0], nonce: start.json.nonce })
        const done = await api.call('PUT', 'sys/generate-root/update', { key: out.keys_base64[1], nonce: start.json.nonce })
        const token = gpg.decryptBase64(done.json.encoded_token)
        expect(token).toMatch(/^hvs\.[0-9A-Za-z]{24}$/)
        const lookup = await api.call('GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': token })
        expect(lookup.status).toBe(200)
      }
    } finally {
      await api.close()
    }
  })
})

describe('Tessera decrypts what gpg encrypts', () => {
  const token = 'hvs.GpgMadeThisTokenAbcdefgh'
  let encoded: string

  beforeAll(() => {
    encoded = gpg.encryptTo('alice@example.org', token).toString('base64')
  })

  it('with an armored or a binary secret key', async () => {
    for (const armor of [true, false]) {
      const key = await file(`alice-secret-${armor}.key`, gpg.exportSecret('alice@example.org', { armor }))
      const r = await runCli(['decode', '--encoded', encoded, '--pgp-key', key])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toBe(`${token}\n`)
    }
  })

  it('decrypts a signed-and-encrypted message, and with a subkeys-only export', async () => {
    const signed = gpg.run(['--trust-model', 'always', '-se', '-u', 'bob@example.org', '-r', 'alice@example.org'], token).toString('base64')
    const full = await file('alice-full.asc', gpg.exportSecret('alice@example.org', { armor: true }))
    expect((await runCli(['decode', '--encoded', signed, '--pgp-key', full])).stdout).toBe(`${token}\n`)
    // As operators keep keys on a card: the primary key's secret is stripped.
    const subkeys = await file('alice-subkeys.asc', gpg.run(['--pinentry-mode', 'loopback', '--passphrase', '', '--armor', '--export-secret-subkeys', 'alice@example.org']))
    const r = await runCli(['decode', '--encoded', encoded, '--pgp-key', subkeys])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(`${token}\n`)
  })

  it('reads the encoded value from standard input', async () => {
    const key = await file('alice-secret.asc', gpg.exportSecret('alice@example.org', { armor: true }))
    const r = await runCli(['decode', '--encoded', '-', '--pgp-key', key], { stdin: `${encoded}\n` })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(`${token}\n`)
  })

  it('unlocks a protected key with a passphrase file or standard input', async () => {
    const carolEncoded = gpg.encryptTo('carol@example.org', token).toString('base64')
    const key = await file('carol-secret.asc', gpg.exportSecret('carol@example.org', { armor: true, passphrase: 'carol secret' }))
    const pass = await file('carol.pass', 'carol secret\n')
    const fromFile = await runCli(['decode', '--encoded', carolEncoded, '--pgp-key', key, '--passphrase-file', pass])
    expect(fromFile.code, fromFile.stderr).toBe(0)
    expect(fromFile.stdout).toBe(`${token}\n`)
    const fromStdin = await runCli(['decode', '--encoded', carolEncoded, '--pgp-key', key, '--passphrase-file', '-'], { stdin: 'carol secret' })
    expect(fromStdin.stdout).toBe(`${token}\n`)

    const wrong = await runCli(['decode', '--encoded', carolEncoded, '--pgp-key', key, '--passphrase-file', await file('bad.pass', 'nope')])
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/passphrase does not unlock private key/)
    expect(wrong.stdout).toBe('')
    const missing = await runCli(['decode', '--encoded', carolEncoded, '--pgp-key', key])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/protected by a passphrase/)
  })

  it('reads base64 wrapped at 76 columns, as `base64` writes it', async () => {
    const key = await file('alice-wrap.asc', gpg.exportSecret('alice@example.org', { armor: true }))
    const wrapped = encoded.replace(/(.{76})/g, '$1\n')
    expect(wrapped).toContain('\n')
    const r = await runCli(['decode', '--encoded', '-', '--pgp-key', key], { stdin: `${wrapped}\n` })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(`${token}\n`)
  })

  it('decrypts a message that hides its recipient (gpg -R)', async () => {
    const hidden = gpg.run(['--trust-model', 'always', '-e', '-R', 'alice@example.org'], token).toString('base64')
    const alice = await file('alice-hidden.asc', gpg.exportSecret('alice@example.org', { armor: true }))
    const ok = await runCli(['decode', '--encoded', hidden, '--pgp-key', alice])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toBe(`${token}\n`)
    const mallory = await file('mallory-hidden.asc', gpg.exportSecret('mallory@example.org', { armor: true }))
    const no = await runCli(['decode', '--encoded', hidden, '--pgp-key', mallory])
    expect(no.code).toBe(1)
    expect(no.stderr).toContain(`hides its recipient, and private key ${fpr.mallory} cannot decrypt it`)
  })

  it('reads a base64 key file that starts with a byte-order mark', async () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(gpg.exportSecret('alice@example.org').toString('base64'))])
    const r = await runCli(['decode', '--encoded', encoded, '--pgp-key', await file('alice-bom.b64', bom)])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(`${token}\n`)
  })

  it('names the key when the message is for someone else', async () => {
    const key = await file('mallory-secret.asc', gpg.exportSecret('mallory@example.org', { armor: true }))
    const r = await runCli(['decode', '--encoded', encoded, '--pgp-key', key])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`not to private key ${fpr.mallory}`)
    expect(r.stdout).toBe('')
  })

  it('refuses a public key where a private one is needed', async () => {
    const key = await file('alice-public.asc', gpg.exportPublic('alice@example.org', true))
    const r = await runCli(['decode', '--encoded', encoded, '--pgp-key', key])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/is a public key; decoding needs the matching private key/)
  })
})
