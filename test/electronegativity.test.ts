import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..')

interface Allowed {
  check: string
  file: string
  reason: string
}

/** CSV records: a quoted field may hold commas, doubled quotes and line breaks (a finding's sample can span lines). */
function records(text: string): string[][] {
  const out: string[][] = []
  let record: string[] = []
  let field = ''
  let quoted = false
  const endField = () => {
    record.push(field.trim())
    field = ''
  }
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (quoted && ch === '"' && text[i + 1] === '"') {
      field += '"'
      i++
    } else if (ch === '"') quoted = !quoted
    else if (quoted) field += ch
    else if (ch === ',') endField()
    else if (ch === '\n') {
      endField()
      out.push(record)
      record = []
    } else field += ch
  }
  if (field !== '' || record.length > 0) {
    endField()
    out.push(record)
  }
  return out
}

// Electronegativity (Doyensec's Electron security scanner) over the main-process
// sources, offline (it gives up on its network lookups after a few seconds).
describe('Electronegativity', () => {
  it('finds nothing HIGH or MEDIUM that the reviewed allow-list does not explain', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-eneg-'))
    try {
      const { version } = JSON.parse(await readFile(join(ROOT, 'node_modules/electron/package.json'), 'utf8')) as { version: string }
      const csv = join(dir, 'findings.csv')
      await run('npx', ['electronegativity', '-i', 'src-main', '-e', version, '-o', csv], { cwd: ROOT, maxBuffer: 8 * 1024 * 1024 })
      const [header, ...rows] = records((await readFile(csv, 'utf8')).trim())
      expect(header!.slice(0, 4)).toEqual(['issue', 'severity', 'confidence', 'filename'])
      const findings = rows.map(([check, severity, , file]) => ({ check: check!, severity: severity!, file: relative(ROOT, file!) }))
      const { allowed } = JSON.parse(await readFile(join(import.meta.dirname, 'electronegativity-allowlist.json'), 'utf8')) as { allowed: Allowed[] }
      for (const a of allowed) expect(a.reason.length, `${a.check}: say why it is accepted`).toBeGreaterThan(40)
      const unexplained = findings.filter(
        (f) => (f.severity === 'HIGH' || f.severity === 'MEDIUM') && !allowed.some((a) => a.check === f.check && a.file === f.file),
      )
      expect(unexplained).toEqual([])
      // A stale allow-list hides nothing: every entry still matches a finding.
      const stale = allowed.filter((a) => !findings.some((f) => f.check === a.check && f.file === a.file))
      expect(stale).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
