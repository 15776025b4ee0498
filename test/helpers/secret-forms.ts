import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * A secret and every spelling it could leak in: as typed, upper and lower case,
 * the base64 (padded, unpadded, URL-safe) and hex of its characters, and, when
 * it is itself hex or base64, the bytes it stands for in hex, base64 and raw.
 * Each spelling is also cut into overlapping windows (16 characters every 4,
 * 12 bytes every 3), so that any partial copy of 19 characters or 14 bytes is
 * caught as well.
 */
export interface Secret {
  label: string
  value: string
  needles: Buffer[]
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Characters in a text window; 16 base16/62/64 characters are 64 bits or more. */
const TEXT_WINDOW = 16
/** Bytes in a binary window. */
const BYTE_WINDOW = 12

function base64Forms(bytes: Buffer): string[] {
  const padded = bytes.toString('base64')
  return [padded, padded.replace(/=+$/, ''), bytes.toString('base64url')]
}

/** The whole value and overlapping windows of `size` across it. */
function windows<T extends string | Buffer>(whole: T, size: number): T[] {
  if (whole.length <= size) return [whole]
  const out: T[] = [whole]
  const step = Math.max(1, Math.floor(size / 4))
  for (let i = 0; i + size <= whole.length; i += step) out.push(whole.slice(i, i + size) as T)
  out.push(whole.slice(whole.length - size) as T)
  return out
}

export function secret(label: string, value: string): Secret {
  if (value.length < TEXT_WINDOW) throw new Error(`${label} is too short to look for reliably (${value.length} characters)`)
  const texts = new Set<string>([value, value.toLowerCase(), value.toUpperCase()])
  const utf8 = Buffer.from(value, 'utf8')
  for (const f of base64Forms(utf8)) texts.add(f)
  texts.add(utf8.toString('hex'))
  texts.add(utf8.toString('hex').toUpperCase())
  const raw: Buffer[] = []
  if (HEX.test(value)) raw.push(Buffer.from(value, 'hex'))
  if (BASE64.test(value) && value.length >= 24) raw.push(Buffer.from(value, 'base64'))
  for (const bytes of raw) {
    for (const f of base64Forms(bytes)) texts.add(f)
    texts.add(bytes.toString('hex'))
    texts.add(bytes.toString('hex').toUpperCase())
  }
  const needles: Buffer[] = []
  for (const text of texts) {
    for (const w of windows(text, TEXT_WINDOW)) {
      needles.push(Buffer.from(w, 'latin1'))
      needles.push(Buffer.from(w, 'utf16le'))
    }
  }
  for (const bytes of raw) for (const w of windows(bytes, BYTE_WINDOW)) needles.push(w)
  return { label, value, needles }
}

/** Where a secret was found, without repeating the secret itself. */
export function leaks(secrets: Secret[], haystacks: Array<{ name: string; content: Buffer | string }>): string[] {
  const found: string[] = []
  for (const hay of haystacks) {
    const buf = typeof hay.content === 'string' ? Buffer.from(hay.content, 'utf8') : hay.content
    for (const s of secrets) {
      if (s.needles.some((n) => buf.includes(n))) found.push(`${s.label} in ${hay.name}`)
    }
  }
  return found
}

/** Every file under a directory, dotfiles and subdirectories included. */
export async function filesUnder(dir: string): Promise<Array<{ name: string; content: Buffer }>> {
  const out: Array<{ name: string; content: Buffer }> = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    out.push({ name: path, content: await readFile(path) })
  }
  return out
}
