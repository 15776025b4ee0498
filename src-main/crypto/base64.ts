/**
 * Standard base64 as operators paste it: wrapped (`base64` breaks lines at 76),
 * indented, padded or not, after a byte-order mark. One linear pass: stripping
 * whitespace with a global replace costs a match per gap, and a regex with \s
 * both inside and after its class backtracks quadratically.
 */
const SHAPE = /^[A-Za-z0-9+/\t\n\f\r ]*(?:=[\t\n\f\r ]*){0,2}$/

/** The bytes, or null when the text is not base64 (or holds nothing). */
export function decodeBase64Text(input: string): Buffer | null {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input
  if (!SHAPE.test(text)) return null
  let chars = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c > 0x20 && c !== 0x3d) chars++
  }
  // A lone trailing character carries 6 bits, less than a byte: not base64.
  if (chars === 0 || chars % 4 === 1) return null
  // Node's decoder skips ASCII whitespace itself.
  return Buffer.from(text, 'base64')
}
