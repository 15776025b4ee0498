/**
 * The one redactor every log sink uses (the CLI's unexpected errors, the HTTP
 * request log, the web host and the Electron main process): whatever a caller
 * passes, Vault tokens and long hex or base64 runs — the shapes shares, OTPs,
 * keys and encoded results take — are masked, and the line is bounded.
 */
const MAX_LOG_CHARS = 400

const PATTERNS: RegExp[] = [
  // Vault tokens: hvs./hvb./hvr. and the older s./b./r. forms.
  /\b(?:hv[sbr]|[sbr])\.[A-Za-z0-9_-]{8,}/g,
  // Hex runs of 32 and more (a 16-byte key is 32 hex digits).
  /\b[0-9A-Fa-f]{32,}\b/g,
  // Base64 / base64url runs of 24 and more that look random.
  /[A-Za-z0-9+/_-]{24,}={0,2}/g,
]

function maskRun(run: string): string {
  // Random base64 of this length mixes digits and both cases; words and paths rarely do.
  return /\d/.test(run) && /[A-Z]/.test(run) && /[a-z]/.test(run) ? '[redacted]' : run
}

/** Changes between upper and lower case from one letter to the next. */
function caseChanges(piece: string): number {
  let changes = 0
  let last: boolean | undefined
  for (const c of piece) {
    const upper = c >= 'A' && c <= 'Z'
    if (!upper && !(c >= 'a' && c <= 'z')) continue
    if (last !== undefined && last !== upper) changes++
    last = upper
  }
  return changes
}

/**
 * Stricter than the redactor's test, because it guards what is written rather
 * than what is read. A random base62/64 run of 24 characters lacks a digit about
 * one time in 70; without one it still switches case at about every other
 * letter. Names ("Jean-Pierre MacDonald-Featherstonehaugh") have no digit and
 * hyphen-separated parts that switch case once or twice.
 */
function randomLooking(run: string): boolean {
  if (/\d/.test(run) && /[A-Za-z]/.test(run)) return true
  return run.split(/[-_]/).some((piece) => piece.length >= 16 && caseChanges(piece) >= 3)
}

/**
 * True when `text` holds something shaped like a secret: a Vault token, a hex
 * run of 32 digits or more, a random-looking base64 run of 24 or more (a share,
 * an OTP, a key, an encoded result), or a PGP private key block. Used to refuse
 * writing such text where it must never go.
 */
export function looksSecret(text: string): boolean {
  if (/PRIVATE KEY/.test(text)) return true
  if (new RegExp(PATTERNS[0]!.source).test(text)) return true
  if (new RegExp(PATTERNS[1]!.source).test(text)) return true
  // Padding counts toward the length: a legacy OTP is 22 base64 characters and "==".
  return (text.match(/[A-Za-z0-9+/_-]{22,}={0,2}/g) ?? []).some((run) => run.length >= 24 && randomLooking(run))
}

export function redact(text: string): string {
  let out = text.length > MAX_LOG_CHARS * 4 ? text.slice(0, MAX_LOG_CHARS * 4) : text
  out = out.replace(PATTERNS[0]!, '[redacted]')
  out = out.replace(PATTERNS[1]!, '[redacted]')
  out = out.replace(PATTERNS[2]!, maskRun)
  // eslint-disable-next-line no-control-regex -- control characters are what this strips
  out = out.replace(/[\u0000-\u001f\u007f]/g, ' ')
  return out.length > MAX_LOG_CHARS ? `${out.slice(0, MAX_LOG_CHARS - 1)}…` : out
}

/** Lines kept as known clean: a server logs the same few lines ("GET /v1/sys/health 200") over and over. */
const REMEMBERED_CLEAN_LINES = 256

/**
 * A log function that redacts every line it is given. The lines of one turn of
 * the event loop reach `sink` together, joined by newlines, in one call, and a
 * line the redactor left unchanged is remembered (a bounded few, never a line
 * in which anything was masked), so a repeated one is not scanned again: both
 * are kept for speed (docs/benchmarks.md, "Kept for speed"). Lines still
 * pending when the process exits are written then.
 */
export function redactingLog(sink: (lines: string) => void): (line: string) => void {
  let pending: string[] = []
  const clean = new Set<string>()
  const flush = () => {
    if (pending.length === 0) return
    const lines = pending
    pending = []
    sink(lines.join('\n'))
  }
  process.once('exit', flush)
  return (line) => {
    if (pending.length === 0) setImmediate(flush)
    if (clean.has(line)) {
      pending.push(line)
      return
    }
    const redacted = redact(line)
    if (redacted === line && clean.size < REMEMBERED_CLEAN_LINES) clean.add(line)
    pending.push(redacted)
  }
}
