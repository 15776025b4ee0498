import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { xorBytes } from '../src-main/crypto/otp'
import { runCli, startServe } from './helpers/cli'
import { tempDir } from './helpers/keysets'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

const at = (name: string) => join(tmp.dir, name)

describe('tessera init', () => {
  it('prints sys/init fields once, as JSON or as Vault\'s CLI does', async () => {
    const json = await runCli(['init', '--keyset', at('a.json'), '--shares', '5', '--threshold', '3', '--format', 'json'])
    expect(json.code, json.stderr).toBe(0)
    const out = JSON.parse(json.stdout)
    expect(Object.keys(out)).toEqual(['keys', 'keys_base64', 'root_token'])
    expect(out.keys).toHaveLength(5)
    for (const [i, k] of out.keys.entries()) {
      expect(k).toMatch(/^[0-9a-f]{66}$/)
      expect(Buffer.from(out.keys_base64[i], 'base64').toString('hex')).toBe(k)
    }
    expect(out.root_token).toMatch(/^hvs\.[0-9A-Za-z]{24}$/)
    expect((await stat(at('a.json'))).mode & 0o777).toBe(0o600)

    const text = await runCli(['init', '--keyset', at('b.json'), '--shares', '3', '--threshold', '2'])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^Unseal Key 1: [A-Za-z0-9+/]{44}\nUnseal Key 2: .*\nUnseal Key 3: .*\n\nInitial Root Token: hvs\.\w{24}\n/)
  })

  it('splits with secrets.js on request', async () => {
    const r = await runCli(['init', '--keyset', at('s.json'), '--shares', '3', '--threshold', '2', '--scheme', 'secretsjs', '--format', 'json'])
    expect(r.code, r.stderr).toBe(0)
    for (const k of JSON.parse(r.stdout).keys) expect(k).toMatch(/^8[0-9a-f]{2}[0-9a-f]+$/)
  })

  it('never overwrites a keyset', async () => {
    const before = await readFile(at('a.json'), 'utf8')
    const r = await runCli(['init', '--keyset', at('a.json'), '--shares', '1', '--threshold', '1'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/already exists; Tessera never overwrites a keyset/)
    expect(r.stdout).toBe('')
    expect(await readFile(at('a.json'), 'utf8')).toBe(before)
  })

  it.each([
    [['--shares', '3', '--threshold', '2'], /--keyset is required/],
    [['--keyset', 'x.json', '--shares', 'three', '--threshold', '2'], /--shares must be a whole number/],
    [['--keyset', 'x.json', '--shares', '3', '--threshold', '4'], /threshold cannot be larger/],
    [['--keyset', 'x.json', '--shares', '3', '--threshold', '1'], /threshold must be greater than one for multiple shares/],
    [['--keyset', 'x.json', '--shares', '256', '--threshold', '2'], /shares must be a whole number from 1 to 255/],
    [['--keyset', 'x.json', '--shares', '3', '--threshold', '2', '--colour'], /Unknown option '--colour'/],
    [['--keyset', 'x.json', '--shares', '3', '--threshold', '2', '--format', 'xml'], /--format must be text or json/],
    [['--keyset', 'x.json', '--shares', '3', '--threshold', '2', '--scheme', 'sss'], /--scheme must be vault or secretsjs/],
    [['--keyset', 'x.json', '--shares', '3', '--threshold', '2', '--pgp-keys', 'a.asc'], /names 1 keys for 3 shares/],
  ])('usage error %j exits 2', async (args, message) => {
    const r = await runCli(['init', ...args])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).toContain('Usage: tessera init')
  })
})

describe('tessera serve', () => {
  it('prints where it listens and answers', async () => {
    await runCli(['init', '--keyset', at('serve.json'), '--shares', '1', '--threshold', '1'])
    const s = await startServe(['--keyset', at('serve.json')])
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const res = await fetch(`${s.url}/v1/sys/health`)
      expect(res.status).toBe(200)
    } finally {
      await s.stop()
    }
  })

  it('explains a missing or corrupt keyset without a stack trace', async () => {
    await writeFile(at('corrupt.json'), '{"tessera_keyset": 1')
    for (const [file, message] of [[at('corrupt.json'), /is corrupt: not valid JSON/], [at('none.json'), /no keyset at .*tessera init/]] as const) {
      const r = await runCli(['serve', '--keyset', file, '--port', '0'])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(message)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it('refuses half a TLS configuration', async () => {
    const r = await runCli(['serve', '--keyset', at('serve.json'), '--tls-cert', 'c.pem'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--tls-cert and --tls-key go together/)
  })
})

describe('tessera decode', () => {
  const vector = { encoded: 'Bxg9JQQqOCNKBRICNwMIRzo2J3cWCBRi', otp: '3JhHkONiyiaNYj14nnD9xZQS', token: '4RUmoevJ3lsLni9sTXcNnRE1' }

  it("decodes Vault's test vector with --otp, --otp-file and standard input", async () => {
    const otpFile = at('otp.txt')
    await writeFile(otpFile, `${vector.otp}\n`)
    const runs = [
      await runCli(['decode', '--encoded', vector.encoded, '--otp', vector.otp]),
      await runCli(['decode', '--encoded', vector.encoded, '--otp-file', otpFile]),
      await runCli(['decode', '--encoded', '-', '--otp-file', otpFile], { stdin: vector.encoded }),
      await runCli(['decode', '--encoded', vector.encoded, '--otp-file', '-'], { stdin: vector.otp }),
    ]
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toBe(`${vector.token}\n`)
    }
    const json = await runCli(['decode', '--encoded', vector.encoded, '--otp', vector.otp, '--format', 'json'])
    expect(JSON.parse(json.stdout)).toEqual({ value: vector.token, kind: 'token' })
  })

  it('decodes a legacy result into a UUID token', async () => {
    const raw = randomBytes(16)
    const otp = randomBytes(16)
    const r = await runCli(['decode', '--encoded', xorBytes(raw, otp).toString('base64'), '--otp', otp.toString('base64')])
    const hex = raw.toString('hex')
    expect(r.stdout).toBe(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}\n`)
  })

  it('fails with exit 1 and no value for a wrong OTP', async () => {
    const r = await runCli(['decode', '--encoded', vector.encoded, '--otp', 'X'.repeat(24)])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/this OTP belongs to another attempt/)
  })

  it.each([
    [['--otp', 'x'], /--encoded is required/],
    [['--encoded', 'x'], /give exactly one of --otp, --otp-file or --pgp-key/],
    [['--encoded', 'x', '--otp', 'y', '--pgp-key', 'k.asc'], /give exactly one of/],
    [['--encoded', '-', '--otp', '-'], /already reads standard input/],
    [['--encoded', 'x', '--otp', 'y', '--passphrase-file', 'p'], /--passphrase-file goes with --pgp-key/],
  ])('usage error %j exits 2', async (args, message) => {
    const r = await runCli(['decode', ...args])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
  })
})

describe('tessera generate-otp and the rest', () => {
  it('prints base62 OTPs of the asked length', async () => {
    expect((await runCli(['generate-otp'])).stdout).toMatch(/^[0-9A-Za-z]{28}\n$/)
    expect((await runCli(['generate-otp', '--length', '26'])).stdout).toMatch(/^[0-9A-Za-z]{26}\n$/)
    for (const bad of ['0', 'abc', '99999']) {
      const r = await runCli(['generate-otp', '--length', bad])
      expect(r.code, bad).toBe(2)
    }
  })

  it('has help for every command, and exit 2 for an unknown one', async () => {
    for (const command of ['init', 'serve', 'decode', 'generate-otp', 'web']) {
      const r = await runCli([command, '--help'])
      expect(r.code).toBe(0)
      expect(r.stdout).toContain(`Usage: tessera ${command}`)
    }
    const unknown = await runCli(['rekey'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown command "rekey"/)
    expect((await runCli([])).code).toBe(2)
  })
})
