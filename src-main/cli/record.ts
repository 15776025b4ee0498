import { parseArgs } from 'node:util'
import { readFailure, readRegularFile } from '../support/bounded-read'
import { writeFileAtomic } from '../support/files'
import { systemReason, TesseraError } from '../support/errors'
import type { Io } from './args'
import { RECORD_LIMIT } from '../record/chain'
import { printRecord } from '../record/printed'
import { verifyRecord, type ValidChain, type Verification } from '../record/verify'

export const usage = `Usage: tessera record verify FILE
       tessera record print FILE --out RECORD.html [--allow-broken] [--force]

verify   checks a ceremony record's hash chain; prints the number of events
         and the final hash, or names the first line that was changed, removed,
         reordered, cut off or added out of chain.
print    verifies the record, then writes it as printable HTML (A4 or Letter)
         with the facts, every event and the final hash for witnesses to sign.
         A record that does not verify is not printed unless --allow-broken,
         which prints the valid part under a warning. A record without its
         closing line is marked NOT CLOSED and has no signature lines. The
         HTML is never written over an existing file unless --force.

Exit status of verify: 0 the chain is intact and ends with its closing line;
3 the chain is intact but has no closing line (the ceremony was still running,
or its process stopped, or lines were cut off at a line's end): it names the
final hash of what is there; 1 a line is damaged; 2 a usage mistake.`

async function readRecord(path: string): Promise<string> {
  try {
    return (await readRegularFile(path, RECORD_LIMIT)).toString('utf8')
  } catch (err) {
    throw new TesseraError('cli', `cannot read ${path}: ${readFailure(err)}`)
  }
}

function summary(chain: ValidChain): string {
  const note = chain.format === 1 ? 'note: format 1 (a header line before backend_opened, written by Tessera before format 2); its chain is checked the same way\n' : ''
  return `${chain.lines.length} events, final hash ${chain.finalHash}\n${note}`
}

/** What a chain without its closing line is, and the hash of what is there. */
function notClosedText(path: string, chain: ValidChain): string {
  return `${path} is not closed: its ${chain.lines.length} lines verify, final hash ${chain.finalHash}, but the closing line is missing (the ceremony was still running, its process stopped, or lines after these were cut off)`
}

/** The first bad line, and what still verifies before it (after a crash, that part is the record). */
function brokenText(path: string, r: Extract<Verification, { ok: false }>): string {
  const before = r.prefix.lines.length
  return `${path}: ${r.problem}${before > 0 ? `; lines 1–${before} verify, final hash ${r.prefix.finalHash}` : ''}`
}

export async function record(argv: string[], io: Io): Promise<void> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: { out: { type: 'string' }, 'allow-broken': { type: 'boolean' }, force: { type: 'boolean' } },
      strict: true,
      allowPositionals: true,
    })
  } catch (err) {
    throw new TesseraError('usage', (err as Error).message)
  }
  const [given, file, ...extra] = parsed.positionals
  // `report` is the old name of `print`, from when the command was `tessera transcript`.
  const action = given === 'report' ? 'print' : given
  if (action !== 'verify' && action !== 'print') throw new TesseraError('usage', 'give verify or print')
  if (!file) throw new TesseraError('usage', 'give the record FILE')
  if (extra.length > 0) throw new TesseraError('usage', `unexpected argument "${extra[0]}"`)
  const flags = parsed.values
  if (action === 'verify' && (flags.out || flags['allow-broken'] || flags.force)) {
    throw new TesseraError('usage', '--out, --allow-broken and --force go with print')
  }
  const result = verifyRecord(await readRecord(file))

  if (action === 'verify') {
    if (!result.ok) throw new TesseraError('cli', brokenText(file, result))
    io.stdout(summary(result))
    if (!result.closed) throw new TesseraError('record_not_closed', notClosedText(file, result))
    return
  }
  if (!flags.out) throw new TesseraError('usage', '--out is required')
  if (!result.ok && !flags['allow-broken']) {
    throw new TesseraError('cli', `${brokenText(file, result)}; nothing printed (--allow-broken prints the valid part under a warning)`)
  }
  const chain = result.ok ? result : result.prefix
  const html = printRecord(chain.lines, chain.finalHash, result.ok ? {} : { problem: result.problem })
  try {
    await writeFileAtomic(flags.out, html, { overwrite: flags.force === true })
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'EEXIST' ? 'it already exists (--force replaces it)' : systemReason(err)
    throw new TesseraError('cli', `cannot write ${flags.out}: ${why}`)
  }
  if (!result.ok) io.stderr(`warning: ${brokenText(file, result)}\n`)
  else if (!result.closed) io.stderr(`warning: ${notClosedText(file, result)}; the printed record says so and has no signature lines\n`)
  io.stdout(`wrote ${flags.out}: ${summary(chain)}`)
}
