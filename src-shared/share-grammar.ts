/**
 * The share grammar, one for the renderer and for main: how a share is typed or
 * pasted (hex, base64 or a secrets.js share, in groups or not) and how a share
 * card is laid out and typed back. Pure: no Node, no DOM, so that the field that
 * checks a share as it is typed and the keyset that reads it cannot disagree.
 * It reads the form only; main adds what needs the keyset (each card line's
 * check, the exact length). Problems name positions, never characters: the
 * share field is masked for a reason.
 */

/** The share schemes a keyset can use: Vault's Shamir shares, or secrets.js-grempe's. */
export const SCHEMES = ['vault', 'secretsjs'] as const
export type Scheme = (typeof SCHEMES)[number]

/** Vault's barrier key bounds, which main's share codec reads too: AES-128 minimum, AES-256 plus the share's x byte maximum. */
export const SHARE_MIN_BYTES = 16
export const SHARE_MAX_BYTES = 32 + 1

/** A card line: four groups of four share characters, then the line's own 4-hex check. */
export const CARD_GROUP_CHARS = 4
export const CARD_LINE_CHARS = 16
export const CARD_CHECK_CHARS = 4
/** More lines than any share's card has: a paste this long is no card. */
const CARD_MAX_LINES = 64

/** One line of a card typed back: its number, its share characters and, where typed, its check. */
export interface CardLine {
  number: number
  chars: string
  check?: string
}

/** What a holder typed: a share (without its spaces), or a share card's lines. */
export type TypedShare = { kind: 'share'; text: string } | { kind: 'card'; lines: CardLine[] }

/** A problem with a typed share, in main's words (lower case); `sentence` words it for a screen. */
export interface FormProblem {
  code: 'share_form' | 'share_length' | 'card_line'
  message: string
}

export type FormCheck = { ok: true; form: 'hex' | 'base64' | 'secrets.js share' | 'share card'; bytes?: number } | ({ ok: false } & FormProblem)

const problem = (code: FormProblem['code'], message: string): FormCheck => ({ ok: false, code, message })

/** A problem as a sentence for the screen: "Line 2 has …." */
export function sentence(message: string): string {
  return `${message.charAt(0).toUpperCase()}${message.slice(1)}.`
}

/** A share as pasted from a document: spaces and line breaks are not part of it. */
export function compactShare(input: string): string {
  return input.replace(/\s+/g, '')
}

/** Names a share for people: "share 3 (Carol)". */
export function shareLabel(s: { number: number | null; holder: string | null }): string {
  const base = s.number === null ? 'this share' : `share ${s.number}`
  return s.holder ? `${base} (${s.holder})` : base
}

/** A share's text as a card's lines of groups, without their checks: ["9f2c 41aa 0b7e d0c3", "5e1b"]. */
export function cardRows(text: string): string[] {
  const rows: string[] = []
  for (let at = 0; at < text.length; at += CARD_LINE_CHARS) {
    const chars = text.slice(at, at + CARD_LINE_CHARS)
    rows.push((chars.match(new RegExp(`.{1,${CARD_GROUP_CHARS}}`, 'g')) ?? []).join(' '))
  }
  return rows
}

function firstBad(text: string, allowed: RegExp): number {
  for (let i = 0; i < text.length; i++) if (!allowed.test(text[i]!)) return i
  return -1
}

const HEX_DIGIT = /[0-9a-fA-F]/
const IS_HEX4 = /^[0-9a-fA-F]{4}$/

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
    const mistyped = others <= 3 && (hexDigits >= SHARE_MIN_BYTES || (s.length % 2 === 0 && s.length % 4 !== 0))
    return mistyped ? `character ${first + 1} is not a hex digit (0–9, a–f)` : null
  }
  if (s.length % 2 !== 0) return `${s.length} hex characters: a share has an even number, usually 66 — one may be missing or extra`
  if (s.length < 2 * SHARE_MIN_BYTES) return `${s.length} hex characters: a share has ${2 * SHARE_MIN_BYTES} to ${2 * SHARE_MAX_BYTES} (usually 66) — keep typing`
  if (s.length > 2 * SHARE_MAX_BYTES) return `${s.length} hex characters: a share has at most ${2 * SHARE_MAX_BYTES} — one may be extra`
  return null
}

function checkVault(s: string): FormCheck {
  const bad = firstBad(s, /[0-9A-Za-z+/=]/)
  if (bad >= 0) return problem('share_form', `character ${bad + 1} is neither hex nor base64`)
  if (/^[0-9a-fA-F]+$/.test(s) && s.length % 2 === 0) {
    const bytes = s.length / 2
    if (bytes >= SHARE_MIN_BYTES && bytes <= SHARE_MAX_BYTES) return { ok: true, form: 'hex', bytes }
  }
  const asHex = hexProblem(s)
  if (asHex) return problem('share_form', asHex)
  const pad = s.indexOf('=')
  if (pad >= 0 && !/^=={0,1}$/.test(s.slice(pad))) {
    return problem('share_form', `character ${pad + 1}: "=" may only pad the end of a base64 share`)
  }
  if (s.length % 4 !== 0) {
    return problem('share_form', `${s.length} characters: base64 comes in groups of 4, usually 44 — one may be missing or extra`)
  }
  const bytes = (s.length / 4) * 3 - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0)
  if (bytes < SHARE_MIN_BYTES) return problem('share_length', `too short: ${bytes} bytes, a share has at least ${SHARE_MIN_BYTES}`)
  if (bytes > SHARE_MAX_BYTES) return problem('share_length', `too long: ${bytes} bytes, a share has at most ${SHARE_MAX_BYTES}`)
  return { ok: true, form: 'base64', bytes }
}

function checkSecretsJs(s: string): FormCheck {
  if (s[0] !== '8') return problem('share_form', 'character 1: a secrets.js share of this keyset starts with "8"')
  const bad = firstBad(s, HEX_DIGIT)
  if (bad >= 0) return problem('share_form', `character ${bad + 1} is not a hex digit`)
  if (s.length < 4) return problem('share_length', 'too short for a secrets.js share')
  return { ok: true, form: 'secrets.js share' }
}

/** A share as it stands, spaces removed: hex or base64 (Vault), or a secrets.js share or its base64. */
function checkPlain(s: string, scheme: Scheme): FormCheck {
  if (s === '') return problem('share_form', 'enter a share')
  if (scheme === 'vault') return checkVault(s)
  if (s.startsWith('8')) return checkSecretsJs(s)
  try {
    if (checkSecretsJs(atob(s)).ok) return { ok: true, form: 'base64' }
  } catch {
    // not base64 either: fall through to the explanation
  }
  return problem('share_form', 'neither a secrets.js share (those start with "8") nor the base64 of one')
}

/**
 * A card line's number ("1:", "2.", "3)") where a line starts: at the start of
 * the text or after a space or line break. Share characters are never ":", "."
 * or ")", so a number followed by one starts a line.
 */
const LINE_MARK = /(?:^|\s)(\d{1,2})\s*[:.)]/g

/** Raw lines (share characters and check together) split into characters and check where every line carries one. */
function splitChecks(rows: Array<{ number: number; raw: string }>): CardLine[] {
  const withChecks = rows[0]!.raw.length === CARD_LINE_CHARS + CARD_CHECK_CHARS
  return rows.map(({ number, raw }) =>
    withChecks && raw.length > CARD_CHECK_CHARS
      ? { number, chars: raw.slice(0, -CARD_CHECK_CHARS), check: raw.slice(-CARD_CHECK_CHARS) }
      : { number, chars: raw },
  )
}

/** A card typed back with its line numbers, on one line or several; null when the text does not start with one. */
function numberedCard(input: string): CardLine[] | null {
  const marks = [...input.matchAll(LINE_MARK)]
  if (marks.length === 0 || input.slice(0, marks[0]!.index).trim() !== '') return null
  return splitChecks(
    marks.map((m, i) => ({ number: Number(m[1]), raw: compactShare(input.slice(m.index + m[0].length, marks[i + 1]?.index ?? input.length)) })),
  )
}

/**
 * A card typed back on several lines without their numbers: taken as a card only
 * when every line carries its check (20 characters, the last line fewer, each
 * ending in 4 hex digits). Lines without checks are a share wrapped on lines,
 * and read as one.
 */
function unnumberedCard(input: string): CardLine[] | null {
  const rows = input.split(/\r?\n/).map(compactShare).filter((r) => r !== '')
  if (rows.length < 2) return null
  const full = CARD_LINE_CHARS + CARD_CHECK_CHARS
  const fits = rows.every((r, i) => (i < rows.length - 1 ? r.length === full : r.length > CARD_CHECK_CHARS && r.length <= full) && IS_HEX4.test(r.slice(-CARD_CHECK_CHARS)))
  return fits ? splitChecks(rows.map((raw, i) => ({ number: i + 1, raw }))) : null
}

/**
 * A card typed back on one line without its numbers but with each line's check,
 * in the card's groups: lines of 16 characters in groups of at most 4, each
 * followed by its 4-hex check (the last line may be shorter). A share typed in
 * groups of four can fit that shape by its length alone, so it counts as a card
 * only where a group before a check is short: a card's share ends mid-group
 * (Vault's 66 characters, secrets.js's 99), a share typed in groups only at its end.
 */
function oneLineCard(input: string): CardLine[] | null {
  const groups = input.trim().split(/\s+/)
  if (groups.length < 2 || groups.some((g) => g.length > CARD_GROUP_CHARS)) return null
  const lines: CardLine[] = []
  let chars = ''
  let shortGroup = false
  for (const [i, group] of groups.entries()) {
    if (chars.length === CARD_LINE_CHARS || i === groups.length - 1) {
      if (chars === '' || !IS_HEX4.test(group)) return null
      lines.push({ number: lines.length + 1, chars, check: group })
      chars = ''
    } else {
      shortGroup ||= group.length < CARD_GROUP_CHARS
      chars += group
      if (chars.length > CARD_LINE_CHARS) return null
    }
  }
  return lines.length >= 2 && shortGroup ? lines : null
}

/** How a holder's input reads: a share card (numbered, on several lines with checks, or on one line with checks), else a share. */
export function readTyped(input: string): TypedShare {
  const lines = numberedCard(input) ?? unnumberedCard(input) ?? oneLineCard(input)
  return lines ? { kind: 'card', lines } : { kind: 'share', text: compactShare(input) }
}

/**
 * A card's shape: lines numbered in order, share characters only, and lines of
 * 16 characters (each with its check, or none with one). Main then checks each
 * line against its check and the whole against the keyset's share length.
 */
export function cardProblem(lines: CardLine[], scheme: Scheme): FormProblem | null {
  if (lines.length > CARD_MAX_LINES) return { code: 'share_length', message: 'this is not a share card: it has far more lines than any card' }
  const allowed = scheme === 'vault' ? /[0-9A-Za-z+/=]/ : HEX_DIGIT
  const withChecks = lines[0]!.check !== undefined
  for (const [i, line] of lines.entries()) {
    const n = i + 1
    if (line.number !== n) return { code: 'card_line', message: `line ${n} of the share card carries the number ${line.number}: a line is missing or out of order` }
    const bad = firstBad(line.chars, allowed)
    if (bad >= 0) return { code: 'card_line', message: `line ${n}, character ${bad + 1} is not a share character` }
    const last = n === lines.length
    const shaped = (line.check !== undefined) === withChecks && (last ? line.chars.length > 0 && line.chars.length <= CARD_LINE_CHARS : line.chars.length === CARD_LINE_CHARS)
    if (!shaped) {
      const length = line.chars.length + (line.check?.length ?? 0)
      return { code: 'card_line', message: `line ${n} has ${length} characters: a card line has ${CARD_LINE_CHARS}, or ${CARD_LINE_CHARS + CARD_CHECK_CHARS} with its check` }
    }
  }
  return null
}

/** A typed share's form, as it is typed: what the share field says at once. */
export function checkForm(input: string, scheme: Scheme): FormCheck {
  const typed = readTyped(input)
  if (typed.kind === 'share') return checkPlain(typed.text, scheme)
  const bad = cardProblem(typed.lines, scheme)
  return bad ? { ok: false, ...bad } : { ok: true, form: 'share card' }
}
