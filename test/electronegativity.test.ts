import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..')

interface Sarif {
  runs: Array<{ results: Array<{ ruleId: string; locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }> }>
}

interface Allowed {
  check: string
  file: string
  reason: string
}

// Electronegativity (Doyensec's Electron security scanner) over the main-process
// sources, offline (it gives up on its network lookups after a few seconds). Its
// SARIF report, written in one piece: its CSV writer races its own header against
// the rows and sometimes leaves a torn file.
describe('Electronegativity', () => {
  it('finds nothing that the reviewed allow-list does not explain', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-eneg-'))
    try {
      const { version } = JSON.parse(await readFile(join(ROOT, 'node_modules/electron/package.json'), 'utf8')) as { version: string }
      const report = join(dir, 'findings.sarif')
      await run('npx', ['electronegativity', '-i', 'src-main', '-e', version, '-o', report], { cwd: ROOT, maxBuffer: 8 * 1024 * 1024 })
      const sarif = JSON.parse(await readFile(report, 'utf8')) as Sarif
      // A finding about the whole application (no file) is reported at file:///.
      const findings = sarif.runs[0]!.results.map((r) => {
        const uri = r.locations[0]!.physicalLocation.artifactLocation.uri
        return { check: r.ruleId, file: uri === 'file:///' ? 'N/A' : relative(ROOT, uri) }
      })
      expect(findings.length).toBeGreaterThan(0)
      const { allowed } = JSON.parse(await readFile(join(import.meta.dirname, 'electronegativity-allowlist.json'), 'utf8')) as { allowed: Allowed[] }
      for (const a of allowed) expect(a.reason.length, `${a.check}: say why it is accepted`).toBeGreaterThan(40)
      const unexplained = findings.filter((f) => !allowed.some((a) => a.check === f.check && a.file === f.file))
      expect(unexplained).toEqual([])
      // A stale allow-list hides nothing: every entry still matches a finding.
      const stale = allowed.filter((a) => !findings.some((f) => f.check === a.check && f.file === a.file))
      expect(stale).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
