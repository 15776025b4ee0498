import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { canonicalHost, isLoopback } from '../src-main/support/address'
import { MAX_MESSAGE_CHARS, publicError, TesseraError } from '../src-main/support/errors'
import { withFileLock } from '../src-main/support/files'
import { redact, redactingLog } from '../src-main/support/redact'
import { requestTarget } from '../src-main/support/request'

describe('address rules', () => {
  it('reads the IPv6-mapped form of an IPv4 address as that address', () => {
    expect(canonicalHost('[::ffff:127.0.0.1]')).toBe('127.0.0.1')
    expect(canonicalHost('[::ffff:7f00:1]')).toBe('127.0.0.1')
    expect(canonicalHost('::FFFF:10.0.0.2')).toBe('10.0.0.2')
    expect(canonicalHost('[0:0:0:0:0:ffff:7f00:2]')).toBe('127.0.0.2')
    expect(canonicalHost('Vault.Example.COM.')).toBe('vault.example.com')
  })

  it('knows loopback in every spelling, and nothing else', () => {
    for (const h of ['localhost', '127.0.0.1', '127.9.9.9', '::1', '[::1]', '0:0:0:0:0:0:0:1', '[::ffff:127.0.0.1]', '::ffff:7f00:1']) {
      expect(isLoopback(h), h).toBe(true)
    }
    for (const h of ['10.0.0.1', '::ffff:10.0.0.1', 'localhost.evil.com', '127.0.0.1.nip.io', '::2', 'example.com']) {
      expect(isLoopback(h), h).toBe(false)
    }
  })
})

describe('the one error base', () => {
  it('bounds every message, whatever it is given', () => {
    const err = new TesseraError('bad_request', 'x'.repeat(50_000_000))
    expect(err.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS)
  })

  it('hides anything that is not ours', () => {
    expect(publicError(new Error('share 0123abcd'))).toEqual({ status: 500, code: 'internal', message: 'internal error' })
    expect(publicError(new TesseraError('no_record', 'no such thing'))).toEqual({ status: 404, code: 'no_record', message: 'no such thing' })
  })
})

describe('the one redactor', () => {
  it('masks tokens, hex and base64 runs, keeps words and paths', () => {
    const share = 'a'.repeat(2) + '0123456789abcdef'.repeat(4)
    const line = `PUT /v1/sys/generate-root/update 400 key=${share} token hvs.CAESIabc123xyz456 s.abcdefgh12 b64 ` +
      'kXtqf8Q3p9zL0aB7cD2eF4gH6iJ8kL0mN2oP4qR6sT8= path /home/operator/ceremonies/keyset.json'
    const out = redact(line)
    expect(out).not.toContain(share)
    expect(out).not.toContain('hvs.CAES')
    expect(out).not.toContain('s.abcdefgh12')
    expect(out).not.toContain('kXtqf8Q3p9zL0aB7')
    expect(out).toContain('/home/operator/ceremonies/keyset.json')
    expect(out).toContain('PUT /v1/sys/generate-root/update 400')
  })

  it('is bounded and single-line', () => {
    const out = redact(`a\nb${'z'.repeat(100_000)}`)
    expect(out.length).toBeLessThanOrEqual(400)
    expect(out).not.toContain('\n')
  })

  it('hands the lines of one turn of the event loop to its sink in one write, each redacted on its own', async () => {
    const writes: string[] = []
    const log = redactingLog((lines) => writes.push(lines))
    const token = 'hvs.CAESIabc123xyz456'
    for (let i = 0; i < 50; i++) log(`PUT /v1/sys/generate-root/update 400 ${i}`)
    log(`injected\nline ${token}`)
    expect(writes).toEqual([])
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toHaveLength(1)
    const lines = writes[0]!.split('\n')
    expect(lines).toHaveLength(51)
    expect(lines[0]).toBe('PUT /v1/sys/generate-root/update 400 0')
    expect(lines[49]).toBe('PUT /v1/sys/generate-root/update 400 49')
    // A newline inside a line cannot forge a line of its own.
    expect(lines[50]).toBe('injected line [redacted]')
    log('GET /v1/sys/health 200')
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toEqual([writes[0], 'GET /v1/sys/health 200'])
  })
})

describe('the request target', () => {
  /** What the URL parser makes of a target: the reference every answer is held to. */
  function parsed(raw: string): { pathname: string; search: string } | null {
    try {
      const url = new URL(raw, 'http://localhost')
      return { pathname: url.pathname, search: url.search }
    } catch {
      return null
    }
  }
  const target = (url: string) => requestTarget({ url } as never)

  it("is the URL parser's path and query, for plain paths and for anything else a client sends", () => {
    const segment = fc.string({ unit: fc.constantFrom(...'abcXYZ019_-./%?#\\:@ \t'), maxLength: 12 })
    const path = fc.array(segment, { maxLength: 6 }).map((parts) => `/${parts.join('/')}`)
    fc.assert(
      fc.property(fc.oneof(path, fc.string({ maxLength: 40 }), fc.constantFrom('//a:99999', 'http://a:99999/', 'http://[/', '/v1//sys', '/v1/./sys', '/%2e%2e/', '/v1/sys/generate-root/attempt', '/v1/sys/health/', '/v1/A_b-9', '/v1/sys\\health', '/v1/sys/health?standbyok=true')), (raw) => {
        expect(target(raw)).toEqual(parsed(raw))
      }),
      { seed: 13, numRuns: 1500 },
    )
  })
})

describe('the request log', () => {
  it('masks a secret every time it is logged, however often the same line recurs', async () => {
    const writes: string[] = []
    const log = redactingLog((lines) => writes.push(lines))
    const share = '0123456789abcdef'.repeat(3)
    for (let i = 0; i < 3; i++) {
      log('GET /v1/sys/health 200')
      log(`PUT /v1/sys/generate-root/update 400 ${share}`)
    }
    // More distinct clean lines than are remembered, then the secret again.
    for (let i = 0; i < 300; i++) log(`GET /v1/sys/health ${i}`)
    log(`PUT /v1/sys/generate-root/update 400 ${share}`)
    await new Promise((resolve) => setImmediate(resolve))
    const lines = writes.join('\n').split('\n')
    expect(lines).toHaveLength(307)
    expect(lines.filter((l) => l === 'PUT /v1/sys/generate-root/update 400 [redacted]')).toHaveLength(4)
    expect(lines.filter((l) => l === 'GET /v1/sys/health 200')).toHaveLength(4)
    expect(lines.join('\n')).not.toContain(share)
  })
})

describe('locked read-modify-write', () => {
  it('serializes concurrent changes: none is lost', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-lock-'))
    const file = join(dir, 'counter')
    await writeFile(file, '0')
    try {
      await Promise.all(
        Array.from({ length: 20 }, () =>
          withFileLock(file, async () => {
            const n = Number(await readFile(file, 'utf8'))
            await new Promise((r) => setTimeout(r, 2))
            await writeFile(file, String(n + 1))
          }),
        ),
      )
      expect(await readFile(file, 'utf8')).toBe('20')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
