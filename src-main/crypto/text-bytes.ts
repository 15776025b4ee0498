/**
 * Hex and base64 read straight from the bytes of typed text. A secret that once
 * becomes a JavaScript string stays on the heap until it is collected, and no
 * string can be wiped; these readers make none.
 */

/** ASCII whitespace, as JavaScript's trim and `\s` count it within ASCII. */
export const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d)

/** The text without its leading and trailing ASCII whitespace: a view of the same bytes, not a copy. */
export function trimBytes(text: Buffer): Buffer {
  let start = 0
  let end = text.length
  while (start < end && isSpace(text[start]!)) start++
  while (end > start && isSpace(text[end - 1]!)) end--
  return text.subarray(start, end)
}

/** The text without any ASCII whitespace, as a new Buffer that the caller wipes. */
export function withoutSpaces(text: Uint8Array): Buffer {
  const out = Buffer.alloc(text.length)
  let n = 0
  for (const c of text) if (!isSpace(c)) out[n++] = c
  return out.subarray(0, n)
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const lower = c | 0x20
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1
}

/** Even-length hex (either case) as bytes; null for anything else. */
export function hexBytes(text: Uint8Array): Buffer | null {
  if (text.length % 2 !== 0) return null
  const out = Buffer.alloc(text.length / 2)
  for (let i = 0; i < out.length; i++) {
    const hi = hexValue(text[2 * i]!)
    const lo = hexValue(text[2 * i + 1]!)
    if (hi < 0 || lo < 0) {
      out.fill(0)
      return null
    }
    out[i] = (hi << 4) | lo
  }
  return out
}

function base64Value(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52
  if (c === 0x2b) return 62
  if (c === 0x2f) return 63
  return -1
}

/** Padded standard base64 (RFC 4648 section 4, no whitespace) as bytes; null for anything else. */
export function base64Bytes(text: Uint8Array): Buffer | null {
  if (text.length % 4 !== 0) return null
  const pad = text.length === 0 ? 0 : text[text.length - 1] !== 0x3d ? 0 : text[text.length - 2] === 0x3d ? 2 : 1
  const out = Buffer.alloc((text.length / 4) * 3)
  for (let i = 0, o = 0; i < text.length; i += 4, o += 3) {
    const last = i + 4 === text.length
    let group = 0
    for (let j = 0; j < 4; j++) {
      const padding = last && j >= 4 - pad
      const v = padding ? 0 : base64Value(text[i + j]!)
      if (v < 0) {
        out.fill(0)
        return null
      }
      group = (group << 6) | v
    }
    out[o] = group >> 16
    out[o + 1] = (group >> 8) & 0xff
    out[o + 2] = group & 0xff
  }
  // The bytes a padding character stands for may hold stray bits of the last character.
  out.fill(0, out.length - pad)
  return out.subarray(0, out.length - pad)
}
