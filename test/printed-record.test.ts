import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { access, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { chromium, type Browser } from 'playwright-core'
import { groupHash, lineHash } from '../src-main/record/chain'
import { printRecord } from '../src-main/record/printed'
import { verifyRecord, type VerifiedLine } from '../src-main/record/verify'
import { RecordWriter } from '../src-main/record/writer'
import { keysetFingerprint } from '../src-main/record/attempt-record'
import { createRouter } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'
import { ipcCalls } from './helpers/ipc'
import { runCli } from './helpers/cli'
import { makeKeyset, tempDir } from './helpers/keysets'
import { leaks, secret, type Secret } from './helpers/secret-forms'
import { FACTS, HOLDERS, recordedCeremony, syntheticCeremony } from './helpers/records'

const run = promisify(execFile)
/** Debian's Chromium, launched as TOOLCHAIN.md says. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync']

/** Letters and digits only: pdftotext wraps and spaces text as the layout falls. */
const squash = (text: string) => text.replace(/[^A-Za-z0-9]/g, '')

describe('the printed ceremony record', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let browser: Browser
  let lines: VerifiedLine[]
  let finalHash: string
  let html: string
  const secrets: Secret[] = []

  beforeAll(async () => {
    dir = await tempDir('tessera-printed-')
    const keyset = await makeKeyset(dir.dir)
    const foreign = await makeKeyset(dir.dir, { shares: 3, threshold: 2 })
    keyset.keys.forEach((k, i) => secrets.push(secret(`share ${i + 1}`, k), secret(`share ${i + 1} b64`, keyset.keys_base64[i]!)))
    secrets.push(secret('root token', keyset.rootToken), ...foreign.keys.map((k, i) => secret(`foreign share ${i + 1}`, k)))
    const done = await recordedCeremony({ keysetPath: keyset.path, keys: keyset.keys, foreignKeys: foreign.keys, path: join(dir.dir, 'c.jsonl') })
    secrets.push(...done.secrets)
    const r = verifyRecord(done.text)
    if (!r.ok) throw new Error(r.problem)
    ;({ lines, finalHash } = r)
    html = printRecord(lines, finalHash)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  })
  afterAll(async () => {
    await browser?.close()
    await dir.cleanup()
  })

  it('is one self-contained page: no script, no remote content, every text escaped', async () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|src=|url\(|@import/i)
    expect(html).toContain("content=\"default-src 'none'; style-src 'unsafe-inline'\"")
    // A server's address is the one text a record takes that may hold markup.
    const t = await RecordWriter.create(join(dir.dir, 'escape.jsonl'), { backend: 'remote', server: `Zoë <b onmouseover="x">O'Brien</b> & Co`, threshold: 3, recovery_mode: false })
    const r = verifyRecord(await readFile(t.path, 'utf8'))
    if (!r.ok) throw new Error(r.problem)
    const page = printRecord(r.lines, r.finalHash)
    expect(page).toContain('Zoë &lt;b onmouseover=&quot;x&quot;&gt;O&#39;Brien&lt;/b&gt; &amp; Co')
    expect(page).not.toContain('<b onmouseover')
  })

  it('states a remote ceremony\'s server, its PGP key and its cancel', async () => {
    const t = await RecordWriter.create(join(dir.dir, 'remote.jsonl'), { backend: 'remote', server: 'https://vault.example.com:8200', server_version: '1.17.2', threshold: 3, recovery_mode: false })
    const nonce = '0d9b8a7c-6e5f-4a3b-9c1d-2e3f4a5b6c7d'
    await t.append({ type: 'attempt_started', data: { flow: 'recovery', nonce, protection: { kind: 'pgp', fingerprint: 'c0ffee'.repeat(6) + 'abcd' }, required: 3 } })
    await t.append({ type: 'share_refused', data: { holder: 'Dana Kim', reason: 'wrong_nonce' } })
    await t.append({ type: 'cancelled', data: { flow: 'recovery' } })
    await t.append({ type: 'attempt_started', data: { flow: 'share', nonce, protection: { kind: 'none' }, required: 3 } })
    await t.close()
    const r = verifyRecord(await readFile(t.path, 'utf8'))
    if (!r.ok) throw new Error(r.problem)
    const page = printRecord(r.lines, r.finalHash)
    for (const fact of ['https://vault.example.com:8200 (version 1.17.2)', 'Recovery token', 'PGP key C0FF EEC0 FFEE', 'Dana Kim', 'refused (wrong_nonce)', 'Recovery token attempt cancelled', 'none: the result is the new share itself', groupHash(r.finalHash)]) {
      expect(page).toContain(fact)
    }
  })

  for (const format of ['A4', 'Letter'] as const) {
    it(`prints on ${format}: the final hash, the holders, every event, and nothing secret`, async () => {
      const page = await browser.newPage()
      await page.setContent(html)
      const pdfPath = join(dir.dir, `record-${format}.pdf`)
      await page.pdf({ path: pdfPath, format, printBackground: true })
      await page.close()
      const { stdout: info } = await run('pdfinfo', [pdfPath])
      const [w, h] = format === 'A4' ? [595, 842] : [612, 792]
      expect(info).toMatch(new RegExp(`Page size:\\s+${w}(\\.\\d+)? x ${h}(\\.\\d+)? pts`))
      const { stdout: text } = await run('pdftotext', ['-layout', pdfPath, '-'])
      expect(squash(text)).toContain(finalHash)
      expect(text).toContain(groupHash(finalHash).slice(0, 19))
      for (const name of [...HOLDERS, 'Eve Intruder']) expect(text).toContain(name)
      // Who supplied which share, by the keyset's numbers: Alice gave share 1 (and repeated it), Chloé share 3.
      expect(text).toMatch(/Alice Martin\s+1\s+1 accepted, 1 refused/)
      expect(text).toMatch(/Chloé Dubois\s+3\s+1 accepted/)
      for (const type of new Set(lines.map((l) => l.type))) expect(text).toContain(type)
      const completed = lines.find((l) => l.type === 'completed')!.data as { result_sha256: string; nonce: string }
      expect(squash(text)).toContain(completed.result_sha256)
      expect(text).toContain(completed.nonce)
      for (const label of ['Ceremony lead', 'Witness', 'Signature', 'Root token', 'Keyset fingerprint']) expect(text).toContain(label)
      expect(leaks(secrets, [{ name: `${format} PDF text`, content: text }, { name: 'printed HTML', content: html }])).toEqual([])
      // The page's content fits the paper's width: nothing is cut at the right edge.
      const widthPx = ((format === 'A4' ? 210 : 215.9) - 28) * (96 / 25.4)
      const fit = await browser.newPage({ viewport: { width: Math.floor(widthPx), height: 1000 } })
      await fit.emulateMedia({ media: 'print' })
      await fit.setContent(html)
      expect(await fit.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(Math.floor(widthPx))
      await fit.close()
      if (format === 'A4') {
        await run('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '1', pdfPath, join(dir.dir, 'page')])
        await access(join(dir.dir, 'page-1.png'))
      }
    })
  }
})

describe('the printed record of an init ceremony', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let browser: Browser
  beforeAll(async () => {
    dir = await tempDir('tessera-printed-init-')
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  })
  afterAll(async () => {
    await browser?.close()
    await dir.cleanup()
  })

  it('prints the keyset created, who got which share and how, the share never handed out, the final hash, and nothing secret', async () => {
    const { call } = ipcCalls(() => dispatch)
    const dispatch = createRouter(handlersFor(new Session({ configDir: join(dir.dir, 'config') })))
    const keyset = join(dir.dir, 'init.json')
    await call('backend.initKeyset', { path: keyset, shares: 3, threshold: 2, holders: HOLDERS })
    const alice = await call('handout.revealShare', { index: 0 })
    const card = await call('handout.shareCard', { index: 1 })
    await call('handout.cardPrinted', { index: 1 })
    const token = await call('handout.revealRootToken')
    await call('handout.finish', { abandon: true })
    const { html, finalHash, verified } = await call('record.printable')
    expect(verified).toBe(true)

    const page = await browser.newPage()
    await page.setContent(html)
    const pdfPath = join(dir.dir, 'init-record.pdf')
    await page.pdf({ path: pdfPath, format: 'A4', printBackground: true })
    await page.close()
    const { stdout: text } = await run('pdftotext', ['-layout', pdfPath, '-'])
    expect(squash(text)).toContain(finalHash)
    expect(text).toContain(groupHash(finalHash).slice(0, 19))
    expect(text).toContain('Keyset created')
    expect(squash(text)).toContain(squash(groupHash(keysetFingerprint(await readFile(keyset, 'utf8')))))
    expect(text).toMatch(/Alice Martin\s+1\s+shown on screen/)
    expect(squash(text)).toContain(squash('Bob Okafor 2 shown on screen as a share card, printed on a share card'))
    expect(text).toMatch(/Chloé Dubois\s+3\s+never handed out/)
    expect(text).toMatch(/Initial root token\s+shown on screen/)
    expect(squash(text)).toContain(squash('Hand-out ended'))
    expect(squash(text)).toContain(squash('UTC, the operator confirmed; share 3 never handed out'))
    for (const type of ['backend_opened', 'keyset_created', 'share_handed_out', 'root_token_revealed', 'init_abandoned', 'wiped', 'closed']) expect(text).toContain(type)
    const bob = card.lines.map((l: string) => l.slice(4, -6).replace(/ /g, '')).join('')
    const secrets = [secret('share 1', alice.key), secret('share 2', bob), secret('root token', token.value)]
    expect(leaks(secrets, [{ name: 'PDF text', content: text }, { name: 'printed HTML', content: html }])).toEqual([])
  })
})

describe('tessera record', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let good: string
  let broken: string
  let finalHash: string
  let lineCount: number

  beforeAll(async () => {
    dir = await tempDir('tessera-record-cli-')
    good = join(dir.dir, 'good.jsonl')
    finalHash = (await syntheticCeremony(good)).finalHash
    const lines = (await readFile(good, 'utf8')).trimEnd().split('\n')
    lineCount = lines.length
    ;[lines[7], lines[8]] = [lines[8]!, lines[7]!]
    broken = join(dir.dir, 'broken.jsonl')
    await writeFile(broken, `${lines.join('\n')}\n`)
  })
  afterAll(() => dir.cleanup())

  it('verify prints the number of events and the final hash', async () => {
    const r = await runCli(['record', 'verify', good])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`${lineCount} events, final hash ${finalHash}\n`)
  })

  it('answers to its old name, tessera transcript verify|report, named once in --help', async () => {
    expect(await runCli(['transcript', 'verify', good])).toMatchObject({ code: 0, stdout: `${lineCount} events, final hash ${finalHash}\n` })
    const printed = join(dir.dir, 'printed-new.html')
    const reported = join(dir.dir, 'printed-old.html')
    expect((await runCli(['record', 'print', good, '--out', printed])).code).toBe(0)
    expect((await runCli(['transcript', 'report', good, '--out', reported])).code).toBe(0)
    const html = await readFile(printed, 'utf8')
    expect(html).toContain('tessera record verify')
    expect(await readFile(reported, 'utf8')).toBe(html)
    const overview = (await runCli(['--help'])).stdout
    expect(overview).toMatch(/^ {2}record {2,}verify a ceremony record/m)
    expect(overview.match(/transcript/g)).toEqual(['transcript'])
    expect(overview).toMatch(/^ {2}transcript {2,}old name of record$/m)
  })

  it('verify exits 1 naming the first bad line', async () => {
    const r = await runCli(['record', 'verify', broken])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    const prefixHash = lineHash((await readFile(good, 'utf8')).split('\n')[6]!)
    expect(r.stderr).toBe(`tessera record: ${broken}: line 8: reordered (seq 8 follows seq 6; seq 7 is on line 9); lines 1–7 verify, final hash ${prefixHash}\n`)
  })

  it('verify exits 3 for an intact record without its closing line (a crash, or lines cut at a line end), naming its final hash', async () => {
    const open = join(dir.dir, 'open.jsonl')
    const t = await RecordWriter.create(open, FACTS)
    await t.append({ type: 'wiped', data: {} })
    const r = await runCli(['record', 'verify', open])
    expect(r.code).toBe(3)
    expect(r.stdout).toBe(`2 events, final hash ${t.finalHash}\n`)
    expect(r.stderr).toBe(
      `tessera record: ${open} is not closed: its 2 lines verify, final hash ${t.finalHash}, but the closing line is missing (the ceremony was still running, its process stopped, or lines after these were cut off)\n`,
    )
    // A closed record cut at a line end: the same status, and the hash of what is left.
    const lines = (await readFile(good, 'utf8')).split('\n')
    const cut = join(dir.dir, 'cut.jsonl')
    await writeFile(cut, `${lines.slice(0, 5).join('\n')}\n`)
    const c = await runCli(['record', 'verify', cut])
    expect(c.code).toBe(3)
    expect(c.stderr).toContain(`its 5 lines verify, final hash ${lineHash(lines[4]!)}`)
  })

  it('print marks a record without its closing line NOT CLOSED, in large type, with no signature lines', async () => {
    const open = join(dir.dir, 'running.jsonl')
    const t = await RecordWriter.create(open, FACTS)
    await t.append({ type: 'attempt_started', data: { flow: 'root', nonce: randomUUID(), protection: { kind: 'otp', length: 28 }, required: 3 } })
    const out = join(dir.dir, 'running.html')
    const r = await runCli(['record', 'print', open, '--out', out])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('is not closed')
    const html = await readFile(out, 'utf8')
    expect(html).toContain('<p class="unclosed">NOT CLOSED: the ceremony was still running, or its process stopped, when this was printed')
    expect(html).toMatch(/\.unclosed \{[^}]*font-size: 20pt/)
    expect(html).not.toContain('Signature')
    expect(html).not.toContain('We witnessed this ceremony')
    // The closed record of the same kind is the one to sign.
    expect((await runCli(['record', 'print', good, '--out', join(dir.dir, 'closed.html')])).code).toBe(0)
    const closed = await readFile(join(dir.dir, 'closed.html'), 'utf8')
    expect(closed).toContain('We witnessed this ceremony')
    expect(closed).not.toContain('NOT CLOSED')
  })

  it('print writes the record of a chain that verifies, and never over a file', async () => {
    const out = join(dir.dir, 'report.html')
    const r = await runCli(['record', 'print', good, '--out', out])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(`wrote ${out}: ${lineCount} events, final hash ${finalHash}\n`)
    const html = await readFile(out, 'utf8')
    expect(html).toContain(groupHash(finalHash))
    const again = await runCli(['record', 'print', good, '--out', out])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('it already exists (--force replaces it)')
    expect((await runCli(['record', 'print', good, '--out', out, '--force'])).code).toBe(0)
  })

  it('print refuses a broken chain unless --allow-broken, which prints its valid part under a warning', async () => {
    const out = join(dir.dir, 'broken.html')
    const refused = await runCli(['record', 'print', broken, '--out', out])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('line 8: reordered')
    expect(refused.stderr).toContain('nothing printed')
    await expect(access(out)).rejects.toThrow()
    const allowed = await runCli(['record', 'print', broken, '--out', out, '--allow-broken'])
    expect(allowed.code, allowed.stderr).toBe(0)
    expect(allowed.stderr).toContain('warning:')
    const html = await readFile(out, 'utf8')
    expect(html).toContain('This record does not verify: line 8: reordered')
    expect(html).not.toContain('We witnessed this ceremony')
    expect(html.match(/<tr><td>\d+<\/td>/g)).toHaveLength(7)
  })

  it('usage mistakes exit 2', async () => {
    expect((await runCli(['record'])).code).toBe(2)
    expect((await runCli(['record', 'check', good])).code).toBe(2)
    expect((await runCli(['record', 'print', good])).code).toBe(2)
    expect((await runCli(['record', 'verify', good, '--out', 'x.html'])).code).toBe(2)
    const missing = await runCli(['record', 'verify', join(dir.dir, 'none.jsonl')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('no such file or directory')
  })
})
