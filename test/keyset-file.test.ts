import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lstat, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeWithOtp } from '../src-main/decode/decode'
import { withIntegrity } from '../src-main/engine/keyset-format'
import { LocalEngine } from '../src-main/engine/local-engine'
import { withFileLock } from '../src-main/support/files'
import { runCli, startServe, type ServeProcess } from './helpers/cli'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'
import { callApi } from './helpers/server'

// The keyset file as other programs and damage meet it (npm run build first: these run `tessera`).
let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

async function serveError(path: string): Promise<string> {
  const r = await runCli(['serve', '--keyset', path, '--port', '0'])
  expect(r.code).toBe(1)
  expect(r.stdout).toBe('')
  return r.stderr
}

describe('a damaged or hostile keyset file', () => {
  let ks: TestKeyset
  let good: Record<string, unknown>
  beforeAll(async () => {
    ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    good = JSON.parse(await readFile(ks.path, 'utf8'))
  })
  const write = async (name: string, content: string | Buffer) => {
    const path = join(tmp.dir, name)
    await writeFile(path, content)
    return path
  }

  it('reports one flipped bit in the keyring as damage when the file is opened, not as a bad share', async () => {
    const text = await readFile(ks.path, 'utf8')
    const ring = (good.keyring as { ciphertext: string }).ciphertext
    const flipped = ring.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))
    const path = await write('flipped.json', text.replace(ring, flipped))
    await expect(LocalEngine.open(path)).rejects.toThrow(/^the keyset file is damaged: .* does not match its integrity check/)
    const stderr = await serveError(path)
    expect(stderr).toMatch(/^tessera serve: the keyset file is damaged: /)
    expect(stderr.trim().split('\n')).toHaveLength(1)
  })

  it('checks the file in full on every change: damage after this program\'s own write is still found', async () => {
    const mine = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const engine = await LocalEngine.open(mine.path)
    await engine.keyset.addRootToken(Buffer.from('hvs.first-token-000000000000'))
    const written = await readFile(mine.path, 'utf8')
    const created = JSON.parse(written).created_at as string
    await writeFile(mine.path, written.replace(created, created.replace(/\d(?=Z$)/, (d) => String((Number(d) + 1) % 10))))
    await expect(engine.keyset.addRootToken(Buffer.from('hvs.second-token-00000000000'))).rejects.toMatchObject({ code: 'keyset_damaged' })
    // The text it wrote itself, put back, is taken again.
    await writeFile(mine.path, written)
    await engine.keyset.addRootToken(Buffer.from('hvs.second-token-00000000000'))
    expect(JSON.parse(await readFile(mine.path, 'utf8')).tokens).toHaveLength(3)
  })

  it('reports a lost integrity check as damage', async () => {
    const { integrity: _gone, ...rest } = good
    await expect(LocalEngine.open(await write('unsealed.json', JSON.stringify(rest)))).rejects.toThrow(/damaged: .* has lost its integrity check/)
  })

  // Worded as every schema issue is (IPC input, the profiles file): "field: expected X", "field <rule>".
  it('names the field and the problem, never the value, whatever the field holds', async () => {
    const share = ks.keys[0]!
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['scheme', { scheme: share }, /: scheme must be "vault" or "secretsjs"$/],
      ['keyring.iv', { keyring: { ...(good.keyring as object), iv: `${share}!` } }, /: keyring\.iv must be base64$/],
      ['tokens', { tokens: share }, /: tokens: expected Array$/],
      ['an unknown field named as a share', { [share]: 1 }, /: file: unexpected field$/],
      ['a holder name', { issued_shares: [{ x: 1, holder: `<${share.slice(0, 30)}>`, check: 'AA==' }] }, /: issued_shares\.0\.holder must be letters/],
      ['a long string', { created_at: share.repeat(12_000) }, /: created_at is too long$/],
    ]
    for (const [name, change, message] of cases) {
      const path = await write(`field-${name.replace(/\W/g, '')}.json`, JSON.stringify(withIntegrity({ ...good, ...change })))
      const stderr = await serveError(path)
      expect(stderr.trim(), name).toMatch(message)
      expect(stderr, name).not.toContain(share.slice(0, 16))
      expect(stderr.length, name).toBeLessThan(700)
    }
  })

  it('refuses a file over 6 MiB with a sentence, without reading it whole', async () => {
    const path = await write('huge.json', JSON.stringify({ ...good, created_at: 'x'.repeat(50 * 1024 * 1024) }))
    const stderr = await serveError(path)
    expect(stderr).toMatch(/^tessera serve: could not read keyset .*huge\.json: it is larger than 6 MiB, the limit for a keyset file\n$/)
  })
})

describe('two programs on one keyset', () => {
  const servers: ServeProcess[] = []
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
  })
  const serve = async (path: string) => {
    const s = await startServe(['--keyset', path])
    servers.push(s)
    return s
  }

  /** A root generation through `url`; resolves to the new token. */
  const mint = async (url: string, keys: string[]) => {
    const start = (await callApi(url, 'PUT', 'sys/generate-root/attempt', {})).json
    let last: any
    for (const key of keys) last = (await callApi(url, 'PUT', 'sys/generate-root/update', { key, nonce: start.nonce })).json
    expect(last.complete).toBe(true)
    return decodeWithOtp(last.encoded_token, Buffer.from(start.otp)).value.toString()
  }
  const tokensIn = async (path: string) => (JSON.parse(await readFile(path, 'utf8')).tokens as unknown[]).length

  it('keep each other\'s root tokens and never issue one share number twice', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 5, threshold: 3 })
    const [a, b] = await Promise.all([serve(ks.path), serve(ks.path)])

    const newShare = async (url: string, keys: string[]) => {
      await callApi(url, 'PUT', 'sys/generate-share/attempt', {})
      let last: any
      for (const key of keys) last = (await callApi(url, 'PUT', 'sys/generate-share/update', { key })).json
      expect(last.complete).toBe(true)
      return last.key as string
    }
    const tokens = await Promise.all([mint(a.url, ks.keys.slice(0, 3)), mint(b.url, ks.keys.slice(2, 5))])
    const shares = await Promise.all([newShare(a.url, ks.keys.slice(0, 3)), newShare(b.url, ks.keys.slice(1, 4))])
    expect(shares[0]).not.toBe(shares[1])

    const fresh = await serve(ks.path)
    for (const token of [ks.rootToken, ...tokens]) {
      const r = await callApi(fresh.url, 'GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': token })
      expect(r.status, r.text).toBe(200)
    }

    const engine = await LocalEngine.open(ks.path)
    const numbers = await Promise.all(shares.map(async (s) => (await engine.keyset.check(Buffer.from(s))).number))
    expect(numbers.sort()).toEqual([6, 7])
    // A running program recognizes a share the other one issued since it last wrote.
    const later = await newShare(a.url, ks.keys.slice(0, 3))
    const { nonce } = (await callApi(b.url, 'PUT', 'sys/generate-root/attempt', {})).json
    const r = await callApi(b.url, 'PUT', 'sys/generate-root/update', { key: later, nonce })
    expect(r.status, r.text).toBe(200)
    const xs = JSON.parse(await readFile(ks.path, 'utf8')).issued_shares.map((r: { x: number }) => r.x)
    expect(xs).toHaveLength(8)
    expect(new Set(xs).size).toBe(8)
  })

  it('one by a symlink and one by its target write one file: the target, under the target\'s lock', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const link = join(tmp.dir, 'through-a-link.json')
    await symlink(ks.path, link)
    const [byLink, byTarget] = await Promise.all([serve(link), serve(ks.path)])
    const minted: string[] = []
    for (let round = 0; round < 3; round++) {
      minted.push(...(await Promise.all([mint(byLink.url, ks.keys.slice(0, 2)), mint(byTarget.url, ks.keys.slice(1, 3))])))
    }
    expect((await lstat(link)).isSymbolicLink()).toBe(true)
    expect(await tokensIn(ks.path)).toBe(7)
    const fresh = await serve(ks.path)
    for (const token of minted) {
      expect((await callApi(fresh.url, 'GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': token })).status).toBe(200)
    }
  })

  it('a program holding the target\'s lock keeps a writer that came by the link waiting', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const link = join(tmp.dir, 'waits-by-link.json')
    await symlink(ks.path, link)
    const byLink = await serve(link)
    const start = (await callApi(byLink.url, 'PUT', 'sys/generate-root/attempt', {})).json
    await callApi(byLink.url, 'PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce: start.nonce })
    let settled = false
    const last = await withFileLock(ks.path, async () => {
      const pending = callApi(byLink.url, 'PUT', 'sys/generate-root/update', { key: ks.keys[1], nonce: start.nonce }).finally(() => (settled = true))
      await new Promise((resolve) => setTimeout(resolve, 1500))
      expect(settled).toBe(false)
      expect(await tokensIn(ks.path)).toBe(1)
      return { pending }
    })
    const done = await last.pending
    expect(done.json.complete, done.text).toBe(true)
    expect(await tokensIn(ks.path)).toBe(2)
    expect((await lstat(link)).isSymbolicLink()).toBe(true)
  })

  it('a running server accepts a token the other one minted, without a restart', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const [a, b] = await Promise.all([serve(ks.path), serve(ks.path)])
    const start = (await callApi(b.url, 'PUT', 'sys/generate-root/attempt', {})).json
    await callApi(b.url, 'PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce: start.nonce })
    const done = (await callApi(b.url, 'PUT', 'sys/generate-root/update', { key: ks.keys[1], nonce: start.nonce })).json
    const token = decodeWithOtp(done.encoded_token, Buffer.from(start.otp)).value.toString()
    const r = await callApi(a.url, 'GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': token })
    expect(r.status, r.text).toBe(200)
    const wrong = await callApi(a.url, 'GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': `${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}` })
    expect(wrong.status).toBe(403)
  })
})
