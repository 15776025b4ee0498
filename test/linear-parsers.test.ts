import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readPrivateKey, readPublicKey } from '../src-main/crypto/pgp'
import { decodeWithOtp, kindOf } from '../src-main/decode/decode'
import { codecFor } from '../src-main/engine/share-codec'
import { checkForm } from '../src-shared/share-grammar'
import { redact } from '../src-main/support/redact'
import { canonicalHost, isLoopback } from '../src-main/support/address'
import { hostPolicy } from '../src-main/server/host-policy'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { spawnServe, type Spawned } from './helpers/processes'

/**
 * Every parser of untrusted text runs in linear time: 1 MiB built to make a
 * backtracking regex go quadratic is answered at once. The contract is 100 ms;
 * the assertions leave room for a loaded machine (a quadratic parser takes
 * minutes on these inputs).
 */

const MIB = 1024 * 1024
const BOUND_MS = 1000

/** Shapes that make backtracking regexes quadratic: long runs of one class ending in a character outside it. */
const ADVERSARIAL: Record<string, string> = {
  'spaces between base64 and junk': 'A' + ' '.repeat(MIB) + '!',
  'base64 run, then junk': 'A'.repeat(MIB) + '!',
  'hex run, then junk': '0'.repeat(MIB) + 'g',
  'padding run': 'A' + '='.repeat(MIB) + 'A',
  'base64 run, then padding in the middle': 'A'.repeat(MIB) + '=A',
  'secrets.js-like run': '8' + 'f'.repeat(MIB) + 'x',
  'newlines': 'A\n'.repeat(MIB / 2) + '!',
  'armored header, then junk': '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n' + 'A'.repeat(MIB) + '\n=====\n',
  'colons': '0:'.repeat(MIB / 2) + 'ffff:x',
  'slashes': '/'.repeat(MIB) + 'x',
  'dots': 'hvs.' + '.'.repeat(MIB),
}

/**
 * The CPU time the process spent on one parse, in ms: unlike wall time it does
 * not grow when other work shares the machine, and a quadratic parser spends
 * minutes of it on these inputs.
 */
async function timed(run: () => unknown): Promise<number> {
  const started = process.cpuUsage()
  try {
    await run()
  } catch {
    // a refusal is an answer; only the time matters here
  }
  const spent = process.cpuUsage(started)
  return (spent.user + spent.system) / 1000
}

const PARSERS: Record<string, (input: string) => unknown> = {
  'PGP public key sniffing': (s) => readPublicKey(s),
  'PGP private key sniffing': (s) => readPrivateKey(s, 'x'),
  'OTP decoding (encoded value)': (s) => decodeWithOtp(s, Buffer.from('A'.repeat(28))),
  'OTP decoding (OTP)': (s) => decodeWithOtp('AAAA', Buffer.from(s)),
  'value shapes': (s) => kindOf(s),
  'share codec (Vault)': (s) => codecFor('vault', 3).parse(Buffer.from(s)),
  'share codec (secrets.js)': (s) => codecFor('secretsjs', 3).parse(Buffer.from(s)),
  "renderer's share check (Vault)": (s) => checkForm(s, 'vault'),
  "renderer's share check (secrets.js)": (s) => checkForm(s, 'secretsjs'),
  redactor: (s) => redact(s),
  'address rules': (s) => [canonicalHost(s), isLoopback(s)],
  'Host and Origin policy': (s) =>
    hostPolicy({ bindHost: '127.0.0.1', tls: false, certNames: ['vault.example.com'] })({
      headers: { host: s, origin: `http://${s}` },
      socket: { localPort: 8200 },
    } as never),
}

describe('parsers of untrusted text are linear', () => {
  for (const [parser, parse] of Object.entries(PARSERS)) {
    it(`${parser}: every 1 MiB adversarial input is answered at once`, async () => {
      const slow: string[] = []
      for (const [shape, input] of Object.entries(ADVERSARIAL)) {
        const ms = await timed(() => parse(input))
        if (ms > BOUND_MS) slow.push(`${shape}: ${Math.round(ms)} ms`)
      }
      expect(slow).toEqual([])
    })
  }
})

describe('the server under an adversarial body', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>
  let ks: TestKeyset
  let serve: Spawned
  beforeAll(async () => {
    tmp = await tempDir('tessera-linear-')
    ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    serve = await spawnServe(['--keyset', ks.path])
  })
  afterAll(async () => {
    await serve.stop()
    await tmp.cleanup()
  })

  it('answers a 1 MiB adversarial pgp_key and, meanwhile, a seal-status', async () => {
    const url = `http://127.0.0.1:${serve.port}/v1`
    const pgpKey = 'A' + ' '.repeat(MIB - 64) + '!'
    const started = performance.now()
    const hostile = fetch(`${url}/sys/generate-root/attempt`, { method: 'PUT', body: JSON.stringify({ pgp_key: pgpKey }) }).then(
      async (r) => ({ status: r.status, body: await r.text(), ms: performance.now() - started }),
    )
    const status = fetch(`${url}/sys/seal-status`).then((r) => ({ status: r.status, ms: performance.now() - started }))
    const [h, s] = await Promise.all([hostile, status])
    expect(h.status).toBe(400)
    expect(JSON.parse(h.body).errors[0]).toMatch(/not an OpenPGP key/)
    expect(s.status).toBe(200)
    expect(h.ms).toBeLessThan(5000)
    expect(s.ms).toBeLessThan(5000)
  })

  it('answers a path of 15,000 slashes at once', async () => {
    const started = performance.now()
    const r = await fetch(`http://127.0.0.1:${serve.port}/v1/sys/seal-status${'/'.repeat(15000)}x`)
    expect(r.status).toBe(404)
    expect(performance.now() - started).toBeLessThan(BOUND_MS)
  })
})
