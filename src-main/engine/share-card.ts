import { createHash } from 'node:crypto'
import { TesseraError } from '../support/errors'
import { isSpace } from '../crypto/text-bytes'
import { CARD_CHECK_CHARS, CARD_GROUP_CHARS, CARD_LINE_CHARS, cardProblem, cardRows, readTyped, type CardLine, type Scheme } from '../../src-shared/share-grammar'

/**
 * A share card: the share's characters in lines of four groups of four, each
 * line ending in a short check of its own (as paperkey does), so that a line
 * mistyped from paper is found by its line. How a card is laid out and typed
 * back is the share grammar's (src-shared); the checks need a hash, so they are main's.
 */

/** A line's check: it covers the line's number too, so that swapped lines are caught. */
export function lineCheck(lineNumber: number, chars: string): string {
  return createHash('sha256').update(`tessera share card line ${lineNumber}:${chars}`).digest('hex').slice(0, CARD_CHECK_CHARS)
}

/** The card's lines for a share's text: " 1: 9f2c 41aa 0b7e d0c3  5e1b". */
export function cardLines(text: string): string[] {
  const width = CARD_LINE_CHARS + CARD_LINE_CHARS / CARD_GROUP_CHARS - 1
  return cardRows(text).map((row, i) => {
    const n = i + 1
    return `${String(n).padStart(2)}: ${row.padEnd(width)}  ${lineCheck(n, text.slice(i * CARD_LINE_CHARS, n * CARD_LINE_CHARS))}`
  })
}

/** A card's share text: its shape by the grammar, each line against its check, the whole against this keyset's share length. */
function cardText(lines: CardLine[], scheme: Scheme, textLength: number): string {
  const bad = cardProblem(lines, scheme)
  if (bad) throw new TesseraError(bad.code, bad.message)
  for (const line of lines) {
    if (line.check !== undefined && lineCheck(line.number, line.chars.toLowerCase()) !== line.check.toLowerCase()) {
      throw new TesseraError('card_line', `line ${line.number} of the share card does not match its check: a character on that line is mistyped`)
    }
  }
  const text = lines.map((l) => l.chars).join('')
  if (text.length !== textLength) {
    throw new TesseraError('share_length', `the share card holds ${text.length} characters; a share of this keyset has ${textLength}: a line is missing or mistyped`)
  }
  return text
}

/**
 * What a holder typed or pasted, read by the share grammar, as the share's
 * text: a card typed back becomes the share's characters once every line
 * matches its check; a share loses its whitespace. `textLength` is the length
 * of this keyset's share text.
 */
export function readShareText(input: string, scheme: Scheme, textLength: number): string {
  const typed = readTyped(input)
  return typed.kind === 'share' ? typed.text : cardText(typed.lines, scheme, textLength)
}

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39
const isMark = (c: number | undefined) => c === 0x3a || c === 0x2e || c === 0x29

/**
 * Whether typed bytes need the share grammar: any whitespace, or a card line's
 * number at the very start ("1:", "12)"). Anything else is a share as it
 * stands, which the grammar would read unchanged: it is read from its bytes,
 * and never made a string.
 */
export function needsGrammar(typed: Uint8Array): boolean {
  if (typed.some(isSpace)) return true
  return isDigit(typed[0]) && (isMark(typed[1]) || (isDigit(typed[1]) && isMark(typed[2])))
}
