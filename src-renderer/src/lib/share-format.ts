/**
 * Checks a share's form as it is typed, so that a mistyped share is caught at
 * once rather than when the threshold is reached (vault#2484, #12618). Reports
 * positions, never characters: the field is masked for a reason.
 */
export type ShareCheck =
  | { ok: true; form: 'hex' | 'base64' | 'secrets.js share' | 'share card'; bytes?: number }
  | { ok: false; message: string }

const MIN_BYTES = 16
const MAX_BYTES = 33

function firstBad(text: string, allowed: RegExp): number {
  for (let i = 0; i < text.length; i++) if (!allowed.test(text[i]!)) return i
  return -1
}

function checkVault(s: string): ShareCheck {
  const bad = firstBad(s, /[0-9A-Za-z+/=]/)
  if (bad >= 0) return { ok: false, message: `Character ${bad + 1} is neither hex nor base64.` }
  if (/^[0-9a-fA-F]+$/.test(s) && s.length % 2 === 0) {
    const bytes = s.length / 2
    if (bytes >= MIN_BYTES && bytes <= MAX_BYTES) return { ok: true, form: 'hex', bytes }
  }
  const asHex = hexProblem(s)
  if (asHex) return { ok: false, message: asHex }
  const pad = s.indexOf('=')
  if (pad >= 0 && !/^=={0,1}$/.test(s.slice(pad))) {
    return { ok: false, message: `Character ${pad + 1}: "=" may only pad the end of a base64 share.` }
  }
  if (s.length % 4 !== 0) {
    return { ok: false, message: `${s.length} characters: base64 comes in groups of 4, usually 44 — one may be missing or extra.` }
  }
  const bytes = (s.length / 4) * 3 - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0)
  if (bytes < MIN_BYTES) return { ok: false, message: `Too short: ${bytes} bytes, a share has at least ${MIN_BYTES}.` }
  if (bytes > MAX_BYTES) return { ok: false, message: `Too long: ${bytes} bytes, a share has at most ${MAX_BYTES}.` }
  return { ok: true, form: 'base64', bytes }
}

const HEX_DIGIT = /[0-9a-fA-F]/

/**
 * What is wrong with a share typed as hex, or null when it is not one. A hex
 * share with a look-alike letter (O for 0, l for 1, g for 9) is still a hex
 * share: among enough hex digits, one to three other letters are typing
 * mistakes (a base64 share has dozens). A half-typed hex share is hex, never a
 * short base64 share.
 */
function hexProblem(s: string): string | null {
  const first = s.search(/[^0-9a-fA-F]/)
  if (first >= 0) {
    // Counted up to four only: this runs on every keystroke, and on whatever is pasted.
    let others = 0
    for (let i = first; i < s.length && others < 4; i++) if (!HEX_DIGIT.test(s[i]!)) others++
    const hexDigits = s.length - others
    const mistyped = others <= 3 && (hexDigits >= MIN_BYTES || (s.length % 2 === 0 && s.length % 4 !== 0))
    return mistyped ? `Character ${first + 1} is not a hex digit (0–9, a–f).` : null
  }
  if (s.length % 2 !== 0) return `${s.length} hex characters: a share has an even number, usually 66 — one may be missing or extra.`
  if (s.length < 2 * MIN_BYTES) return `${s.length} hex characters: a share has ${2 * MIN_BYTES} to ${2 * MAX_BYTES} (usually 66) — keep typing.`
  if (s.length > 2 * MAX_BYTES) return `${s.length} hex characters: a share has at most ${2 * MAX_BYTES} — one may be extra.`
  return null
}

function checkSecretsJs(s: string): ShareCheck {
  if (s[0] !== '8') return { ok: false, message: 'Character 1: a secrets.js share of this keyset starts with "8".' }
  const bad = firstBad(s, /[0-9a-fA-F]/)
  if (bad >= 0) return { ok: false, message: `Character ${bad + 1} is not a hex digit.` }
  if (s.length < 4) return { ok: false, message: 'Too short for a secrets.js share.' }
  return { ok: true, form: 'secrets.js share' }
}

/** A share as pasted from a document: spaces and line breaks are not part of it. */
export function compactShare(input: string): string {
  return input.replace(/\s+/g, '')
}

/**
 * A share card's line number ("1:", "2.", "3)") where a line starts: at the
 * start of the text or after a space or line break. Share characters are never
 * ":", "." or ")", so a number followed by one starts a line.
 */
const CARD_LINE = /(?:^|\s)(\d{1,2})\s*[:.)]/g
/** Characters of a card line: four groups of four, and optionally the line's 4-hex check. */
const CARD_LINE_CHARS = 16
const CARD_CHECK_CHARS = 4
const CARD_GROUP_CHARS = 4

type Scheme = 'vault' | 'secretsjs'
/** One line of a card typed back: its number and its characters (with its check where typed). */
interface CardRow {
  number: number
  chars: string
}

/** The numbered lines of a share card typed back (on one line or several), or null when it is not one. */
function cardRows(input: string): CardRow[] | null {
  const starts = [...input.matchAll(CARD_LINE)]
  if (starts.length === 0 || input.slice(0, starts[0]!.index).trim() !== '') return null
  return starts.map((m, i) => ({
    number: Number(m[1]),
    chars: compactShare(input.slice(m.index + m[0].length, starts[i + 1]?.index ?? input.length)),
  }))
}

/**
 * A share card typed back, checked for its shape only: lines numbered in
 * order, share characters, and lines of 16 characters (20 with their checks).
 * Main checks each line against its check and names a mistyped line.
 */
function checkCard(rows: CardRow[], scheme: Scheme): ShareCheck {
  const allowed = scheme === 'vault' ? /[0-9A-Za-z+/=]/ : /[0-9a-fA-F]/
  const withChecks = rows[0]!.chars.length === CARD_LINE_CHARS + CARD_CHECK_CHARS
  const full = CARD_LINE_CHARS + (withChecks ? CARD_CHECK_CHARS : 0)
  for (const [i, row] of rows.entries()) {
    const line = i + 1
    if (row.number !== line) return { ok: false, message: `Line ${line} carries the number ${row.number}: a line is missing or out of order.` }
    const bad = firstBad(row.chars, allowed)
    if (bad >= 0) return { ok: false, message: `Line ${line}, character ${bad + 1} is not a share character.` }
    const last = line === rows.length
    if (last ? row.chars.length > full || row.chars.length <= (withChecks ? CARD_CHECK_CHARS : 0) : row.chars.length !== full) {
      return { ok: false, message: `Line ${line} has ${row.chars.length} characters: a card line has ${CARD_LINE_CHARS}, or ${CARD_LINE_CHARS + CARD_CHECK_CHARS} with its check.` }
    }
  }
  return { ok: true, form: 'share card' }
}

/**
 * A share card typed back on one line without its line numbers but with each
 * line's check, in the card's groups: lines of 16 characters in groups of at
 * most 4, each followed by its 4-hex check (the last line may be shorter).
 * A share typed in groups of four can fit that shape by its length alone, so
 * it counts as a card only where a group before the last check is short (a
 * card whose share ends mid-group, as Vault's and secrets.js shares do) or the
 * text is no share as it stands. Null when it is not such a card.
 */
function oneLineCardRows(input: string, scheme: Scheme): CardRow[] | null {
  const groups = input.trim().split(/\s+/)
  if (groups.length < 2 || groups.some((g) => g.length > CARD_GROUP_CHARS)) return null
  const rows: CardRow[] = []
  let chars = ''
  let shortGroup = false
  for (const [i, group] of groups.entries()) {
    if (chars.length === CARD_LINE_CHARS || i === groups.length - 1) {
      if (chars === '' || !/^[0-9a-fA-F]{4}$/.test(group)) return null
      rows.push({ number: rows.length + 1, chars: chars + group })
      chars = ''
    } else {
      shortGroup ||= group.length < CARD_GROUP_CHARS
      chars += group
      if (chars.length > CARD_LINE_CHARS) return null
    }
  }
  if (rows.length < 2) return null
  return shortGroup || !checkPlain(compactShare(input), scheme).ok ? rows : null
}

/** The rows of a share card typed back, numbered or on one line; null when the input is no card. */
function typedCard(input: string, scheme: Scheme): CardRow[] | null {
  return cardRows(input) ?? oneLineCardRows(input, scheme)
}

/**
 * What is sent for a typed share: a share card keeps its numbered lines, one
 * per line, for main to check line by line; anything else loses its spaces.
 */
export function shareForMain(input: string, scheme: Scheme): string {
  const rows = typedCard(input, scheme)
  return rows ? rows.map((r) => `${r.number}: ${r.chars}`).join('\n') : compactShare(input)
}

export function checkShare(input: string, scheme: Scheme): ShareCheck {
  const rows = typedCard(input, scheme)
  if (rows) return checkCard(rows, scheme)
  return checkPlain(compactShare(input), scheme)
}

/** A share as it stands: hex or base64 (Vault), or a secrets.js share or its base64. */
function checkPlain(s: string, scheme: Scheme): ShareCheck {
  if (s === '') return { ok: false, message: 'Enter a share.' }
  if (scheme === 'vault') return checkVault(s)
  if (s.startsWith('8')) return checkSecretsJs(s)
  try {
    if (checkSecretsJs(atob(s)).ok) return { ok: true, form: 'base64' }
  } catch {
    // not base64 either: fall through to the explanation
  }
  return { ok: false, message: 'Neither a secrets.js share (those start with "8") nor the base64 of one.' }
}
