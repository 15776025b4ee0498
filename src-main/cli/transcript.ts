import { parseArgs } from 'node:util'
import { readFailure, readRegularFile, writeFileAtomic } from '../support/files'
import { systemReason } from '../support/errors'
import { CliError, UsageError, type Io } from './args'
import { TRANSCRIPT_LIMIT } from '../transcript/chain'
import { renderReport } from '../transcript/report'
import { verifyTranscript, type ValidChain, type Verification } from '../transcript/verify'

export const usage = `Usage: tessera transcript verify FILE
       tessera transcript report FILE --out REPORT.html [--allow-broken] [--force]

verify   checks a ceremony transcript's hash chain; prints the number of events
         and the final hash, or names the first line that was changed, removed,
         reordered, cut off or added out of chain (exit code 1).
report   verifies the transcript, then writes a printable HTML record (A4 or
         Letter) with the facts, every event and the final hash for witnesses to
         sign. A transcript that does not verify gets no report unless
         --allow-broken, which prints the valid part under a warning. The report
         is never written over an existing file unless --force.`

async function readTranscript(path: string): Promise<string> {
  try {
    return (await readRegularFile(path, TRANSCRIPT_LIMIT)).toString('utf8')
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${readFailure(err)}`)
  }
}

function summary(chain: ValidChain): string {
  const notes = [
    chain.format === 1 ? 'note: format 1 (a header line before backend_opened, written by Tessera before format 2); its chain is checked the same way' : '',
    chain.closed ? '' : 'note: the transcript has no closing line: the ceremony was still running, or its process stopped before closing it',
  ]
  return [`${chain.lines.length} events, final hash ${chain.finalHash}`, ...notes.filter(Boolean)].join('\n') + '\n'
}

/** The first bad line, and what still verifies before it (after a crash, that part is the record). */
function brokenText(path: string, r: Extract<Verification, { ok: false }>): string {
  const before = r.prefix.lines.length
  return `${path}: ${r.problem}${before > 0 ? `; lines 1–${before} verify, final hash ${r.prefix.finalHash}` : ''}`
}

export async function transcript(argv: string[], io: Io): Promise<void> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: { out: { type: 'string' }, 'allow-broken': { type: 'boolean' }, force: { type: 'boolean' } },
      strict: true,
      allowPositionals: true,
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const [action, file, ...extra] = parsed.positionals
  if (action !== 'verify' && action !== 'report') throw new UsageError('give verify or report')
  if (!file) throw new UsageError('give the transcript FILE')
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`)
  const flags = parsed.values
  if (action === 'verify' && (flags.out || flags['allow-broken'] || flags.force)) {
    throw new UsageError('--out, --allow-broken and --force go with report')
  }
  const result = verifyTranscript(await readTranscript(file))

  if (action === 'verify') {
    if (!result.ok) throw new CliError(brokenText(file, result))
    io.stdout(summary(result))
    return
  }
  if (!flags.out) throw new UsageError('--out is required')
  if (!result.ok && !flags['allow-broken']) {
    throw new CliError(`${brokenText(file, result)}; no report written (--allow-broken prints the valid part under a warning)`)
  }
  const chain = result.ok ? result : result.prefix
  const html = renderReport(chain.lines, chain.finalHash, result.ok ? {} : { problem: result.problem })
  try {
    await writeFileAtomic(flags.out, html, { overwrite: flags.force === true })
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'EEXIST' ? 'it already exists (--force replaces it)' : systemReason(err)
    throw new CliError(`cannot write ${flags.out}: ${why}`)
  }
  if (!result.ok) io.stderr(`warning: ${brokenText(file, result)}\n`)
  io.stdout(`wrote ${flags.out}: ${summary(chain)}`)
}
