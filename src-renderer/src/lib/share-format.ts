/**
 * Checks a share's form as it is typed, so that a mistyped share is caught at
 * once rather than when the threshold is reached (vault#2484, #12618). Reports
 * positions, never characters: the field is masked for a reason.
 */
export type ShareCheck =
  | { ok: true; form: 'hex' | 'base64' | 'secrets.js share'; bytes?: number }
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
  // A hex share with a look-alike letter (O for 0, l for 1, g for 9) is still a hex share.
  const nonHex = [...s].flatMap((ch, i) => (/[0-9a-fA-F]/.test(ch) ? [] : [i]))
  if (s.length % 2 === 0 && s.length % 4 !== 0 && nonHex.length > 0 && nonHex.length <= 2) {
    return { ok: false, message: `Character ${nonHex[0]! + 1} is not a hex digit (0–9, a–f).` }
  }
  const pad = s.indexOf('=')
  if (pad >= 0 && !/^=={0,1}$/.test(s.slice(pad))) {
    return { ok: false, message: `Character ${pad + 1}: "=" may only pad the end of a base64 share.` }
  }
  if (s.length % 4 !== 0) {
    const hexLike = /^[0-9a-fA-F]+$/.test(s)
    return {
      ok: false,
      message: hexLike
        ? `${s.length} hex characters: a share has an even number, usually 66 — one may be missing or extra.`
        : `${s.length} characters: base64 comes in groups of 4, usually 44 — one may be missing or extra.`,
    }
  }
  const bytes = (s.length / 4) * 3 - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0)
  if (bytes < MIN_BYTES) return { ok: false, message: `Too short: ${bytes} bytes, a share has at least ${MIN_BYTES}.` }
  if (bytes > MAX_BYTES) return { ok: false, message: `Too long: ${bytes} bytes, a share has at most ${MAX_BYTES}.` }
  return { ok: true, form: 'base64', bytes }
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

export function checkShare(input: string, scheme: 'vault' | 'secretsjs'): ShareCheck {
  const s = compactShare(input)
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
