import { createHash } from 'node:crypto'
import { badRequest } from './errors'

/**
 * A share card: the share's characters in lines of four groups of four, each
 * line ending in a short check of its own (as paperkey does), so that a line
 * mistyped from paper is found by its line. Typed back, a card is accepted with
 * or without its line numbers, its checks and its spaces.
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

/**
 * What a holder typed or pasted, as the share's text: a card typed back (lines,
 * optionally numbered, optionally with their checks) becomes the share's
 * characters; anything else loses only its whitespace, and is then read as
 * Vault reads a key (hex or base64). `textLength` is the length of this
 * keyset's share text, which tells whether the line checks were typed.
 */
export function readShareInput(input: string, textLength: number): string {
  const rows = input.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '')
  const card = rows.length > 1 || LINE_NUMBER.test(rows[0] ?? '')
  if (!card) return input.replace(/\s+/g, '')
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
    return lines
      .map((line, i) => {
        const chars = line.slice(0, -CHECK_CHARS)
        if (lineCheck(i + 1, chars.toLowerCase()) !== line.slice(-CHECK_CHARS).toLowerCase()) {
          throw badRequest(`line ${i + 1} of the share card does not match its check: a character on that line is mistyped`, 'card_line')
        }
        return chars
      })
      .join('')
  }
  throw badRequest(
    `the share card holds ${total} characters; a share of this keyset has ${textLength} (${textLength + CHECK_CHARS * lines.length} with the line checks): a line is missing or mistyped`,
    'share_length',
  )
}
