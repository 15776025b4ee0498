import * as v from 'valibot'
import { TesseraError } from '../support/errors'
import { describeIssue } from '../support/issues'
import { GENESIS, lineHash, MAX_FILE_BYTES, MAX_LINE_BYTES } from './chain'
import { EventSchema, FORMAT_VERSION, LegacySchema, LineSchema, type LegacyEvent, type Line, type RecordEvent } from './events'

/** A line that passed every check, with its hash. */
export type VerifiedLine = Line & (RecordEvent | LegacyEvent) & { hash: string }

export interface ValidChain {
  lines: VerifiedLine[]
  /** The hash of the last valid line (64 zeros for none): what the signed printed record shows. */
  finalHash: string
  /** True when the chain ends with the closing line the writer adds when a ceremony ends in order. */
  closed: boolean
  /** 1 for a file that starts with a `header` line (written before format 2), else the current format. */
  format: 1 | typeof FORMAT_VERSION
}

export type Verification =
  | ({ ok: true } & ValidChain)
  /** `line` is 1-based; `prefix` is the valid chain before it. */
  | { ok: false; line: number; problem: string; prefix: ValidChain }

const EVENT_TYPES: ReadonlySet<string> = new Set([...EventSchema.options, ...LegacySchema.options].map((o) => o.entries.type.literal))

interface Raw {
  text: string
  terminated: boolean
  /** The seq the line claims, when it parses far enough to say. */
  seq?: number
}

function splitLines(text: string): Raw[] {
  const parts = text.split('\n')
  const last = parts.pop()!
  const raws: Raw[] = parts.map((p) => ({ text: p, terminated: true }))
  if (last !== '') raws.push({ text: last, terminated: false })
  for (const raw of raws) {
    const m = /^\{"seq":(\d{1,15}),/.exec(raw.text)
    if (m) raw.seq = Number(m[1])
  }
  return raws
}

/**
 * Checks a record line by line in one pass: JSON, each event's schema, seq
 * continuity and the hash chain. Returns the valid chain, or the first bad
 * line, what is wrong with it, and the valid chain before it.
 */
export function verifyRecord(text: string): Verification {
  if (Buffer.byteLength(text, 'utf8') > MAX_FILE_BYTES) {
    throw new TesseraError('record_too_large', `the record is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB; no ceremony writes that much`)
  }
  const raws = splitLines(text)
  // Where each seq sits, to tell a missing line from a reordered one.
  const lineOfSeq = new Map<number, number>()
  raws.forEach((r, i) => r.seq !== undefined && !lineOfSeq.has(r.seq) && lineOfSeq.set(r.seq, i + 1))

  const lines: VerifiedLine[] = []
  const format = (): ValidChain['format'] => (lines[0]?.type === 'header' ? 1 : FORMAT_VERSION)
  const prefix = (): ValidChain => ({ lines, finalHash: lines.at(-1)?.hash ?? GENESIS, closed: false, format: format() })
  const bad = (line: number, problem: string): Verification => ({ ok: false, line, problem: `line ${line}: ${problem}`, prefix: prefix() })

  if (raws.length === 0) return bad(1, 'missing (the file is empty; a record starts with a backend_opened line)')
  for (let i = 0; i < raws.length; i++) {
    const n = i + 1
    const raw = raws[i]!
    if (Buffer.byteLength(raw.text, 'utf8') > MAX_LINE_BYTES) return bad(n, 'longer than 64 KiB; no event is')
    if (!raw.terminated) {
      return bad(n, `cut off (the file ends inside it). Lines 1–${i} are a valid chain: a crash while writing leaves this, and so does cutting the file`)
    }
    if (lines.at(-1)?.type === 'closed') return bad(n, 'not in the chain (it follows the closing line)')
    let json: unknown
    try {
      json = JSON.parse(raw.text)
    } catch {
      return bad(n, raw.text === '' ? 'empty (a line was blanked or removed)' : 'changed or damaged (not valid JSON)')
    }
    const parsed = v.safeParse(LineSchema, json)
    if (!parsed.success) return bad(n, `changed or damaged (${describeIssue(parsed.issues, 'line')})`)
    const line = parsed.output
    if (line.seq !== i) {
      if (line.seq < i) return bad(n, `repeated or reordered (seq ${line.seq} follows seq ${i - 1})`)
      const where = lineOfSeq.get(i)
      return where === undefined
        ? bad(n, `a line is missing before it (seq ${line.seq} follows seq ${i - 1}; no line has seq ${i})`)
        : bad(n, `reordered (seq ${line.seq} follows seq ${i - 1}; seq ${i} is on line ${where})`)
    }
    // A format-1 file's first two lines are a header and the backend without the tool's name.
    const legacy = line.type === 'header' || (i === 1 && format() === 1)
    const event = v.safeParse(legacy ? LegacySchema : EventSchema, { type: line.type, data: line.data })
    if (!event.success) {
      // The type is named only when it is one Tessera writes: otherwise it is the file's text.
      const what = EVENT_TYPES.has(line.type) ? `a valid ${line.type} event` : 'an event type Tessera writes'
      return bad(n, `changed or damaged (not ${what}: ${describeIssue(event.issues, 'event')})`)
    }
    const type = event.output.type
    // Where an opening line may stand: line 1 (a header in format 1), and in format 1 line 2.
    const opens = i === 0 ? ['backend_opened', 'header'] : i === 1 && format() === 1 ? ['backend_opened'] : []
    if (opens.length > 0 ? !opens.includes(type) : type === 'backend_opened' || type === 'header') {
      if (opens.length === 0) return bad(n, `a second ${type} (only a record's first line is one)`)
      return bad(n, i === 0 ? 'not where a record starts (its first line is backend_opened)' : 'not a backend_opened line after the header of a format-1 record')
    }
    const hash = lineHash(raw.text)
    const expected = lines.at(-1)?.hash ?? GENESIS
    if (line.prev !== expected) {
      if (i === 0) return bad(n, 'changed (the first line\'s prev must be 64 zeros)')
      const next = raws[i + 1]
      if (next?.terminated && prevOf(next.text) === hash) {
        // This line is the one the next line chains to: the line before it was changed.
        lines.pop()
        return bad(n - 1, `changed (its hash does not match line ${n}'s prev)`)
      }
      if (i === raws.length - 1) {
        return bad(n, `not in the chain (its prev is not the hash of line ${n - 1}): it was added, or line ${n - 1} was changed`)
      }
      return bad(n, `changed (its prev does not match line ${n - 1}, and line ${n + 1}'s prev does not match it)`)
    }
    lines.push({ ...line, ...event.output, hash } as VerifiedLine)
  }
  return { ok: true, lines, finalHash: lines.at(-1)!.hash, closed: lines.at(-1)!.type === 'closed', format: format() }
}

function prevOf(text: string): string | undefined {
  try {
    const p = (JSON.parse(text) as { prev?: unknown }).prev
    return typeof p === 'string' ? p : undefined
  } catch {
    return undefined
  }
}
