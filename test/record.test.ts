import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import { build } from 'vite'
import { randomBase62 } from '../src-main/crypto/base62'
import { TesseraError } from '../src-main/support/errors'
import { VERSION } from '../src-main/version'
import { looksSecret } from '../src-main/support/redact'
import { GENESIS, lineHash, MAX_FILE_BYTES, serializeLine } from '../src-main/record/chain'
import { AttemptRecord, keysetFingerprint } from '../src-main/record/attempt-record'
import { oneRecord, recording, RecordingBackend } from '../src-main/record/recording-backend'
import { printRecord } from '../src-main/record/printed'
import { verifyRecord } from '../src-main/record/verify'
import { defaultRecordPath, RecordWriter } from '../src-main/record/writer'
import { runCli } from './helpers/cli'
import { makeKeyset, tempDir } from './helpers/keysets'
import { callApi } from './helpers/server'
import { LocalEngine } from '../src-main/engine/local-engine'
import { decodeWithOtp } from '../src-main/decode/decode'
import { createApiServer } from '../src-main/server/http-api'
import { listen } from '../src-main/server/listen'
import { leaks, secret, type Secret } from './helpers/secret-forms'
import { FACTS, HOLDERS, recordedCeremony, syntheticCeremony } from './helpers/records'

describe('the record writer', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  beforeAll(async () => {
    dir = await tempDir('tessera-record-')
  })
  afterAll(() => dir.cleanup())

  it('writes a chain that verifies, private to its owner, ending with the hash the writer reports', async () => {
    const path = join(dir.dir, 'full.jsonl')
    const t = await syntheticCeremony(path)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const text = await readFile(path, 'utf8')
    const result = verifyRecord(text)
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.lines).toHaveLength(text.split('\n').length - 1)
    expect(result.lines.map((l) => l.type)).toEqual([
      'backend_opened', 'attempt_started',
      'nonce_confirmed', 'share_accepted', 'share_refused', 'nonce_confirmed', 'share_accepted', 'nonce_confirmed', 'share_accepted',
      'completed', 'decoded', 'wiped', 'closed',
    ])
    expect(result.lines[0]!.prev).toBe('0'.repeat(64))
    expect(result.lines[0]!.data).toMatchObject({ tool: 'tessera', version: VERSION, format: 2, backend: 'local', threshold: 3 })
    expect(result.finalHash).toBe(t.finalHash)
    expect(result.finalHash).toBe(lineHash(text.trimEnd().split('\n').at(-1)!))
    expect(result.closed).toBe(true)
    await expect(t.append({ type: 'wiped', data: {} })).rejects.toThrow(/closed/)
  })

  it('names a server by its origin, however random its host name looks, and still guards the rest of an address', async () => {
    const remote = { backend: 'remote' as const, threshold: 3, recovery_mode: false }
    const cloud = 'https://vault-cluster-public-vault-8f3a2b1c.5d6e7f80.z1.hashicorp.cloud:8200'
    const t = await RecordWriter.create(join(dir.dir, 'cloud.jsonl'), { ...remote, server: cloud })
    await t.close()
    expect(JSON.parse((await readFile(join(dir.dir, 'cloud.jsonl'), 'utf8')).split('\n')[0]!).data.server).toBe(cloud)
    const share = randomBytes(33).toString('hex')
    await expect(RecordWriter.create(join(dir.dir, 'path.jsonl'), { ...remote, server: `${cloud}/${share}` })).rejects.toMatchObject({ code: 'record_secret' })
    await expect(stat(join(dir.dir, 'path.jsonl'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('never overwrites a record', async () => {
    const path = join(dir.dir, 'once.jsonl')
    await (await RecordWriter.create(path, FACTS)).close()
    const before = await readFile(path, 'utf8')
    await expect(RecordWriter.create(path, FACTS)).rejects.toMatchObject({ code: 'record_exists' })
    expect(await readFile(path, 'utf8')).toBe(before)
  })

  it('serializes appends made at once, in call order', async () => {
    const path = join(dir.dir, 'concurrent.jsonl')
    const t = await RecordWriter.create(path, FACTS)
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => t.append({ type: 'share_accepted', data: { progress: i % 255, required: 3 } })),
    )
    const result = verifyRecord(await readFile(path, 'utf8'))
    expect(result.ok).toBe(true)
    if (result.ok) expect(result.lines.slice(1).map((l) => (l.data as { progress: number }).progress)).toEqual([...Array(40).keys()])
  })

  it('stops before the size verify reads, and still closes in order: the record it leaves verifies', async () => {
    const path = join(dir.dir, 'full-size.jsonl')
    const t = await RecordWriter.create(path, FACTS)
    // The largest events there are: a keyset of 255 named holders, each share encrypted to a key.
    const name = (i: number) => `Konstantinopoulou Featherstonehaugh Maximiliana of Wessex ${String(i).padStart(3, '0')}`
    const big = {
      type: 'keyset_created' as const,
      data: {
        keyset_fingerprint: lineHash('k'), scheme: 'vault' as const, shares: 255, threshold: 2,
        holders: Array.from({ length: 255 }, (_, i) => name(i)),
        encrypted_to: Array.from({ length: 255 }, (_, i) => ({ share_number: i + 1, fingerprint: lineHash(String(i)) })),
      },
    }
    let err: unknown
    for (let i = 0; i < 1000 && !err; i++) err = await t.append(big).then(() => undefined, (e) => e)
    expect(err).toMatchObject({ code: 'record_full' })
    expect((err as Error).message).toMatch(/^the record is full \(16 MiB, the most tessera record verify reads\)/)
    // What room is left takes small events, up to the room kept for the ending.
    let small: unknown
    for (let i = 0; i < 1000 && !small; i++) small = await t.append({ type: 'share_accepted', data: { progress: 1, required: 2 } }).then(() => undefined, (e) => e)
    expect(small).toMatchObject({ code: 'record_full' })
    await t.append({ type: 'wiped', data: {} })
    const hash = await t.close()
    expect((await stat(path)).size).toBeLessThanOrEqual(MAX_FILE_BYTES)
    expect(verifyRecord(await readFile(path, 'utf8'))).toMatchObject({ ok: true, closed: true, finalHash: hash })
    expect((await runCli(['record', 'verify', path])).code).toBe(0)
  }, 120_000)

  it('names the default file by date and nonce under the data directory', () => {
    const nonce = randomUUID()
    expect(defaultRecordPath('/cfg/records', nonce, new Date('2026-11-25T10:00:00Z'))).toBe(`/cfg/records/2026-11-25-${nonce}.jsonl`)
    expect(defaultRecordPath('/cfg/records', 'init-0a1b2c3d4e5f6789', new Date('2026-11-25T10:00:00Z'))).toBe('/cfg/records/2026-11-25-init-0a1b2c3d4e5f6789.jsonl')
    // A server's nonce names the file too, never a path out of the directory.
    expect(defaultRecordPath('/cfg/records', '../../etc/passwd', new Date('2026-11-25T10:00:00Z'))).toBe('/cfg/records/2026-11-25-.._.._etc_passwd.jsonl')
    expect(() => defaultRecordPath('/cfg/records', 'two words')).toThrow(TesseraError)
  })
})

/** A chain of lines written by hand, as an older writer (or a forger) would write them. */
function handChain(events: Array<{ type: string; data: unknown }>): string {
  let prev = GENESIS
  const lines = events.map((e, seq) => {
    const text = serializeLine({ seq, time: '2026-11-25T10:00:00.000Z', type: e.type as never, data: e.data as never, prev })
    prev = lineHash(text)
    return text
  })
  return `${lines.join('\n')}\n`
}

describe('format 2: the first line is backend_opened', () => {
  const nonce = randomUUID()
  const started = { type: 'attempt_started', data: { flow: 'root', nonce, protection: { kind: 'otp', length: 28 }, required: 3 } }
  const opened = { type: 'backend_opened', data: { tool: 'tessera', version: VERSION, format: 2, ...FACTS } }
  const fail = (text: string) => {
    const r = verifyRecord(text)
    if (r.ok) throw new Error('verified')
    return r.problem
  }

  it('refuses a file that starts anywhere else, or opens twice', () => {
    expect(fail(handChain([started, { type: 'closed', data: {} }]))).toBe('line 1: not where a record starts (its first line is backend_opened)')
    expect(fail(handChain([opened, started, opened]))).toBe("line 3: a second backend_opened (only a record's first line is one)")
    expect(fail(handChain([opened, { type: 'header', data: { format: 1, tool: 'tessera', version: '0.1.0' } }]))).toBe("line 2: a second header (only a record's first line is one)")
    // The first line names the tool: without it, it is not a format-2 opening.
    const { tool: _tool, version: _version, format: _format, ...bare } = opened.data
    expect(fail(handChain([{ type: 'backend_opened', data: bare }]))).toMatch(/^line 1: changed or damaged \(not a valid backend_opened event: data\.tool: /)
  })

  it('lets only the writer write the first and the closing line', async () => {
    const dir = await tempDir('tessera-record-opening-')
    const t = await RecordWriter.create(join(dir.dir, 't.jsonl'), FACTS)
    for (const event of [opened, { type: 'closed', data: {} }]) {
      await expect(t.append(event as never)).rejects.toMatchObject({ code: 'record_event', message: `refused to record a ${event.type} event: only the record itself writes it` })
    }
    expect(verifyRecord(await readFile(t.path, 'utf8'))).toMatchObject({ ok: true, format: 2 })
    await t.close()
    await dir.cleanup()
  })

  it('still verifies a format-1 file (a header line first) and says which format it is', async () => {
    const old = handChain([
      { type: 'header', data: { format: 1, tool: 'tessera', version: '0.1.0' } },
      { type: 'backend_opened', data: FACTS },
      started,
      { type: 'cancelled', data: { flow: 'root' } },
      { type: 'closed', data: {} },
    ])
    const r = verifyRecord(old)
    expect(r).toMatchObject({ ok: true, format: 1, closed: true })
    // Its printed form names the tool from the header.
    const printed = r.ok ? printRecord(r.lines, r.finalHash) : ''
    expect(printed).toContain('Tessera 0.1.0, record format 1')
    expect(printed).toMatch(/Recorded by<\/th><td[^>]*>Tessera 0\.1\.0/)
    // In format 1 the tool's fields belong to the header, not to backend_opened.
    expect(fail(old.replace('"data":{"backend"', '"data":{"tool":"tessera","backend"'))).toMatch(/^line 2: changed or damaged/)
    const dir = await tempDir('tessera-record-format1-')
    const file = join(dir.dir, 'old.jsonl')
    await writeFile(file, old)
    const cli = await runCli(['record', 'verify', file])
    expect(cli.code, cli.stderr).toBe(0)
    expect(cli.stdout).toBe(
      `5 events, final hash ${r.ok ? r.finalHash : ''}\nnote: format 1 (a header line before backend_opened, written by Tessera before format 2); its chain is checked the same way\n`,
    )
    await dir.cleanup()
  })
})

describe('the secret guard', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let t: RecordWriter
  let path: string
  beforeAll(async () => {
    dir = await tempDir('tessera-record-guard-')
    path = join(dir.dir, 'guard.jsonl')
    t = await RecordWriter.create(path, FACTS)
  })
  afterAll(() => dir.cleanup())

  const share = randomBytes(33)
  const cases: Array<[string, string]> = [
    ['a share in hex', share.toString('hex')],
    ['a share in base64', share.toString('base64')],
    ['a Vault token', `hvs.${randomBase62(24).toString('ascii')}`],
    ['an older Vault token', `s.${randomBase62(24).toString('ascii')}`],
    ['an OTP', randomBase62(28).toString('ascii')],
    ['a legacy OTP', randomBytes(16).toString('base64')],
    ['a share pasted after a name', `Alice ${share.toString('base64')}`],
  ]
  it.each(cases)('refuses %s where a name goes, and writes nothing', async (_label, value) => {
    const before = await readFile(path, 'utf8')
    const err = await t.append({ type: 'nonce_confirmed', data: { holder: value.slice(0, 80), nonce: randomUUID() } }).catch((e) => e)
    expect(err).toBeInstanceOf(TesseraError)
    expect(err.code).toBe('record_secret')
    expect(err.message).toBe('refused to record a nonce_confirmed event: data.holder looks like a secret')
    expect(err.message).not.toContain(value.slice(0, 12))
    expect(await readFile(path, 'utf8')).toBe(before)
  })

  it.each(cases)('refuses %s among the holders of a keyset created, naming the place', async (_label, value) => {
    const before = await readFile(path, 'utf8')
    const data = { keyset_fingerprint: lineHash('k'), scheme: 'vault' as const, shares: 2, threshold: 2, holders: ['Alice', value.slice(0, 80)] }
    const err = await t.append({ type: 'keyset_created', data }).catch((e) => e)
    expect(err).toMatchObject({ code: 'record_secret', message: 'refused to record a keyset_created event: data.holders.1 looks like a secret' })
    expect(await readFile(path, 'utf8')).toBe(before)
  })

  it('refuses a field the event type does not have, naming it and not its value', async () => {
    const before = await readFile(path, 'utf8')
    const event = { type: 'share_accepted', data: { progress: 1, required: 3, key: 'abc' } }
    const err = await t.append(event as never).catch((e) => e)
    expect(err).toMatchObject({ code: 'record_event', message: 'refused to record a share_accepted event: data: unexpected field' })
    const hash = await t.append({ type: 'share_refused', data: { holder: 'Dana', reason: 'wrong_nonce' } })
    expect(verifyRecord(await readFile(path, 'utf8'))).toMatchObject({ ok: true, finalHash: hash })
    expect((await readFile(path, 'utf8')).startsWith(before)).toBe(true)
  })

  it('lets names through, and no random OTP or share', () => {
    for (const name of HOLDERS.concat(['Jean-Pierre MacDonald-Featherstonehaugh', 'Operator 2', 'María José García-Fernández', 'https://vault.example.com:8200'])) {
      expect(looksSecret(name), name).toBe(false)
    }
    // A random run with no digit and almost no change of case passes for a word
    // (see randomLooking): about 7 in a million of the shortest, a legacy 16-byte
    // OTP. These 30,000 samples expect about 0.1 such misses; three (a chance of
    // about 1 in 10,000) mean the guard broke.
    const missed: string[] = []
    for (let i = 0; i < 10_000; i++) {
      for (const sample of [randomBase62(24).toString('ascii'), randomBytes(18).toString('base64'), randomBytes(16).toString('base64')]) {
        if (!looksSecret(sample)) missed.push(sample)
      }
    }
    expect(missed.length, missed.join(' ')).toBeLessThanOrEqual(2)
  })
})

describe('verifying a tampered record', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let lines: string[]
  beforeAll(async () => {
    dir = await tempDir('tessera-record-tamper-')
    const path = join(dir.dir, 't.jsonl')
    await syntheticCeremony(path)
    lines = (await readFile(path, 'utf8')).trimEnd().split('\n')
  })
  afterAll(() => dir.cleanup())

  const file = (ls: string[]) => `${ls.join('\n')}\n`
  const problem = (text: string) => {
    const r = verifyRecord(text)
    if (r.ok) throw new Error('verified')
    return r
  }

  it('names a changed line: the one whose hash the next line no longer holds', () => {
    const edited = [...lines]
    edited[4] = edited[4]!.replace('Alice Martin', 'Mallory Ames')
    const r = problem(file(edited))
    expect(r.problem).toBe("line 5: changed (its hash does not match line 6's prev)")
    expect(r.prefix.lines).toHaveLength(4)
  })

  it('names a changed prev field', () => {
    const edited = [...lines]
    edited[6] = edited[6]!.replace(/"prev":"[0-9a-f]{64}"/, `"prev":"${'ab'.repeat(32)}"`)
    expect(problem(file(edited)).problem).toBe("line 7: changed (its prev does not match line 6, and line 8's prev does not match it)")
  })

  it('names a deleted line', () => {
    const cut = lines.filter((_, i) => i !== 5)
    expect(problem(file(cut)).problem).toBe('line 6: a line is missing before it (seq 6 follows seq 4; no line has seq 5)')
  })

  it('names swapped lines', () => {
    const swapped = [...lines]
    ;[swapped[7], swapped[8]] = [swapped[8]!, swapped[7]!]
    expect(problem(file(swapped)).problem).toBe('line 8: reordered (seq 8 follows seq 6; seq 7 is on line 9)')
  })

  it('names a line cut off mid-write, and keeps the valid prefix before it', () => {
    const text = file(lines)
    const end = text.length - 30
    const r = problem(text.slice(0, end))
    expect(r.problem).toMatch(new RegExp(`^line ${lines.length}: cut off \\(the file ends inside it\\)\\. Lines 1–${lines.length - 1} are a valid chain`))
    expect(r.prefix.lines).toHaveLength(lines.length - 1)
    expect(r.prefix.finalHash).toBe(lineHash(lines.at(-2)!))
  })

  it('names a forged line appended after the closing line, even with a correct prev', () => {
    const forged = JSON.stringify({ seq: lines.length, time: new Date().toISOString(), type: 'wiped', data: {}, prev: lineHash(lines.at(-1)!) })
    expect(problem(file([...lines, forged])).problem).toBe(`line ${lines.length + 1}: not in the chain (it follows the closing line)`)
  })

  it('names a forged line appended to an open record with a made-up prev', () => {
    const open = lines.slice(0, -1)
    const forged = JSON.stringify({ seq: open.length, time: new Date().toISOString(), type: 'cancelled', data: { flow: 'root' }, prev: createHash('sha256').update('x').digest('hex') })
    expect(problem(file([...open, forged])).problem).toBe(
      `line ${open.length + 1}: not in the chain (its prev is not the hash of line ${open.length}): it was added, or line ${open.length} was changed`,
    )
  })

  it('names a line that is not JSON, or not an event of its type, without quoting it', () => {
    const broken = [...lines]
    broken[2] = broken[2]!.slice(0, -3)
    expect(problem(file(broken)).problem).toBe('line 3: changed or damaged (not valid JSON)')
    const smuggled = [...lines]
    smuggled[2] = smuggled[2]!.replace('"data":{', '"data":{"share":"c2VjcmV0",')
    expect(problem(file(smuggled)).problem).toMatch(/^line 3: changed or damaged \(not a valid nonce_confirmed event: /)
    expect(problem(file(smuggled)).problem).not.toContain('c2VjcmV0')
  })

  it('names the line and the problem of an unknown field or event type, never its name as found in the file', () => {
    const field = [...lines]
    field[2] = field[2]!.replace('"data":{', '"data":{"hvs_K7pQ2xZ9wL":1,')
    expect(problem(file(field)).problem).toBe('line 3: changed or damaged (not a valid nonce_confirmed event: data: unexpected field)')
    const top = [...lines]
    top[2] = top[2]!.replace('{"seq"', '{"Zq7_note":1,"seq"')
    expect(problem(file(top)).problem).toBe('line 3: changed or damaged (line: unexpected field)')
    const type = [...lines]
    type[2] = type[2]!.replace('"type":"nonce_confirmed"', '"type":"Xk9_forged"')
    expect(problem(file(type)).problem).toMatch(/^line 3: changed or damaged \(not an event type Tessera writes: /)
    for (const name of ['hvs_K7pQ2xZ9wL', 'Zq7_note', 'Xk9_forged']) {
      for (const edited of [field, top, type]) expect(problem(file(edited)).problem).not.toContain(name)
    }
  })

  it('names the very line of any one changed character before the last line, and never throws on any input', () => {
    const text = file(lines)
    const lastLineStart = text.lastIndexOf('\n', text.length - 2) + 1
    fc.assert(
      fc.property(fc.nat({ max: lastLineStart - 1 }), fc.integer({ min: 32, max: 126 }), (at, code) => {
        fc.pre(text.charCodeAt(at) !== code && text[at] !== '\n')
        const r = verifyRecord(text.slice(0, at) + String.fromCharCode(code) + text.slice(at + 1))
        const edited = text.slice(0, at).split('\n').length
        if (r.ok) return false
        // Only the last line's prev can say "changed" of the line before it: the chain
        // cannot tell that from an added last line, so the message names both.
        return r.line === edited || (edited === lines.length - 1 && r.problem.endsWith(`it was added, or line ${edited} was changed`))
      }),
      { numRuns: 400 },
    )
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom(...lines)), { maxLength: 20 }), (ls) => {
        const r = verifyRecord(ls.join('\n'))
        return r.ok ? r.lines.length > 0 : /^line \d+: /.test(r.problem)
      }),
      { numRuns: 300 },
    )
  })

  it('refuses oversized input before reading it line by line', () => {
    expect(() => verifyRecord('x'.repeat(16 * 1024 * 1024 + 1))).toThrow(/larger than 16 MiB/)
    const long = [...lines]
    long[1] = 'x'.repeat(70_000)
    expect(problem(file(long)).problem).toBe('line 2: longer than 64 KiB; no event is')
  })
})

describe('a real ceremony against the local engine', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const secrets: Secret[] = []
  let recordText = ''
  let resultSha = ''

  beforeAll(async () => {
    dir = await tempDir('tessera-record-real-')
    const keysetPath = join(dir.dir, 'keyset.json')
    const init = await runCli(['init', '--keyset', keysetPath, '--shares', '5', '--threshold', '3', '--format', 'json'])
    expect(init.code, init.stderr).toBe(0)
    const out = JSON.parse(init.stdout) as { keys: string[]; keys_base64: string[]; root_token: string }
    out.keys.forEach((k, i) => secrets.push(secret(`share ${i + 1}`, k), secret(`share ${i + 1} b64`, out.keys_base64[i]!)))
    secrets.push(secret('initial root token', out.root_token))
    const foreign = await runCli(['init', '--keyset', join(dir.dir, 'foreign.json'), '--shares', '3', '--threshold', '2', '--format', 'json'])
    const foreignKeys = (JSON.parse(foreign.stdout) as { keys: string[] }).keys
    secrets.push(...foreignKeys.map((k, i) => secret(`foreign share ${i + 1}`, k)))

    const done = await recordedCeremony({ keysetPath, keys: out.keys, foreignKeys, path: join(dir.dir, 'ceremony.jsonl') })
    secrets.push(...done.secrets)
    resultSha = done.resultSha
    recordText = done.text
  })
  afterAll(() => dir.cleanup())

  it('verifies, with every event the ceremony went through', () => {
    const r = verifyRecord(recordText)
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.closed).toBe(true)
    const summary = r.lines.map((l) => `${l.type}${'holder' in l.data ? ` ${l.data.holder}` : ''}${'reason' in l.data ? ` ${l.data.reason}` : ''}`)
    expect(summary).toEqual([
      'backend_opened', 'attempt_started',
      'nonce_confirmed Alice Martin', 'share_accepted Alice Martin', 'share_refused Alice Martin duplicate_key',
      'nonce_confirmed Bob Okafor', 'share_accepted Bob Okafor',
      'nonce_confirmed Eve Intruder', 'share_refused Eve Intruder share_unknown',
      'nonce_confirmed Chloé Dubois', 'share_accepted Chloé Dubois',
      'completed', 'decoded', 'wiped', 'closed',
    ])
    expect(r.lines.find((l) => l.type === 'progress_reset')).toBeUndefined()
    expect(r.lines.filter((l) => l.type === 'share_accepted').map((l) => (l.data as { share_number?: number }).share_number)).toEqual([1, 2, 3])
    expect(r.lines.find((l) => l.type === 'completed')?.data).toMatchObject({ result_sha256: resultSha })
  })

  it('holds no share, OTP or token in any spelling', () => {
    expect(secrets.length).toBeGreaterThan(10)
    expect(leaks(secrets, [{ name: 'record', content: recordText }])).toEqual([])
  })
})

describe('what the record leaves out', () => {
  it('records no update or cancel made with no attempt running, and counts a run of refusals past the first few', async () => {
    const dir = await tempDir('tessera-record-noise-')
    try {
      const ks = await makeKeyset(dir.dir, { shares: 3, threshold: 2 })
      const engine = await LocalEngine.open(ks.path)
      const record = await AttemptRecord.open(join(dir.dir, 'noise.jsonl'), engine, FACTS)
      const recorded = new RecordingBackend(engine, oneRecord(record))
      const update = (key: string, nonce: string) => recorded.update('root', { key: Buffer.from(key), nonce, holder: 'Dana' })
      await expect(update(ks.keys[0]!, randomUUID())).rejects.toMatchObject({ code: 'no_attempt' })
      await recorded.cancel('root')
      const { status } = await recorded.start('root', {})
      for (let i = 0; i < 5; i++) await expect(update(ks.keys[0]!, randomUUID())).rejects.toMatchObject({ code: 'wrong_nonce' })
      await update(ks.keys[0]!, status.nonce)
      for (let i = 0; i < 4; i++) await expect(update(ks.keys[0]!, status.nonce)).rejects.toMatchObject({ code: 'duplicate_key' })
      await recorded.cancel('root')
      await recorded.cancel('root')
      for (let i = 0; i < 4; i++) await expect(update(ks.keys[1]!, status.nonce)).rejects.toMatchObject({ code: 'no_attempt' })
      await record.close()
      const r = verifyRecord(await readFile(record.writer.path, 'utf8'))
      if (!r.ok) throw new Error(r.problem)
      expect(r.lines.map((l) => l.type)).toEqual([
        'backend_opened', 'attempt_started',
        'share_refused', 'share_refused', 'share_refused', 'refusals_summarized', 'share_accepted',
        'share_refused', 'share_refused', 'share_refused', 'refusals_summarized', 'cancelled', 'closed',
      ])
      expect(r.lines[5]!.data).toEqual({ counts: [{ reason: 'wrong_nonce', count: 2 }] })
      expect(r.lines[10]!.data).toEqual({ counts: [{ reason: 'duplicate_key', count: 1 }] })
      await engine.close()
    } finally {
      await dir.cleanup()
    }
  })
})

describe('Vault\'s HTTP API over a recorded engine', () => {
  it('records an API-driven ceremony, answers exactly as before, and keeps no secret', async () => {
    const dir = await tempDir('tessera-record-api-')
    const ks = await makeKeyset(dir.dir)
    const engine = await LocalEngine.open(ks.path)
    const record = await AttemptRecord.open(join(dir.dir, 'api.jsonl'), engine, {
      backend: 'local', keyset_fingerprint: keysetFingerprint(await readFile(ks.path, 'utf8')), threshold: 3, shares: 5, recovery_mode: false,
    })
    const server = createApiServer(recording(engine, record))
    const { port } = await listen(server, '127.0.0.1', 0)
    const call = (method: string, path: string, body?: unknown) => callApi(`http://127.0.0.1:${port}`, method, path, body)
    try {
      const start = await call('PUT', 'sys/generate-root/attempt', {})
      expect(start.status).toBe(200)
      const { otp, nonce } = start.json as { otp: string; nonce: string }
      expect((await call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce })).json.progress).toBe(1)
      const dup = await call('PUT', 'sys/generate-root/update', { key: ks.keys[0], nonce })
      expect(dup.status).toBe(400)
      expect(dup.json.errors[0]).toBe('given key has already been provided during this generation operation')
      await call('PUT', 'sys/generate-root/update', { key: ks.keys[1], nonce })
      const done = await call('PUT', 'sys/generate-root/update', { key: ks.keys[2], nonce })
      expect(done.json.complete).toBe(true)
      const token = decodeWithOtp(done.json.encoded_token, Buffer.from(otp)).value.toString()
      expect((await engine.lookupToken(token))?.type).toBe('root')
      await call('PUT', 'sys/generate-root/attempt', {})
      expect((await call('DELETE', 'sys/generate-root/attempt')).status).toBe(204)
      await record.writer.close()

      const text = await readFile(record.writer.path, 'utf8')
      const r = verifyRecord(text)
      if (!r.ok) throw new Error(r.problem)
      expect(r.lines.map((l) => l.type)).toEqual([
        'backend_opened', 'attempt_started', 'share_accepted', 'share_refused', 'share_accepted', 'share_accepted', 'completed',
        'attempt_started', 'cancelled', 'closed',
      ])
      expect(r.lines[7]!.data).toMatchObject({ flow: 'root', protection: { kind: 'otp', length: 28 } })
      expect(r.lines[3]!.data).toEqual({ share_number: 1, reason: 'duplicate_key', progress: 1 })
      expect(r.lines[6]!.data).toEqual({ flow: 'root', nonce, result_sha256: createHash('sha256').update(done.json.encoded_token).digest('hex') })
      const secrets = [
        ...ks.keys.map((k, i) => secret(`share ${i + 1}`, k)),
        secret('otp', otp), secret('encoded token', done.json.encoded_token), secret('new root token', token), secret('initial root token', ks.rootToken),
      ]
      expect(leaks(secrets, [{ name: 'record', content: text }])).toEqual([])
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await dir.cleanup()
    }
  })
})

/** Bundles a small script that uses the real writer into one file plain Node runs. */
async function bundleChild(dir: string, body: string): Promise<string> {
  const entry = join(dir, 'child.ts')
  await writeFile(entry, `import { RecordWriter } from ${JSON.stringify(join(import.meta.dirname, '../src-main/record/writer'))}\n${body}`)
  await build({
    logLevel: 'silent',
    configFile: false,
    ssr: { noExternal: true },
    build: { ssr: entry, outDir: join(dir, 'out'), write: true, rollupOptions: { output: { format: 'es', entryFileNames: 'child.mjs' } } },
  })
  return join(dir, 'out', 'child.mjs')
}

describe('a process killed mid-ceremony', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  beforeAll(async () => {
    dir = await tempDir('tessera-record-kill-')
  })
  afterAll(() => dir.cleanup())

  it('leaves a record that verifies up to the last append it reported', async () => {
    const script = await bundleChild(
      dir.dir,
      `const t = await RecordWriter.create(process.argv[2], { backend: 'remote', threshold: 3, recovery_mode: false })
for (let i = 0; ; i++) {
  await t.append({ type: 'share_accepted', data: { holder: 'Holder ' + (i % 9), progress: i % 255, required: 255 } })
  process.stdout.write('appended ' + (i + 1) + '\\n')
}
`,
    )
    const path = join(dir.dir, 'killed.jsonl')
    const child = spawn(process.execPath, [script, path])
    let reported = 0
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const counts = [...d.toString().matchAll(/appended (\d+)/g)].map((m) => Number(m[1]))
        if (counts.length) reported = counts.at(-1)!
        if (reported >= 50) child.kill('SIGKILL')
      })
      child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited without SIGKILL (${signal})`))))
    })
    const text = await readFile(path, 'utf8')
    const r = verifyRecord(text)
    // SIGKILL lands between or during appends: a valid chain, or a valid prefix and a cut-off last line.
    const chain = r.ok ? r : r.prefix
    if (!r.ok) expect(r.problem).toMatch(/cut off/)
    expect(chain.closed).toBe(false)
    expect(chain.lines.length - 1).toBeGreaterThanOrEqual(reported)
  })

  it('turns a failed write into a sentence, and refuses every append after it', async () => {
    const sub = await tempDir('tessera-record-full-')
    const script = await bundleChild(
      sub.dir,
      `const t = await RecordWriter.create(process.argv[2], { backend: 'remote', threshold: 3, recovery_mode: false })
const said = []
for (let i = 0; i < 100 && said.length < 2; i++) {
  try {
    await t.append({ type: 'share_accepted', data: { holder: 'Holder ' + i, progress: i % 255, required: 255 } })
  } catch (err) {
    said.push(err.constructor.name + ' ' + err.code + ': ' + err.message)
  }
}
process.stdout.write(JSON.stringify(said))
`,
    )
    const path = join(sub.dir, 'full.jsonl')
    // A 1 KiB file size limit stands in for a full disk: the write that crosses it fails part-way.
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('bash', ['-c', 'ulimit -f 1 && exec "$0" "$@"', process.execPath, script, path])
      let text = ''
      child.stdout.on('data', (d) => (text += d))
      child.on('error', reject)
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`child exited ${code}`))))
    })
    const said = JSON.parse(out) as string[]
    expect(said).toEqual([
      'TesseraError record_write: could not write the record: file too large',
      'TesseraError record_write: could not write the record: file too large',
    ])
    const r = verifyRecord(await readFile(path, 'utf8'))
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.problem).toMatch(/cut off/)
      expect(r.prefix.lines.length).toBeGreaterThan(3)
    }
    await sub.cleanup()
  })
})
