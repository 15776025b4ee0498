import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as openpgp from 'openpgp'
import * as shamir from 'shamir-secret-sharing'
import secretsJs from 'secrets.js-grempe'
import { decodeWithOtp, decodeWithPgp } from '../src-main/decode/decode'
import { readPrivateKey } from '../src-main/crypto/pgp'
import type { Scheme } from '../src-main/engine/share-codec'
import { runCli, startServe, type CliResult, type ServeProcess } from './helpers/cli'
import { SCHEMES, tempDir } from './helpers/keysets'
import { filesUnder, leaks, secret, type Secret } from './helpers/secret-forms'
import { callApi as call, type Reply } from './helpers/server'

/**
 * Full ceremonies against spawned `tessera serve` processes (root with a server
 * OTP, a client OTP and a PGP key; a new share; a recovery token in recovery
 * mode), with the error paths on the way, plus `tessera init` and `tessera
 * decode`. Then every file under the keyset's directory and everything the
 * processes wrote is searched for every secret that passed through, in every
 * spelling and in pieces (see helpers/secret-forms).
 */

/** The secret the shares stand for: the keyset's root key, recombined here independently of Tessera. */
async function rootKeyOf(scheme: Scheme, keys: string[]): Promise<string> {
  if (scheme === 'vault') {
    const combined = await shamir.combine(keys.map((k) => new Uint8Array(Buffer.from(k, 'hex'))))
    return Buffer.from(combined).toString('hex')
  }
  return secretsJs.combine(keys)
}

/** The spellings of a share that sys/init hands out, plus the share string for secrets.js. */
function shareSecrets(label: string, key: string, keyBase64: string): Secret[] {
  return [secret(`${label} (key)`, key), secret(`${label} (key_base64)`, keyBase64)]
}

describe.each(SCHEMES)('no secret reaches disk or output (%s keyset)', (scheme) => {
  let keysetDir: Awaited<ReturnType<typeof tempDir>>
  let foreignDir: Awaited<ReturnType<typeof tempDir>>
  let workDir: Awaited<ReturnType<typeof tempDir>>
  let keyset: string
  let keysetAtStart: any
  const secrets: Secret[] = []
  /** What the processes wrote that must hold no secret, by name. */
  const outputs: Array<{ name: string; content: string }> = []
  /** Error bodies the server answered with: no secret either. */
  const errorBodies: Array<{ name: string; content: string }> = []
  const serveOutputs: string[] = []
  const counts = { rootTokens: 0, recoveryTokens: 0, otps: 0, freshShares: 0 }
  let initOut: CliResult

  const keep = (label: string, value: string) => secrets.push(secret(label, value))
  const cliOutput = (name: string, r: CliResult, opts: { stdoutToo?: boolean } = {}) => {
    outputs.push({ name: `${name} stderr`, content: r.stderr })
    if (opts.stdoutToo) outputs.push({ name: `${name} stdout`, content: r.stdout })
  }
  /** A call that must fail: its status and Vault's message are checked, its body kept for the scan. */
  const refused = async (name: string, p: Promise<Reply>, status: number, message: RegExp) => {
    const r = await p
    expect(r.status, `${name}: ${r.text}`).toBe(status)
    expect(r.json?.errors?.[0], name).toMatch(message)
    errorBodies.push({ name, content: r.text })
    return r
  }

  beforeAll(async () => {
    keysetDir = await tempDir('tessera-nosecret-keyset-')
    foreignDir = await tempDir('tessera-nosecret-foreign-')
    workDir = await tempDir('tessera-nosecret-work-')
    keyset = join(keysetDir.dir, 'keyset.json')

    // tessera init, JSON output, for the keyset under test.
    initOut = await runCli(['init', '--keyset', keyset, '--shares', '5', '--threshold', '3', '--scheme', scheme, '--format', 'json', '--record', join(workDir.dir, 'init.jsonl')])
    expect(initOut.code, initOut.stderr).toBe(0)
    cliOutput('init', initOut)
    const init = JSON.parse(initOut.stdout) as { keys: string[]; keys_base64: string[]; root_token: string }
    const keys = init.keys
    init.keys.forEach((k, i) => secrets.push(...shareSecrets(`share ${i + 1}`, k, init.keys_base64[i]!)))
    keep('initial root token', init.root_token)
    keep('root key', await rootKeyOf(scheme, keys.slice(0, 3)))
    keysetAtStart = JSON.parse(await readFile(keyset, 'utf8'))

    // tessera init, text output, for a foreign keyset elsewhere.
    const foreignOut = await runCli(['init', '--keyset', join(foreignDir.dir, 'foreign.json'), '--shares', '3', '--threshold', '3', '--scheme', scheme])
    expect(foreignOut.code, foreignOut.stderr).toBe(0)
    cliOutput('foreign init', foreignOut)
    const foreign = [...foreignOut.stdout.matchAll(/^Unseal Key \d+: (\S+)$/gm)].map((m) => m[1]!)
    expect(foreign).toHaveLength(3)
    // Text output shows base64 for Vault shares, the share string for secrets.js.
    const foreignKeys = scheme === 'vault' ? foreign.map((b) => Buffer.from(b, 'base64').toString('hex')) : foreign
    foreignKeys.forEach((k, i) => secrets.push(...shareSecrets(`foreign share ${i + 1}`, k, Buffer.from(scheme === 'vault' ? Buffer.from(k, 'hex') : Buffer.from(k)).toString('base64'))))
    keep('foreign root token', /Initial Root Token: (\S+)/.exec(foreignOut.stdout)![1]!)
    keep('foreign root key', await rootKeyOf(scheme, foreignKeys))

    const passphrase = 'a long passphrase for the ceremony key'
    keep('PGP passphrase', passphrase)
    const pgp = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Scan Holder' }], passphrase, format: 'armored' })
    const privateFile = join(workDir.dir, 'holder.asc')
    await writeFile(privateFile, pgp.privateKey)
    const holder = await readPrivateKey(pgp.privateKey, passphrase)

    // A share of another keyset is refused as it is entered (keyset format 2).
    const FOREIGN = /^(this share is not from this keyset|this does not match share \d — probably a typing mistake)/
    const root = (url: string, body: unknown) => call(url, 'PUT', 'sys/generate-root/attempt', body)
    const update = (url: string, flow: string, key: string, nonce: string) => call(url, 'PUT', `sys/${flow}/update`, { key, nonce })
    const feed = async (url: string, flow: string, nonce: string, shares: string[]) => {
      let last: Reply | undefined
      for (const key of shares) {
        last = await update(url, flow, key, nonce)
        expect(last.status, last.text).toBe(200)
      }
      expect(last!.json.complete).toBe(true)
      return last!.json
    }

    let s: ServeProcess = await startServe(['--keyset', keyset])
    try {
      const url = s.url

      // 1. Root with a server OTP, through the error paths.
      let start = (await root(url, {})).json
      keep('root OTP', start.otp)
      counts.otps++
      await refused('wrong nonce', update(url, 'generate-root', keys[0]!, 'not-the-nonce'), 400, /incorrect nonce supplied/)
      expect((await update(url, 'generate-root', keys[0]!, start.nonce)).status).toBe(200)
      await refused('duplicate share', update(url, 'generate-root', init.keys_base64[0]!, start.nonce), 400, /already been provided/)
      await refused('malformed share', update(url, 'generate-root', `${keys[1]!.slice(0, -4)}zz!`, start.nonce), 400, /'key' must be a valid/)
      await refused('share in a query string', call(url, 'PUT', `sys/generate-root/update?key=${keys[1]}&nonce=${start.nonce}`), 400, /'key' must be specified/)
      let done = await feed(url, 'generate-root', start.nonce, [keys[1]!, init.keys_base64[2]!])
      const decoded = await runCli(['decode', '--encoded', done.encoded_token, '--otp', '-'], { stdin: `${start.otp}\n` })
      expect(decoded.code, decoded.stderr).toBe(0)
      cliOutput('decode (OTP on stdin)', decoded)
      const rootToken = decoded.stdout.trim()
      expect(rootToken).toBe(decodeWithOtp(done.encoded_token, Buffer.from(start.otp)).value.toString())
      keep('root token (server OTP)', rootToken)
      counts.rootTokens++
      // The token in headers, and the OTP and encoded token in a body: none of it is logged.
      expect((await call(url, 'GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': rootToken })).status).toBe(200)
      expect((await call(url, 'POST', 'auth/token/lookup-self', undefined, { Authorization: `Bearer ${init.root_token}` })).status).toBe(200)
      const viaApi = await call(url, 'PUT', 'sys/decode-token', { encoded_token: done.encoded_token, otp: start.otp })
      expect(viaApi.json.data.token).toBe(rootToken)
      const wrongDecode = await runCli(['decode', '--encoded', done.encoded_token, '--otp', 'Z'.repeat(28)])
      expect(wrongDecode.code).toBe(1)
      expect(wrongDecode.stdout).toBe('')
      cliOutput('decode (wrong OTP)', wrongDecode, { stdoutToo: true })

      // 2. Shares from another keyset: refused whether or not their index is one already given.
      start = (await root(url, {})).json
      keep('root OTP (foreign attempt)', start.otp)
      counts.otps++
      await update(url, 'generate-root', keys[0]!, start.nonce)
      await update(url, 'generate-root', keys[1]!, start.nonce)
      await refused('foreign share', update(url, 'generate-root', foreignKeys[2]!, start.nonce), 400, FOREIGN)
      await update(url, 'generate-root', foreignKeys[0]!, start.nonce)
      await update(url, 'generate-root', foreignKeys[1]!, start.nonce)
      await refused('foreign shares only', update(url, 'generate-root', foreignKeys[2]!, start.nonce), 400, FOREIGN)
      expect((await call(url, 'DELETE', 'sys/generate-root/attempt')).status).toBe(204)

      // 3. Root with an OTP from `tessera generate-otp` (the client's own).
      const otpRun = await runCli(['generate-otp'])
      cliOutput('generate-otp', otpRun)
      const clientOtp = otpRun.stdout.trim()
      keep('client OTP', clientOtp)
      counts.otps++
      start = (await root(url, { otp: clientOtp })).json
      expect(start.otp).toBe('')
      done = await feed(url, 'generate-root', start.nonce, [keys[4]!, keys[2]!, keys[3]!])
      const otpFile = join(workDir.dir, 'otp.txt')
      await writeFile(otpFile, clientOtp)
      const fromFile = await runCli(['decode', '--encoded', done.encoded_token, '--otp-file', otpFile])
      expect(fromFile.code, fromFile.stderr).toBe(0)
      cliOutput('decode (OTP file)', fromFile)
      keep('root token (client OTP)', fromFile.stdout.trim())
      counts.rootTokens++

      // 4. Root encrypted to a PGP key; decoded by the CLI with the passphrase on stdin.
      start = (await root(url, { pgp_key: pgp.publicKey })).json
      expect(start.pgp_fingerprint).toBe(holder.fingerprint)
      done = await feed(url, 'generate-root', start.nonce, [keys[2]!, keys[0]!, keys[4]!])
      const pgpDecoded = await runCli(['decode', '--encoded', done.encoded_token, '--pgp-key', privateFile, '--passphrase-file', '-'], { stdin: `${passphrase}\n` })
      expect(pgpDecoded.code, pgpDecoded.stderr).toBe(0)
      cliOutput('decode (PGP)', pgpDecoded)
      const pgpToken = pgpDecoded.stdout.trim()
      expect(pgpToken).toBe((await decodeWithPgp(done.encoded_token, holder)).value.toString())
      keep('root token (PGP)', pgpToken)
      counts.rootTokens++

      // 5. A new share, returned as generate-share's document says (no OTP), then used in place of an original.
      start = (await call(url, 'PUT', 'sys/generate-share/attempt', {})).json
      expect(start).toMatchObject({ otp: '', otp_length: 0 })
      await refused('wrong nonce (share)', update(url, 'generate-share', keys[0]!, start.nonce.replace(/.$/, 'x')), 400, /incorrect nonce supplied; nonce for this share generation/)
      await refused('root update during share attempt', update(url, 'generate-root', keys[0]!, start.nonce), 400, /incorrect strategy supplied/)
      done = await feed(url, 'generate-share', start.nonce, [keys[1]!, keys[3]!, keys[4]!])
      const fresh = done.key as string
      expect(keys).not.toContain(fresh)
      const freshBase64 = scheme === 'vault' ? Buffer.from(fresh, 'hex').toString('base64') : Buffer.from(fresh).toString('base64')
      expect(done.key_base64).toBe(freshBase64)
      secrets.push(...shareSecrets('new share', fresh, freshBase64))
      counts.freshShares++
      start = (await root(url, {})).json
      keep('root OTP (new share)', start.otp)
      counts.otps++
      await update(url, 'generate-root', fresh, start.nonce)
      await refused('new share given twice', update(url, 'generate-root', freshBase64, start.nonce), 400, /already been provided/)
      done = await feed(url, 'generate-root', start.nonce, [keys[0]!, keys[2]!])
      keep('root token (new share)', decodeWithOtp(done.encoded_token, Buffer.from(start.otp)).value.toString())
      counts.rootTokens++

      // 6. Revoking a token: its hash leaves the keyset.
      expect((await call(url, 'POST', 'auth/token/revoke-self', undefined, { 'X-Vault-Token': pgpToken })).status).toBe(204)
      await refused('revoked token', call(url, 'GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': pgpToken }), 403, /permission denied/)
    } finally {
      await s.stop()
      serveOutputs.push(s.output())
      outputs.push({ name: 'serve output', content: s.output() })
    }

    s = await startServe(['--keyset', keyset, '--recovery'])
    try {
      const url = s.url
      const flow = 'generate-recovery-token'
      const start = (await call(url, 'PUT', `sys/${flow}/attempt`, {})).json
      keep('recovery OTP', start.otp)
      counts.otps++
      await refused('wrong nonce (recovery)', update(url, flow, keys[0]!, 'nope'), 400, /incorrect nonce supplied/)
      await update(url, flow, keys[3]!, start.nonce)
      await refused('duplicate share (recovery)', update(url, flow, keys[3]!, start.nonce), 400, /already been provided/)
      await update(url, flow, keys[0]!, start.nonce)
      await refused('foreign share (recovery)', update(url, flow, foreignKeys[1]!, start.nonce), 400, FOREIGN)
      await refused('root flow in recovery mode', root(url, {}), 404, /not available while the engine runs in recovery mode/)
      // The refused share never counted: two given, one more completes.
      expect((await call(url, 'GET', `sys/${flow}/attempt`)).json).toMatchObject({ started: true, progress: 2 })
      const done = await feed(url, flow, start.nonce, [keys[2]!])
      const decoded = await runCli(['decode', '--encoded', done.encoded_token, '--otp-file', '-'], { stdin: start.otp })
      expect(decoded.code, decoded.stderr).toBe(0)
      cliOutput('decode (recovery)', decoded)
      const token = decoded.stdout.trim()
      expect(token).toMatch(/^hvr\.[0-9A-Za-z]{24}$/)
      keep('recovery token', token)
      counts.recoveryTokens++
      expect((await call(url, 'GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': token })).json.data.type).toBe('recovery')
    } finally {
      await s.stop()
      serveOutputs.push(s.output())
      outputs.push({ name: 'serve --recovery output', content: s.output() })
    }
    // Some thirty shares checked as entered, each a deliberately slow scrypt, and a dozen commands.
  }, 180_000)
  afterAll(async () => {
    await keysetDir?.cleanup()
    await foreignDir?.cleanup()
    await workDir?.cleanup()
  })

  it('collected every secret it looks for', () => {
    const labels = secrets.map((s) => s.label)
    expect(labels.filter((l) => /^share \d \(/.test(l))).toHaveLength(10)
    expect(labels.filter((l) => /^root token /.test(l))).toHaveLength(counts.rootTokens)
    expect(counts).toEqual({ rootTokens: 4, recoveryTokens: 1, otps: 5, freshShares: 1 })
    expect(labels).toContain('initial root token')
    expect(labels).toContain('recovery token')
    expect(errorBodies.length).toBeGreaterThanOrEqual(12)
  })

  it('has a scanner that does find secrets where they legitimately are (positive control)', async () => {
    // init's stdout hands the shares and the root token out: every one of them must be found there.
    const found = leaks(secrets, [{ name: 'init stdout', content: initOut.stdout }])
    for (let i = 1; i <= 5; i++) {
      expect(found).toContain(`share ${i} (key) in init stdout`)
      expect(found).toContain(`share ${i} (key_base64) in init stdout`)
    }
    expect(found).toContain('initial root token in init stdout')
    // Pieces and other spellings are found too.
    const share = secrets.find((s) => s.label === 'share 2 (key)')!.value
    const bytes = scheme === 'vault' ? Buffer.from(share, 'hex') : Buffer.from(share)
    for (const content of [share.slice(10, 30), share.toUpperCase(), bytes.toString('base64url'), bytes, Buffer.from(share, 'utf16le')]) {
      expect(leaks(secrets, [{ name: 'probe', content }])).toContain('share 2 (key) in probe')
    }
    expect(leaks(secrets, [{ name: 'probe', content: 'nothing secret here, just a long enough line of text' }])).toEqual([])
  })

  it('leaves only the keyset in its directory, private, and rewrote it during the ceremonies', async () => {
    expect(await readdir(keysetDir.dir)).toEqual(['keyset.json'])
    expect((await stat(keyset)).mode & 0o777).toBe(0o600)
    expect(await readdir(foreignDir.dir)).toEqual(['foreign.json'])
    expect((await stat(join(foreignDir.dir, 'foreign.json'))).mode & 0o777).toBe(0o600)
    // Root tokens were added (and one revoked) and a share recorded: the file was rewritten,
    // so the temp-file path of every rewrite has run.
    const now = JSON.parse(await readFile(keyset, 'utf8'))
    expect(now.tokens).toHaveLength(keysetAtStart.tokens.length + 4 - 1)
    expect(now.issued_shares).toHaveLength(keysetAtStart.issued_shares.length + 1)
  })

  it('finds no secret in any file under the keyset directories, nor in the record of the init', async () => {
    const files = [...(await filesUnder(keysetDir.dir)), ...(await filesUnder(foreignDir.dir))]
    expect(files.length).toBe(2)
    const record = await readFile(join(workDir.dir, 'init.jsonl'), 'utf8')
    expect(record.match(/"type":"share_handed_out"/g)).toHaveLength(5)
    expect(leaks(secrets, [...files, { name: 'init record', content: record }])).toEqual([])
  })

  it("finds no secret in the serve processes' complete output, nor in any CLI diagnostics", () => {
    expect(serveOutputs).toHaveLength(2)
    expect(leaks(secrets, outputs)).toEqual([])
  })

  it('prints only the listening line and one method-path-status line per request', () => {
    for (const out of serveOutputs) {
      const lines = out.trimEnd().split('\n')
      expect(lines[0]).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+$/)
      for (const line of lines.slice(1)) expect(line).toMatch(/^(GET|PUT|POST|DELETE) \/v1\/[a-z/-]+ \d{3}$/)
      expect(lines.length).toBeGreaterThan(10)
    }
  })

  it("finds no secret in the server's error answers", () => {
    expect(leaks(secrets, errorBodies)).toEqual([])
  })
})

/**
 * Rough edges found while writing the scan above (reported, not fixed). Each is
 * written as the behaviour expected and marked `fails` while the product differs;
 * drop `.fails` once fixed.
 */
describe('secrets a client puts where they do not belong', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let init: { keys: string[]; root_token: string }
  let s: ServeProcess
  beforeAll(async () => {
    dir = await tempDir('tessera-nosecret-edges-')
    const r = await runCli(['init', '--keyset', join(dir.dir, 'keyset.json'), '--shares', '3', '--threshold', '2', '--format', 'json'])
    init = JSON.parse(r.stdout)
    s = await startServe(['--keyset', join(dir.dir, 'keyset.json')])
  })
  afterAll(async () => {
    await s?.stop()
    await dir?.cleanup()
  })

  // A token or share sent in a path (Vault's deprecated auth/token/lookup/:token form, or a
  // pasted share) must not land in the log.
  it('does not log a token or share sent in a URL path', async () => {
    const own = await startServe(['--keyset', join(dir.dir, 'keyset.json')])
    try {
      expect((await call(own.url, 'GET', `auth/token/lookup/${init.root_token}`)).status).toBe(404)
      expect((await call(own.url, 'PUT', `sys/generate-root/update/${init.keys[0]}`, {})).status).toBe(404)
    } finally {
      await own.stop() // all output is in once the process has closed its pipes
    }
    expect(own.output()).toMatch(/ 404\n.* 404\n$/)
    const found = leaks([secret('root token', init.root_token), secret('share', init.keys[0]!)], [{ name: 'serve output', content: own.output() }])
    expect(found).toEqual([])
  })

  // V8's JSON.parse message quotes the start of the body: an unquoted share would come back
  // (and into client logs) in part.
  it('does not echo part of a malformed body back in the error', async () => {
    // Single quotes, as a hand-written body often has them.
    const r = await call(s.url, 'PUT', 'sys/generate-root/update', `{"key": '${init.keys[1]}', "nonce": "x"}`)
    expect(r.status).toBe(400)
    expect(r.json.errors[0]).toMatch(/^failed to parse JSON input/)
    // V8 quotes about nine characters: shorter than the scanner's windows, so look for them directly.
    expect(r.text).not.toContain(init.keys[1]!.slice(0, 8))
  })
})
