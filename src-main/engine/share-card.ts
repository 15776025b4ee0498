import { createHash } from 'node:crypto'
import { badRequest } from './errors'
import { isSpace } from '../crypto/text-bytes'

/**
 * A share card: the share's characters in lines of four groups of four, each
 * line ending in a short check of its own (as paperkey does), so that a line
 * mistyped from paper is found by its line. Typed back, a card is accepted with
 * or without its line numbers, its checks and its spaces (on one line without
 * numbers, its checks tell it from a share typed in groups).
 */
const GROUP_CHARS = 4
const LINE_CHARS = 16
const CHECK_CHARS = 4
const MAX_LINES = 64

/** A line's check: it covers the line's number too, so that swapped lines are caught. */
export function lineCheck(lineNumber: number, chars: string): string {
  return createHash('sha256').update(`tessera share card line ${lineNumber}:${chars}`).digest('hex').slice(0, CHECK_CHARS)
}

/** The card's lines for a share's text: "1: 9f2c 41aa 0b7e d0c3  5e1b". */
export function cardLines(text: string): string[] {
  const lines: string[] = []
  for (let at = 0, n = 1; at < text.length; at += LINE_CHARS, n++) {
    const chars = text.slice(at, at + LINE_CHARS)
    const groups = chars.match(new RegExp(`.{1,${GROUP_CHARS}}`, 'g')) ?? []
    lines.push(`${String(n).padStart(2)}: ${groups.join(' ').padEnd(LINE_CHARS + LINE_CHARS / GROUP_CHARS - 1)}  ${lineCheck(n, chars)}`)
  }
  return lines
}

const LINE_NUMBER = /^(\d{1,2})\s*[:.)]\s*/

/** One card line as typed back: its share characters and, where typed, its check. */
interface TypedLine {
  chars: string
  check?: string
}

/**
 * A card typed back on one line without its line numbers but with each line's
 * check ("9f2c 41aa 0b7e d0c3  5e1b 77a0 …"): its groups must fall exactly into
 * this keyset's card lines, each followed by a group of 4, and at least one
 * line must match its check. A share typed in groups has no checks (it is
 * shorter by 4 characters a line), so it is never taken for a card.
 */
function unnumberedCard(row: string, textLength: number): TypedLine[] | null {
  const groups = row.split(/\s+/)
  if (groups.length < 2) return null
  const lines: TypedLine[] = []
  let g = 0
  for (let at = 0; at < textLength; at += LINE_CHARS) {
    const want = Math.min(LINE_CHARS, textLength - at)
    let chars = ''
    while (chars.length < want && g < groups.length - 1) chars += groups[g++]
    const check = groups[g++]
    if (chars.length !== want || check?.length !== CHECK_CHARS) return null
    lines.push({ chars, check })
  }
  if (g !== groups.length) return null
  return lines.some((l, i) => matches(i + 1, l)) ? lines : null
}

const matches = (n: number, line: TypedLine) => lineCheck(n, line.chars.toLowerCase()) === line.check?.toLowerCase()

/** The share's characters from lines that carry their checks; a line that does not match its check is named. */
function checked(lines: TypedLine[]): string {
  return lines
    .map((line, i) => {
      if (!matches(i + 1, line)) {
        throw badRequest(`line ${i + 1} of the share card does not match its check: a character on that line is mistyped`, 'card_line')
      }
      return line.chars
    })
    .join('')
}

/**
 * What a holder typed or pasted, as the share's text: a card typed back (lines,
 * optionally numbered, optionally with their checks, or on one line without
 * numbers but with the checks) becomes the share's characters; anything else
 * loses only its whitespace, and is then read as Vault reads a key (hex or
 * base64). `textLength` is the length of this keyset's share text, which tells
 * whether the line checks were typed.
 */
export function readShareInput(input: string, textLength: number): string {
  const rows = input.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '')
  const card = rows.length > 1 || LINE_NUMBER.test(rows[0] ?? '')
  if (!card) {
    const oneLine = rows.length === 1 ? unnumberedCard(rows[0]!, textLength) : null
    return oneLine ? checked(oneLine) : input.replace(/\s+/g, '')
  }
  if (rows.length > MAX_LINES) throw badRequest('this is not a share card: it has far more lines than any card', 'share_length')
  const lines = rows.map((row, i) => {
    const numbered = LINE_NUMBER.exec(row)
    if (numbered && Number(numbered[1]) !== i + 1) {
      throw badRequest(`line ${i + 1} of the share card carries the number ${Number(numbered[1])}: a line is missing or out of order`, 'card_line')
    }
    return row.slice(numbered?.[0].length ?? 0).replace(/\s+/g, '')
  })
  const total = lines.reduce((sum, l) => sum + l.length, 0)
  if (total === textLength) return lines.join('')
  if (total === textLength + CHECK_CHARS * lines.length) {
    return checked(lines.map((line) => ({ chars: line.slice(0, -CHECK_CHARS), check: line.slice(-CHECK_CHARS) })))
  }
  throw badRequest(
    `the share card holds ${total} characters; a share of this keyset has ${textLength} (${textLength + CHECK_CHARS * lines.length} with the line checks): a line is missing or mistyped`,
    'share_length',
  )
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39

/**
 * Whether typed bytes are laid out as a card, by readShareInput's rule: more than
 * one line that is not blank, or a first line that starts with its number ("1:",
 * "1.", "1)"). Told without making a string of them; a card typed on one line
 * without numbers is found by its length instead (Keyset.parseShare).
 */
export function looksLikeCard(typed: Uint8Array): boolean {
  let lines = 0
  let blank = true
  for (const c of typed) {
    if (c === 0x0a) {
      if (!blank) lines++
      blank = true
    } else if (!isSpace(c)) blank = false
  }
  if (!blank) lines++
  if (lines > 1) return true
  let at = 0
  while (at < typed.length && isSpace(typed[at]!)) at++
  const digits = at
  while (at < typed.length && at - digits < 3 && isDigit(typed[at]!)) at++
  if (at === digits || at - digits > 2) return false
  while (at < typed.length && isSpace(typed[at]!)) at++
  const mark = typed[at]
  return mark === 0x3a || mark === 0x2e || mark === 0x29
}
