import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as openpgp from 'openpgp'
import { xorBytes } from '../src-main/crypto/otp'
import { decodeWithOtp, decodeWithPgp } from '../src-main/decode/decode'
import { readPrivateKey } from '../src-main/crypto/pgp'
import { VERSION } from '../src-main/version'
import { withIntegrity } from '../src-main/engine/keyset-format'
import { runCli, startServe, TESSERA } from './helpers/cli'
import { SCHEMES, tempDir } from './helpers/keysets'
import { startApi } from './helpers/server'

/**
 * The `tessera` command as an operator runs it: exit 0 on success, 1 on an
 * operational failure, 2 on a usage error, messages that name the problem and
 * never a stack trace. Run `npm run build` first: these tests spawn bin/tessera.js.
 */

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir('tessera-cli-')
})
afterAll(() => tmp.cleanup())

let counter = 0
/** A fresh, empty directory per test, so that "nothing else was written" can be checked. */
async function freshDir(): Promise<string> {
  const dir = join(tmp.dir, `d${++counter}`)
  await mkdir(dir)
  return dir
}

const STACK = /\n\s+at /
const VAULT_VECTOR = { encoded: 'Bxg9JQQqOCNKBRICNwMIRzo2J3cWCBRi', otp: '3JhHkONiyiaNYj14nnD9xZQS', token: '4RUmoevJ3lsLni9sTXcNnRE1' }

function uuidOf(bytes: Buffer): string {
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Runs a full root generation on the in-process API with these shares: proof that printed shares are real. */
async function rootTokenFrom(keysetPath: string, shares: string[]): Promise<string> {
  const api = await startApi(keysetPath)
  try {
    const start = await api.call('PUT', 'sys/generate-root/attempt', {})
    expect(start.status, start.text).toBe(200)
    let last = start
    for (const key of shares) {
      last = await api.call('PUT', 'sys/generate-root/update', { key, nonce: start.json.nonce })
      expect(last.status, last.text).toBe(200)
    }
    expect(last.json.complete).toBe(true)
    const token = decodeWithOtp(last.json.encoded_token, Buffer.from(start.json.otp)).value.toString()
    const lookup = await api.call('GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': token })
    expect(lookup.status).toBe(200)
    return token
  } finally {
    await api.close()
  }
}

async function lookupWorks(keysetPath: string, token: string): Promise<boolean> {
  const api = await startApi(keysetPath)
  try {
    return (await api.call('GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': token })).status === 200
  } finally {
    await api.close()
  }
}

/** A spawned `tessera serve` whose exit code and both streams stay observable. */
function spawnServe(args: string[]) {
  const child = spawn(process.execPath, [TESSERA, 'serve', ...args])
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const listening = new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = /listening on (https?:\/\/\S+)\n/.exec(stdout)
      if (m) resolve(m[1]!)
    }
    child.stdout.on('data', check)
    void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)))
  })
  return { child, listening, exited, stdout: () => stdout, stderr: () => stderr }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('tessera init', () => {
  it('prints the shares as Vault\'s CLI does (vault scheme, text) and they work', async () => {
    const dir = await freshDir()
    const keyset = join(dir, 'keyset.json')
    const r = await runCli(['init', '--keyset', keyset, '--shares', '5', '--threshold', '3'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    const lines = r.stdout.split('\n')
    const shares = lines.slice(0, 5).map((line, i) => {
      const m = new RegExp(`^Unseal Key ${i + 1}: ([A-Za-z0-9+/]{44})$`).exec(line)
      expect(m, line).not.toBeNull()
      return m![1]!
    })
    expect(new Set(shares).size).toBe(5)
    for (const s of shares) expect(Buffer.from(s, 'base64')).toHaveLength(33)
    expect(lines[5]).toBe('')
    const root = /^Initial Root Token: (hvs\.[0-9A-Za-z]{24})$/.exec(lines[6]!)
    expect(root, lines[6]).not.toBeNull()
    expect(r.stdout).toContain(`Keyset ${keyset} created: 5 key shares, threshold 3, scheme vault.`)
    expect(r.stdout).toMatch(/Tessera does not store them and cannot show them again/)

    expect((await stat(keyset)).mode & 0o777).toBe(0o600)
    expect(await readdir(dir)).toEqual(['keyset.json'])
    // The printed values are the real ones: three shares make a root token, the initial one is valid.
    expect(await rootTokenFrom(keyset, [shares[4]!, shares[0]!, shares[2]!])).toMatch(/^hvs\./)
    expect(await lookupWorks(keyset, root![1]!)).toBe(true)
  })

  it('prints secrets.js share strings in text output, and they work', async () => {
    const dir = await freshDir()
    const keyset = join(dir, 'keyset.json')
    const r = await runCli(['init', '--keyset', keyset, '--shares', '4', '--threshold', '2', '--scheme', 'secretsjs', '--format', 'text'])
    expect(r.code, r.stderr).toBe(0)
    const shares = [...r.stdout.matchAll(/^Unseal Key (\d): (\S+)$/gm)].map((m) => m[2]!)
    expect(shares).toHaveLength(4)
    for (const s of shares) expect(s).toMatch(/^8[0-9a-f]{2}[0-9a-f]+$/)
    expect(r.stdout).toContain('scheme secretsjs.')
    expect((await stat(keyset)).mode & 0o777).toBe(0o600)
    expect(await rootTokenFrom(keyset, [shares[3]!, shares[1]!])).toMatch(/^hvs\./)
  })

  it.each(SCHEMES)('prints sys/init JSON once (%s scheme), and the shares work in both spellings', async (scheme) => {
    const dir = await freshDir()
    const keyset = join(dir, 'keyset.json')
    const r = await runCli(['init', '--keyset', keyset, '--shares', '3', '--threshold', '2', '--scheme', scheme, '--format', 'json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    const out = JSON.parse(r.stdout)
    expect(Object.keys(out)).toEqual(['keys', 'keys_base64', 'root_token'])
    expect(out.keys).toHaveLength(3)
    expect(out.keys_base64).toHaveLength(3)
    for (const [i, key] of (out.keys as string[]).entries()) {
      if (scheme === 'vault') {
        expect(key).toMatch(/^[0-9a-f]{66}$/)
        expect(Buffer.from(out.keys_base64[i], 'base64').toString('hex')).toBe(key)
      } else {
        expect(key).toMatch(/^8[0-9a-f]{2}[0-9a-f]+$/)
        expect(Buffer.from(out.keys_base64[i], 'base64').toString('ascii')).toBe(key)
      }
    }
    expect(out.root_token).toMatch(/^hvs\.[0-9A-Za-z]{24}$/)
    expect((await stat(keyset)).mode & 0o777).toBe(0o600)
    expect(await readdir(dir)).toEqual(['keyset.json'])
    expect(await rootTokenFrom(keyset, [out.keys_base64[0], out.keys[2]])).toMatch(/^hvs\./)
    expect(await lookupWorks(keyset, out.root_token)).toBe(true)
  })

  it('accepts Vault\'s extremes: a single key, and 255 shares', async () => {
    const dir = await freshDir()
    const single = await runCli(['init', '--keyset', join(dir, 'one.json'), '--shares', '1', '--threshold', '1', '--format', 'json'])
    expect(single.code, single.stderr).toBe(0)
    const one = JSON.parse(single.stdout)
    expect(one.keys).toHaveLength(1)
    expect(one.keys[0]).toMatch(/^[0-9a-f]{64}$/)
    expect(await rootTokenFrom(join(dir, 'one.json'), [one.keys[0]])).toMatch(/^hvs\./)

    const many = await runCli(['init', '--keyset', join(dir, 'many.json'), '--shares', '255', '--threshold', '3', '--format', 'json'])
    expect(many.code, many.stderr).toBe(0)
    const keys: string[] = JSON.parse(many.stdout).keys
    expect(new Set(keys).size).toBe(255)
    expect(await rootTokenFrom(join(dir, 'many.json'), [keys[0]!, keys[127]!, keys[254]!])).toMatch(/^hvs\./)
    // 255 shares: 255 check values derived, each a deliberately slow scrypt.
  }, 300_000)

  it('encrypts each share to its holder\'s PGP key with --pgp-keys', async () => {
    const dir = await freshDir()
    const holders = await Promise.all(
      ['one', 'two'].map(async (name) => {
        const k = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name, email: `${name}@example.org` }], format: 'armored' })
        const file = join(tmp.dir, `${name}-${counter}.asc`)
        await writeFile(file, k.publicKey)
        return { file, priv: await readPrivateKey(k.privateKey) }
      }),
    )
    const keyset = join(dir, 'keyset.json')
    const r = await runCli(['init', '--keyset', keyset, '--shares', '2', '--threshold', '2', '--pgp-keys', holders.map((h) => h.file).join(','), '--format', 'json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(new RegExp(`^Share 1 will be encrypted to ${holders[0]!.priv.fingerprint} \\(one <one@example.org>; armored key\\)$`, 'm'))
    expect(r.stderr).toMatch(new RegExp(`^Share 2 will be encrypted to ${holders[1]!.priv.fingerprint} `, 'm'))
    const out = JSON.parse(r.stdout)
    const shares = await Promise.all(holders.map(async (h, i) => (await decodeWithPgp(out.keys_base64[i], h.priv)).value.toString()))
    for (const s of shares) expect(s).toMatch(/^[0-9a-f]{66}$/)
    // The other holder's key cannot open a share.
    await expect(decodeWithPgp(out.keys_base64[0], holders[1]!.priv)).rejects.toThrow(/encrypted to key id/)
    expect(await rootTokenFrom(keyset, shares)).toMatch(/^hvs\./)
  })

  it('refuses a private key in --pgp-keys (exit 1) and writes nothing', async () => {
    const dir = await freshDir()
    const k = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'p' }], format: 'armored' })
    const file = join(tmp.dir, `private-${counter}.asc`)
    await writeFile(file, k.privateKey)
    const r = await runCli(['init', '--keyset', join(dir, 'k.json'), '--shares', '1', '--threshold', '1', '--pgp-keys', file])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/this is a private key; give the public key/)
    expect(r.stdout).toBe('')
    expect(await readdir(dir)).toEqual([])
  })

  it('never overwrites a keyset: exit 1, nothing printed, file untouched, no leftovers', async () => {
    const dir = await freshDir()
    const keyset = join(dir, 'keyset.json')
    expect((await runCli(['init', '--keyset', keyset, '--shares', '3', '--threshold', '2'])).code).toBe(0)
    const before = await readFile(keyset)
    const statBefore = await stat(keyset)
    for (const scheme of SCHEMES) {
      for (const format of ['text', 'json']) {
        const r = await runCli(['init', '--keyset', keyset, '--shares', '5', '--threshold', '3', '--scheme', scheme, '--format', format])
        expect(r.code).toBe(1)
        expect(r.stdout).toBe('')
        expect(r.stderr).toBe(`tessera init: ${keyset} already exists; Tessera never overwrites a keyset\n`)
      }
    }
    expect((await readFile(keyset)).equals(before)).toBe(true)
    const statAfter = await stat(keyset)
    expect(statAfter.mtimeMs).toBe(statBefore.mtimeMs)
    expect(statAfter.ino).toBe(statBefore.ino)
    expect(statAfter.mode & 0o777).toBe(0o600)
    expect(await readdir(dir)).toEqual(['keyset.json'])
  })

  it('never writes through a dangling symlink either, and prints no share', async () => {
    const dir = await freshDir()
    const target = join(dir, 'elsewhere.json')
    const link = join(dir, 'keyset.json')
    await symlink(target, link)
    const r = await runCli(['init', '--keyset', link, '--shares', '3', '--threshold', '2', '--format', 'json'])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/already exists; Tessera never overwrites a keyset/)
    expect((await readdir(dir)).sort()).toEqual(['keyset.json'])
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('reports a keyset directory that does not exist as an operational failure', async () => {
    const dir = await freshDir()
    const r = await runCli(['init', '--keyset', join(dir, 'missing', 'keyset.json'), '--shares', '3', '--threshold', '2'])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^tessera init: could not write the keyset .*: no such file or directory/)
    expect(r.stderr).not.toMatch(STACK)
  })

  const k = (rest: string[]) => ['--keyset', 'KEYSET', ...rest]
  it.concurrent.for([
    ['missing --keyset', ['--shares', '3', '--threshold', '2'], /--keyset is required/],
    ['empty --keyset', ['--keyset=', '--shares', '3', '--threshold', '2'], /--keyset is required/],
    ['missing --shares', k(['--threshold', '2']), /--shares is required/],
    ['missing --threshold', k(['--shares', '3']), /--threshold is required/],
    ['non-numeric --shares', k(['--shares', 'three', '--threshold', '2']), /--shares must be a whole number, got "three"/],
    ['fractional --shares', k(['--shares', '3.5', '--threshold', '2']), /--shares must be a whole number, got "3.5"/],
    ['negative --shares', k(['--shares=-3', '--threshold', '2']), /--shares must be a whole number, got "-3"/],
    ['non-numeric --threshold', k(['--shares', '3', '--threshold', 'two']), /--threshold must be a whole number, got "two"/],
    ['T > N', k(['--shares', '3', '--threshold', '4']), /threshold cannot be larger than the number of shares/],
    ['T = 1 with N > 1', k(['--shares', '3', '--threshold', '1']), /threshold must be greater than one for multiple shares/],
    ['T = 0', k(['--shares', '3', '--threshold', '0']), /threshold must be a whole number of at least 1/],
    ['N = 0', k(['--shares', '0', '--threshold', '1']), /shares must be a whole number from 1 to 255/],
    ['N = 256', k(['--shares', '256', '--threshold', '2']), /shares must be a whole number from 1 to 255/],
    ['unknown flag', k(['--shares', '3', '--threshold', '2', '--colour']), /Unknown option '--colour'/],
    ['positional argument', k(['--shares', '3', '--threshold', '2', 'extra']), /Unexpected argument 'extra'/],
    ['--format xml', k(['--shares', '3', '--threshold', '2', '--format', 'xml']), /--format must be text or json, got "xml"/],
    ['unknown --scheme', k(['--shares', '3', '--threshold', '2', '--scheme', 'sss']), /--scheme must be vault or secretsjs, got "sss"/],
    ['too few --pgp-keys', k(['--shares', '3', '--threshold', '2', '--pgp-keys', 'a.asc,b.asc']), /--pgp-keys names 2 keys for 3 shares: give one key per share/],
    ['too many --pgp-keys', k(['--shares', '2', '--threshold', '2', '--pgp-keys', 'a.asc,b.asc,c.asc']), /--pgp-keys names 3 keys for 2 shares/],
    ['--pgp-keys reading stdin twice', k(['--shares', '2', '--threshold', '2', '--pgp-keys=-,-']), /--pgp-keys already reads standard input; --pgp-keys cannot too/],
  ] as const)('usage error: %s → exit 2, nothing written', async ([_name, args, message], { expect }) => {
    const dir = await freshDir()
    const keyset = join(dir, 'keyset.json')
    // The stdin case needs a readable key on stdin for the first "-".
    const stdin = (args as readonly string[]).includes('--pgp-keys=-,-')
      ? (await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 's' }], format: 'armored' })).publicKey
      : ''
    const r = await runCli(['init', ...args.map((a) => (a === 'KEYSET' ? keyset : a))], { stdin })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).toMatch(/^tessera init: /)
    expect(r.stderr).toContain('Usage: tessera init --keyset FILE --shares N --threshold T')
    expect(r.stderr).not.toMatch(STACK)
    expect(r.stdout).toBe('')
    expect(await readdir(dir)).toEqual([])
  })

  // An operator who asked for encrypted shares must never get them in plain text.
  it('refuses a --pgp-keys list that names no key at all', async () => {
    const dir = await freshDir()
    const r = await runCli(['init', '--keyset', join(dir, 'keyset.json'), '--shares', '3', '--threshold', '2', '--pgp-keys', ','])
    expect(r.stdout).not.toMatch(/Unseal Key/)
    expect(r.code).toBe(2)
  })

  it('names an unknown command (exit 2) and shows the overview', async () => {
    const r = await runCli(['frobnicate', '--keyset', 'x.json'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^tessera: unknown command "frobnicate"/)
    expect(r.stderr).toContain('Usage: tessera <command> [flags]')
    expect(r.stdout).toBe('')
    const none = await runCli([])
    expect(none.code).toBe(2)
    expect(none.stdout + none.stderr).toContain('Usage: tessera <command> [flags]')
  })
})

describe('tessera serve', () => {
  let keyset: string
  let sharesJson: { keys: string[]; root_token: string }
  beforeAll(async () => {
    keyset = join(await freshDir(), 'keyset.json')
    const r = await runCli(['init', '--keyset', keyset, '--shares', '3', '--threshold', '2', '--format', 'json'])
    expect(r.code, r.stderr).toBe(0)
    sharesJson = JSON.parse(r.stdout)
  })

  it('prints the listening line, answers sys/health and seal-status, logs requests without bodies', async () => {
    const s = await startServe(['--keyset', keyset])
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(s.output()).toMatch(new RegExp(`^listening on ${s.url.replace(/\./g, '\\.')}\\n`))
      const health = await fetch(`${s.url}/v1/sys/health`)
      expect(health.status).toBe(200)
      expect(health.headers.get('content-type')).toBe('application/json')
      expect(await health.json()).toMatchObject({ initialized: true, sealed: false, standby: false, version: VERSION })
      const seal = await (await fetch(`${s.url}/v1/sys/seal-status`)).json()
      expect(seal).toMatchObject({ type: 'shamir', initialized: true, sealed: false, t: 2, n: 3, progress: 0 })
      // A token in a header is not logged, only method, path and status.
      const lookup = await fetch(`${s.url}/v1/auth/token/lookup-self`, { headers: { 'X-Vault-Token': sharesJson.root_token } })
      expect(lookup.status).toBe(200)
      // The log line follows the response over another pipe: wait for it.
      for (let i = 0; i < 80 && !s.output().includes('lookup-self'); i++) await new Promise((r) => setTimeout(r, 25))
      expect(s.output()).toContain('GET /v1/sys/health 200\n')
      expect(s.output()).toContain('GET /v1/auth/token/lookup-self 200\n')
      expect(s.output()).not.toContain(sharesJson.root_token)
    } finally {
      await s.stop()
    }
  })

  it('binds the --host and --port asked for, and stops cleanly (exit 0) on SIGTERM with a client connected', async () => {
    const port = await freePort()
    const s = spawnServe(['--keyset', keyset, '--host', '127.0.0.1', '--port', String(port)])
    const url = await s.listening
    expect(url).toBe(`http://127.0.0.1:${port}`)
    // A keep-alive connection must not hold the process up. (The request also gives the process
    // time to install its SIGTERM handler: see the report on the startup race.)
    expect((await fetch(`${url}/v1/sys/health`)).status).toBe(200)
    s.child.kill('SIGTERM')
    expect(await s.exited).toBe(0)
    expect(s.stderr()).not.toMatch(STACK)
  })

  it('warns when it serves plain HTTP on an address that is not loopback', async () => {
    const s = spawnServe(['--keyset', keyset, '--host', '0.0.0.0', '--port', '0'])
    const url = await s.listening
    expect(url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/)
    // stderr is a separate pipe: give it a moment to deliver.
    for (let i = 0; i < 40 && !s.stderr().includes('\n'); i++) await new Promise((r) => setTimeout(r, 25))
    expect(s.stderr()).toMatch(/^warning: serving plain HTTP on 0\.0\.0\.0, which is not a loopback address; shares would cross the network unencrypted$/m)
    // Bound to every address, loopback included. (The request also gives the process time to
    // install its SIGTERM handler, which it does only after printing the listening line.)
    expect((await fetch(`http://127.0.0.1:${new URL(url).port}/v1/sys/health`)).status).toBe(200)
    s.child.kill('SIGTERM')
    expect(await s.exited).toBe(0)
  })

  it('in --recovery mode, reports sealed (503) and offers only the recovery flow', async () => {
    const s = await startServe(['--keyset', keyset, '--recovery'])
    try {
      const health = await fetch(`${s.url}/v1/sys/health`)
      expect(health.status).toBe(503)
      expect(await health.json()).toMatchObject({ initialized: true, sealed: true })
      expect((await fetch(`${s.url}/v1/sys/generate-root/attempt`)).status).toBe(404)
      expect((await fetch(`${s.url}/v1/sys/generate-recovery-token/attempt`)).status).toBe(200)
    } finally {
      await s.stop()
    }
  })

  it('reports a port in use as an operational failure (exit 1)', async () => {
    const s = await startServe(['--keyset', keyset])
    try {
      const port = new URL(s.url).port
      const r = await runCli(['serve', '--keyset', keyset, '--port', port])
      expect(r.code).toBe(1)
      expect(r.stdout).toBe('')
      expect(r.stderr).toBe(`tessera serve: cannot listen on 127.0.0.1:${port}: EADDRINUSE\n`)
    } finally {
      await s.stop()
    }
  })

  it.concurrent.for([
    ['missing --keyset', ['--port', '0'], /--keyset is required/],
    ['non-numeric --port', ['--keyset', 'K', '--port', 'http'], /--port must be a whole number, got "http"/],
    ['--port out of range', ['--keyset', 'K', '--port', '65536'], /--port must be from 0 to 65535/],
    ['unknown flag', ['--keyset', 'K', '--port', '0', '--verbose'], /Unknown option '--verbose'/],
    ['half a TLS configuration', ['--keyset', 'K', '--port', '0', '--tls-key', 'k.pem'], /--tls-cert and --tls-key go together/],
  ] as const)('usage error: %s → exit 2', async ([_name, args, message], { expect }) => {
    const r = await runCli(['serve', ...args.map((a) => (a === 'K' ? keyset : a))])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).toContain('Usage: tessera serve --keyset FILE')
    expect(r.stdout).toBe('')
  })

  describe('explains an unusable keyset (exit 1) without a stack trace', () => {
    const cases: Array<[string, (dir: string) => Promise<string>, RegExp]> = [
      ['truncated JSON', async (d) => write(d, '{"tessera_keyset": 1'), /is corrupt: not valid JSON/],
      ['an empty file', async (d) => write(d, ''), /is corrupt: not valid JSON/],
      ['binary garbage', async (d) => write(d, randomBytes(64)), /is corrupt: not valid JSON/],
      ['JSON that is not a keyset', async (d) => write(d, '{"keys": []}'), /is not a valid Tessera keyset: tessera_keyset: /],
      ['JSON null', async (d) => write(d, 'null'), /is not a valid Tessera keyset: /],
      ['a keyset of a future format', async (d) => write(d, '{"tessera_keyset": 5}'), /uses keyset format 5; this Tessera reads formats 1 to 4: upgrade Tessera/],
      [
        'a keyset whose threshold exceeds its shares',
        async (d) => {
          const data = JSON.parse(await readFile(keyset, 'utf8'))
          return write(d, JSON.stringify(withIntegrity({ ...data, secret_threshold: 4 })))
        },
        /is not a valid Tessera keyset: secret_threshold exceeds secret_shares/,
      ],
      [
        'a keyset with a field of the wrong type',
        async (d) => {
          const data = JSON.parse(await readFile(keyset, 'utf8'))
          return write(d, JSON.stringify(withIntegrity({ ...data, tokens: 'none' })))
        },
        /is not a valid Tessera keyset: tokens: /,
      ],
      ['a missing file', async (d) => join(d, 'absent.json'), /no keyset at .*absent\.json; create one with tessera init/],
      ['a directory', async (d) => d, /could not read keyset .*: is a directory/],
    ]
    async function write(dir: string, content: string | Buffer): Promise<string> {
      const path = join(dir, 'keyset.json')
      await writeFile(path, content)
      return path
    }
    it.concurrent.for(cases)('%s', async ([_name, make, message], { expect }) => {
      const path = await make(await freshDir())
      const r = await runCli(['serve', '--keyset', path, '--port', '0'])
      expect(r.code).toBe(1)
      expect(r.stdout).toBe('')
      expect(r.stderr).toMatch(/^tessera serve: /)
      expect(r.stderr).toMatch(message)
      expect(r.stderr).not.toMatch(STACK)
      expect(r.stderr).not.toMatch(/unexpected error/)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    })
  })
})

describe('tessera decode', () => {
  let dir: string
  let pgpKeys: { plain: string; locked: string; pub: string; passphrase: string; priv: Awaited<ReturnType<typeof readPrivateKey>> }
  beforeAll(async () => {
    dir = await freshDir()
    const passphrase = 'correct horse battery staple'
    const plain = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Decoder' }], format: 'armored' })
    const locked = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Locked' }], passphrase, format: 'armored' })
    await writeFile(join(dir, 'plain.asc'), plain.privateKey)
    await writeFile(join(dir, 'locked.asc'), locked.privateKey)
    await writeFile(join(dir, 'pub.asc'), plain.publicKey)
    await writeFile(join(dir, 'pass.txt'), `${passphrase}\n`)
    pgpKeys = {
      plain: join(dir, 'plain.asc'),
      locked: join(dir, 'locked.asc'),
      pub: join(dir, 'pub.asc'),
      passphrase,
      priv: await readPrivateKey(plain.privateKey),
    }
  })

  async function encryptTo(armoredPrivate: string, text: string, passphrase?: string): Promise<string> {
    let key = await openpgp.readPrivateKey({ armoredKey: armoredPrivate })
    if (passphrase) key = await openpgp.decryptKey({ privateKey: key, passphrase })
    const message = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: Buffer.from(text) }),
      encryptionKeys: key.toPublic(),
      format: 'binary',
    })
    return Buffer.from(message as Uint8Array).toString('base64')
  }

  it("decodes Vault's test vector with --otp, --otp-file, and '-' from standard input", async () => {
    const otpFile = join(dir, 'otp.txt')
    await writeFile(otpFile, `${VAULT_VECTOR.otp}\r\n`)
    const encFile = join(dir, 'enc.txt')
    await writeFile(encFile, VAULT_VECTOR.encoded)
    const runs = await Promise.all([
      runCli(['decode', '--encoded', VAULT_VECTOR.encoded, '--otp', VAULT_VECTOR.otp]),
      runCli(['decode', '--encoded', VAULT_VECTOR.encoded, '--otp-file', otpFile]),
      runCli(['decode', '--encoded', VAULT_VECTOR.encoded, '--otp-file', '-'], { stdin: `${VAULT_VECTOR.otp}\n` }),
      runCli(['decode', '--encoded', VAULT_VECTOR.encoded, '--otp', '-'], { stdin: VAULT_VECTOR.otp }),
      runCli(['decode', '--encoded', '-', '--otp', VAULT_VECTOR.otp], { stdin: `${VAULT_VECTOR.encoded}\n` }),
      runCli(['decode', '--encoded', '-', '--otp-file', otpFile], { stdin: VAULT_VECTOR.encoded }),
      runCli(['decode', '--encoded=' + VAULT_VECTOR.encoded, '--otp=' + VAULT_VECTOR.otp, '--format', 'text']),
    ])
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toBe(`${VAULT_VECTOR.token}\n`)
      // Nothing could check it: the note goes to standard error, beside the value.
      expect(r.stderr).toMatch(/^note: not verified \(nothing checked it\)/)
    }
    const json = await runCli(['decode', '--encoded', VAULT_VECTOR.encoded, '--otp', VAULT_VECTOR.otp, '--format', 'json'])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({ value: VAULT_VECTOR.token, kind: 'token', verified: false, note: expect.stringContaining('--keyset FILE') })
  })

  it('decodes a legacy result (base64 16-byte OTP) into a UUID token', async () => {
    const raw = randomBytes(16)
    const otp = randomBytes(16)
    const encoded = xorBytes(raw, otp).toString('base64')
    const [padded, unpadded, json] = await Promise.all([
      runCli(['decode', '--encoded', encoded, '--otp', otp.toString('base64')]),
      runCli(['decode', '--encoded', encoded.replace(/=+$/, ''), '--otp-file', '-'], { stdin: `${otp.toString('base64')}\n` }),
      runCli(['decode', '--encoded', encoded, '--otp', otp.toString('base64'), '--format', 'json']),
    ])
    for (const r of [padded, unpadded]) {
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toBe(`${uuidOf(raw)}\n`)
      // Any bytes make a UUID: the output says that this one could not be checked.
      expect(r.stderr).toMatch(/^note: a legacy 16-byte OTP .* cannot be checked/)
    }
    expect(JSON.parse(json.stdout)).toEqual({ value: uuidOf(raw), kind: 'legacy UUID token', verified: false, note: expect.stringMatching(/cannot be checked/) })
  })

  it('decodes a result encrypted to a PGP key, with a passphrase from a file or standard input', async () => {
    const token = 'hvs.' + 'Ab1'.repeat(8)
    const plainFile = await readFile(pgpKeys.plain, 'utf8')
    const lockedFile = await readFile(pgpKeys.locked, 'utf8')
    const forPlain = await encryptTo(plainFile, token)
    const forLocked = await encryptTo(lockedFile, token, pgpKeys.passphrase)
    const runs = await Promise.all([
      runCli(['decode', '--encoded', forPlain, '--pgp-key', pgpKeys.plain]),
      runCli(['decode', '--encoded', forLocked, '--pgp-key', pgpKeys.locked, '--passphrase-file', join(dir, 'pass.txt')]),
      runCli(['decode', '--encoded', forLocked, '--pgp-key', pgpKeys.locked, '--passphrase-file', '-'], { stdin: `${pgpKeys.passphrase}\n` }),
      runCli(['decode', '--encoded', forPlain, '--pgp-key', '-'], { stdin: plainFile }),
    ])
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toBe(`${token}\n`)
    }
  })

  it.concurrent.for([
    ['a wrong OTP of the right length', () => ['--encoded', VAULT_VECTOR.encoded, '--otp', 'X'.repeat(24)], /this OTP belongs to another attempt/],
    ['a random wrong base62 OTP', () => ['--encoded', VAULT_VECTOR.encoded, '--otp', '9'.repeat(12) + 'a'.repeat(12)], /this OTP belongs to another attempt/],
    ['an OTP of another length', () => ['--encoded', VAULT_VECTOR.encoded, '--otp', VAULT_VECTOR.otp + 'xyzw'], /the OTP has 28 characters, the wrong length for this encoded value \(it needs 24\)/],
    ['an empty OTP file', () => ['--encoded', VAULT_VECTOR.encoded, '--otp-file', join(dir, 'empty.txt')], /the OTP has 0 characters, the wrong length/],
    ['an encoded value that is not base64', () => ['--encoded', 'not base64!', '--otp', VAULT_VECTOR.otp], /the encoded value is not base64/],
    ['a missing OTP file', () => ['--encoded', VAULT_VECTOR.encoded, '--otp-file', join(dir, 'absent.txt')], /cannot read --otp-file .*absent\.txt: no such file or directory/],
    ['a public key for --pgp-key', () => ['--encoded', 'AAAA', '--pgp-key', pgpKeys.pub], /is a public key; decoding needs the matching private key/],
    ['a locked key without a passphrase', () => ['--encoded', 'AAAA', '--pgp-key', pgpKeys.locked], /is protected by a passphrase; give the passphrase/],
    ['a wrong passphrase', () => ['--encoded', 'AAAA', '--pgp-key', pgpKeys.locked, '--passphrase-file', pgpKeys.pub], /the passphrase does not unlock private key/],
  ] as const)('fails with exit 1 and never prints a value: %s', async ([_name, args, message], { expect }) => {
    await writeFile(join(dir, 'empty.txt'), '')
    const r = await runCli(['decode', ...args()])
    expect(r.code, r.stderr).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^tessera decode: /)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).not.toMatch(STACK)
    expect(r.stderr).not.toContain(VAULT_VECTOR.token)
  })

  it('fails with exit 1 for a PGP result meant for another key', async () => {
    const other = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Other' }], format: 'armored' })
    const encoded = await encryptTo(other.privateKey, 'hvs.' + 'Zz9'.repeat(8))
    const r = await runCli(['decode', '--encoded', encoded, '--pgp-key', pgpKeys.plain])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(new RegExp(`not to private key ${pgpKeys.priv.fingerprint}`))
  })

  it.concurrent.for([
    ['no --encoded', ['--otp', 'x'], /--encoded is required/],
    ['no protection given', ['--encoded', 'x'], /give exactly one of --otp, --otp-file, --pgp-key or --gpg/],
    ['both --otp and --pgp-key', ['--encoded', 'x', '--otp', 'y', '--pgp-key', 'k.asc'], /give exactly one of --otp, --otp-file, --pgp-key or --gpg/],
    ['both --otp and --otp-file', ['--encoded', 'x', '--otp', 'y', '--otp-file', 'o.txt'], /give exactly one of/],
    ['--passphrase-file without --pgp-key', ['--encoded', 'x', '--otp', 'y', '--passphrase-file', 'p'], /--passphrase-file goes with --pgp-key/],
    ['--encoded and --otp both from stdin', ['--encoded', '-', '--otp', '-'], /--encoded already reads standard input; --otp cannot too/],
    ['--encoded and --otp-file both from stdin', ['--encoded', '-', '--otp-file', '-'], /--encoded already reads standard input; --otp-file cannot too/],
    ['--encoded and --pgp-key both from stdin', ['--encoded', '-', '--pgp-key', '-'], /--encoded already reads standard input; --pgp-key cannot too/],
    ['--pgp-key and --passphrase-file both from stdin', ['--encoded', 'AAAA', '--pgp-key', '-', '--passphrase-file', '-'], /--pgp-key already reads standard input; --passphrase-file cannot too/],
    ['--format xml', ['--encoded', 'x', '--otp', 'y', '--format', 'xml'], /--format must be text or json, got "xml"/],
    ['unknown flag', ['--encoded', 'x', '--otp', 'y', '--token', 'z'], /Unknown option '--token'/],
  ] as const)('usage error: %s → exit 2', async ([_name, args, message], { expect }) => {
    // Standard input carries something decodable, so that only the usage check can stop the run.
    const list: readonly string[] = args
    const stdin = list.includes('--pgp-key') && list.includes('-') ? await readFile(pgpKeys.plain, 'utf8') : VAULT_VECTOR.encoded
    const r = await runCli(['decode', ...args], { stdin })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).toContain('Usage: tessera decode --encoded STR|-')
    expect(r.stdout).toBe('')
  })
})

describe('tessera generate-otp', () => {
  it('prints a 28-character base62 OTP by default, fresh each time, that protects a Vault token', async () => {
    const [a, b] = await Promise.all([runCli(['generate-otp']), runCli(['generate-otp'])])
    for (const r of [a, b]) {
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/^[0-9A-Za-z]{28}\n$/)
      expect(r.stderr).toBe('')
    }
    expect(a.stdout).not.toBe(b.stdout)
    // An OTP from generate-otp is one a server accepts, and the result decodes with it.
    const token = Buffer.from('hvs.' + 'q'.repeat(24))
    const otp = a.stdout.trim()
    const encoded = xorBytes(token, Buffer.from(otp)).toString('base64').replace(/=+$/, '')
    expect((await runCli(['decode', '--encoded', encoded, '--otp', otp])).stdout).toBe(`${token}\n`)
  })

  it.concurrent.for([
    ['26', 26],
    ['24', 24],
    ['1', 1],
    ['4096', 4096],
  ] as const)('--length %s', async ([arg, length], { expect }) => {
    const r = await runCli(['generate-otp', '--length', arg])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(new RegExp(`^[0-9A-Za-z]{${length}}\\n$`))
  })

  it.concurrent.for([
    ['0', /--length must be from 1 to 4096/],
    ['4097', /--length must be from 1 to 4096/],
    ['abc', /--length must be a whole number, got "abc"/],
    ['2.5', /--length must be a whole number, got "2.5"/],
    ['', /--length must be a whole number, got ""/],
  ] as const)('--length %j → exit 2', async ([arg, message], { expect }) => {
    const r = await runCli(['generate-otp', `--length=${arg}`])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(message)
    expect(r.stderr).toContain('Usage: tessera generate-otp [--length N]')
  })

  it('--length -1 and an unknown flag → exit 2', async () => {
    for (const args of [['--length', '-1'], ['--size', '3']]) {
      const r = await runCli(['generate-otp', ...args])
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stdout).toBe('')
    }
  })
})

describe('help', () => {
  it.concurrent.for(['init', 'serve', 'decode', 'generate-otp', 'web'])('tessera %s --help (and -h) exits 0 with its usage', async (command, { expect }) => {
    for (const flag of ['--help', '-h']) {
      const r = await runCli([command, flag])
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(new RegExp(`^Usage: tessera ${command}`))
      expect(r.stderr).toBe('')
    }
    // --help wins over other flags, even ones that would be a usage error.
    const mixed = await runCli([command, '--no-such-flag', '--help'])
    expect(mixed.code).toBe(0)
  })

  it('tessera --help, help and --version exit 0', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = await runCli(args)
      expect(r.code).toBe(0)
      expect(r.stdout).toContain('Usage: tessera <command> [flags]')
      expect(r.stdout).toContain('Exit codes: 0 success, 1 operational failure, 2 usage error.')
    }
    const version = await runCli(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout).toBe(`${VERSION}\n`)
  })
})
