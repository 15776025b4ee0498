import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decryptWithGpg } from '../src-main/crypto/gpg'
import { ERRORS } from '../src-main/support/error-codes'
import { Gpg } from './helpers/gnupg'
import { runCli } from './helpers/cli'
import { tempDir } from './helpers/keysets'
import { startApi } from './helpers/server'

// `tessera decode --gpg` against a real gpg and its agent: the results are
// encrypted by Tessera's own engine (generate-root with a pgp_key, init with
// --pgp-keys) as a ceremony would, and decrypted by gpg with the secret key in
// its agent only; each failure is produced for real and named in a sentence.
let tmp: Awaited<ReturnType<typeof tempDir>>
let gpg: Gpg
let keyset: string
let shares: { keys: string[]; keys_base64: string[] }
const TOKEN = /^hvs\.[0-9A-Za-z]{24}$/

beforeAll(async () => {
  tmp = await tempDir()
  gpg = new Gpg()
  gpg.generate('Alice <alice@example.org>')
  gpg.generate('Bob <bob@example.org>')
  gpg.generate('Carol <carol@example.org>', { passphrase: 'carol secret' })
  gpg.generate('Dana <dana@example.org>')
  keyset = join(tmp.dir, 'keyset.json')
  const init = await runCli(['init', '--keyset', keyset, '--shares', '2', '--threshold', '2', '--format', 'json'])
  expect(init.code, init.stderr).toBe(0)
  shares = JSON.parse(init.stdout)
})
afterAll(async () => {
  gpg.close()
  await tmp.cleanup()
})

/** A generate-root on the engine over Vault's HTTP API, its result encrypted to `uid`'s exported public key. */
async function rootTokenFor(pgpKey: Buffer): Promise<string> {
  const api = await startApi(keyset)
  try {
    const start = await api.call('PUT', 'sys/generate-root/attempt', { pgp_key: pgpKey.toString('base64') })
    expect(start.status, start.text).toBe(200)
    await api.call('PUT', 'sys/generate-root/update', { key: shares.keys[0], nonce: start.json.nonce })
    const done = await api.call('PUT', 'sys/generate-root/update', { key: shares.keys_base64[1], nonce: start.json.nonce })
    expect(done.json.complete).toBe(true)
    return done.json.encoded_token as string
  } finally {
    await api.close()
  }
}

const decodeGpg = (encoded: string, extra: string[] = [], env: NodeJS.ProcessEnv = gpg.env()) =>
  runCli(['decode', '--encoded', '-', '--gpg', ...extra], { stdin: encoded, env, timeoutMs: 60_000 })

describe('tessera decode --gpg', () => {
  it('decrypts a root token with the key in the agent, and the keyset confirms it', async () => {
    const encoded = await rootTokenFor(gpg.exportPublic('alice@example.org'))
    const r = await decodeGpg(encoded, ['--keyset', keyset, '--format', 'json'])
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out).toMatchObject({ kind: 'root token', verified: true })
    expect(out.value).toMatch(TOKEN)
    // The token gpg decrypted is the one the engine minted: the server knows it.
    const api = await startApi(keyset)
    try {
      expect((await api.call('GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': out.value })).status).toBe(200)
    } finally {
      await api.close()
    }
  })

  it('decrypts each holder\'s share of an init with --pgp-keys, checked against the keyset', async () => {
    const keyFiles = []
    for (const holder of ['alice', 'bob']) {
      keyFiles.push(join(tmp.dir, `${holder}.asc`))
      await writeFile(keyFiles.at(-1)!, gpg.exportPublic(`${holder}@example.org`, true))
    }
    const pgpKeyset = join(tmp.dir, 'pgp-keyset.json')
    const init = await runCli(['init', '--keyset', pgpKeyset, '--shares', '2', '--threshold', '2', '--pgp-keys', keyFiles.join(','), '--format', 'json'])
    expect(init.code, init.stderr).toBe(0)
    const { keys, keys_base64 } = JSON.parse(init.stdout)
    for (const [i, encrypted] of (keys_base64 as string[]).entries()) {
      const r = await decodeGpg(encrypted, ['--keyset', pgpKeyset])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/^[0-9a-f]{66}\n$/)
      // The hex that init printed is the encrypted message's; gpg gave back the share itself, and the keyset knows it.
      expect(r.stdout).not.toBe(`${keys[i]}\n`)
      expect(r.stderr).toBe('')
    }
  })

  it('uses a passphrase held only by the agent, never asking for it', async () => {
    const encoded = await rootTokenFor(gpg.exportPublic('carol@example.org'))
    // A pinentry that cancels: only the agent's cached passphrase can open the key.
    gpg.pinentry('cancel')
    gpg.presetPassphrase('carol@example.org', 'carol secret')
    const r = await decodeGpg(encoded)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^hvs\.[0-9A-Za-z]{24}\n$/)
  })

  it('says the PIN entry was cancelled, and that the passphrase was wrong', async () => {
    const encoded = await rootTokenFor(gpg.exportPublic('carol@example.org'))
    const { keyId } = gpg.encryptionKey('carol@example.org')
    gpg.pinentry('cancel')
    const cancelled = await decodeGpg(encoded)
    expect(cancelled.code).toBe(1)
    expect(cancelled.stderr).toBe(
      `tessera decode: the PIN or passphrase entry for key id ${keyId} was cancelled: nothing was decrypted; decode again to enter it\n`,
    )
    expect(cancelled.stdout).toBe('')

    gpg.pinentry({ passphrase: 'not carol secret' })
    const wrong = await decodeGpg(encoded)
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain(`the passphrase or PIN for key id ${keyId} was wrong: nothing was decrypted`)

    // The same pinentry with the right passphrase opens it: the failures above were the passphrase's.
    gpg.pinentry({ passphrase: 'carol secret' })
    const right = await decodeGpg(encoded)
    expect(right.code, right.stderr).toBe(0)
    expect(right.stdout).toMatch(/^hvs\.[0-9A-Za-z]{24}\n$/)
  })

  it('names the key a message is for when gpg holds no secret key for it', async () => {
    const other = new Gpg()
    try {
      other.generate('Mallory <mallory@example.org>')
      const encoded = await rootTokenFor(other.exportPublic('mallory@example.org'))
      const r = await decodeGpg(encoded)
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`no secret key for this message is in gpg: it is encrypted to key id ${other.encryptionKey('mallory@example.org').keyId}`)
      expect(r.stdout).toBe('')
    } finally {
      other.close()
    }
  })

  it('says the key is on a smartcard gpg cannot use', async () => {
    const encoded = await rootTokenFor(gpg.exportPublic('dana@example.org'))
    const { keyId } = gpg.encryptionKey('dana@example.org')
    gpg.moveToCard('dana@example.org')
    const r = await decodeGpg(encoded)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`secret key for key id ${keyId} is on a smartcard`))
    expect(r.stdout).toBe('')
  })

  it('says when gpg is not installed', async () => {
    const empty = join(tmp.dir, 'empty-path')
    await mkdir(empty)
    const r = await decodeGpg(await rootTokenFor(gpg.exportPublic('alice@example.org')), [], { ...gpg.env(), PATH: empty })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^tessera decode: GnuPG is not installed here \(no gpg on the PATH\)/)
  })

  it('refuses what is not a whole message, even where gpg itself exits 0', async () => {
    const encoded = await rootTokenFor(gpg.exportPublic('alice@example.org'))
    // Cut short: gpg reports a broken packet and exits 0, with no plaintext and no DECRYPTION_OKAY.
    const cut = Buffer.from(encoded, 'base64').subarray(0, 60).toString('base64')
    for (const bad of [cut, Buffer.from('not a message at all').toString('base64')]) {
      const r = await decodeGpg(bad)
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('is not an OpenPGP message encrypted to a key')
      expect(r.stdout).toBe('')
    }
  })

  it('refuses a message that decompresses beyond 64 KiB, within seconds', async () => {
    const bomb = gpg.run(['--trust-model', 'always', '-z', '9', '-e', '-r', 'alice@example.org'], Buffer.alloc(20 * 1024 * 1024))
    expect(bomb.length).toBeLessThan(64 * 1024)
    const started = Date.now()
    const r = await decodeGpg(bomb.toString('base64'))
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('tessera decode: the message decrypts to more than 64 KiB: a Vault result is a token or a share, so this is not one\n')
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('is one method among --otp, --otp-file and --pgp-key', async () => {
    const r = await runCli(['decode', '--encoded', 'x', '--gpg', '--otp', 'y'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('give exactly one of --otp, --otp-file, --pgp-key or --gpg')
  })
})

describe('a PIN entry nobody answers', () => {
  it('ends at the time limit with a sentence, and gpg is killed', async () => {
    const own = new Gpg()
    try {
      own.generate('Erin <erin@example.org>', { passphrase: 'erin secret' })
      const message = own.encryptTo('erin@example.org', 'hvs.AbcdefghijklmnopqrstuvWX')
      own.pinentry('hang')
      const started = Date.now()
      const err = await decryptWithGpg(message, { timeoutMs: 1500, env: own.env() }).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'gpg_timeout', status: 504 })
      expect((err as Error).message).toMatch(/^decrypting with gpg took longer than 2 s \(a PIN entry left open/)
      expect(ERRORS.gpg_timeout.sentence).toMatch(/took too long/)
      expect(Date.now() - started).toBeLessThan(5000)
      // No gpg of ours is left running.
      const children = execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)]).toString()
      expect(children).not.toMatch(/gpg --batch --no-tty/)
    } finally {
      // The agent of gpg 2.2 leaves its pinentry open when gpg goes: this one is ended here.
      const pid = own.hangingPinentry()
      try {
        if (pid) process.kill(pid)
      } catch {
        // it ended on its own
      }
      own.close()
    }
  })
})
