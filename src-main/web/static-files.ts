import { readFile } from 'node:fs/promises'
import { extname, resolve, sep } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

export const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
}

const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json'])

export type Encoding = 'br' | 'gzip'

/** The encoding to send: brotli where accepted, else gzip, else none (q=0 refuses one). */
export function negotiate(acceptEncoding: string | undefined): Encoding | undefined {
  const accepted = new Set<string>()
  for (const part of (acceptEncoding ?? '').slice(0, 1024).split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';')
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    if (name && !(q && Number(q.slice(2)) === 0)) accepted.add(name)
  }
  if (accepted.has('br')) return 'br'
  if (accepted.has('gzip') || accepted.has('*')) return 'gzip'
  return undefined
}

/**
 * The file under `root` that a URL path names ('/' is the index), or null for a
 * path that is malformed or climbs out of `root`. The web host and the Electron
 * shell's app protocol both serve the built renderer through it.
 */
export function rendererFile(root: string, pathname: string): string | null {
  let relative: string
  try {
    relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '')
  } catch {
    return null
  }
  const file = resolve(root, relative)
  return file.startsWith(resolve(root) + sep) ? file : null
}

export interface StaticFile {
  body: Buffer
  type: string
  encoding?: Encoding
}

/**
 * The built renderer's files, read once and kept with their compressed forms:
 * they do not change while Tessera runs, and they hold no secret. Each file is
 * compressed on its first request, which the page waits for: brotli's quality 5
 * costs a few milliseconds where its best (11) costs hundreds, for a few percent
 * more bytes over loopback.
 */
export class StaticFiles {
  private readonly cache = new Map<string, Promise<Record<'identity' | Encoding, Buffer> | null>>()

  async get(file: string, acceptEncoding: string | undefined): Promise<StaticFile | null> {
    let entry = this.cache.get(file)
    if (!entry) {
      entry = this.load(file)
      this.cache.set(file, entry)
    }
    const forms = await entry
    if (!forms) {
      this.cache.delete(file)
      return null
    }
    const type = TYPES[extname(file)] ?? 'application/octet-stream'
    const encoding = COMPRESSIBLE.has(extname(file)) ? negotiate(acceptEncoding) : undefined
    return encoding ? { body: forms[encoding], type, encoding } : { body: forms.identity, type }
  }

  private async load(file: string): Promise<Record<'identity' | Encoding, Buffer> | null> {
    let body: Buffer
    try {
      body = await readFile(file)
    } catch {
      return null
    }
    if (!COMPRESSIBLE.has(extname(file))) return { identity: body, br: body, gzip: body }
    return {
      identity: body,
      br: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }),
      gzip: gzipSync(body),
    }
  }
}
