import { readFile } from 'node:fs/promises'
import { extname, resolve, sep } from 'node:path'

export const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
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
}

/**
 * The built renderer's files, read once and kept: they do not change while
 * Tessera runs, and they hold no secret. They are sent as they are: the page
 * is served over loopback only, where compressing them would cost the server
 * more time than the bytes it saves.
 */
export class StaticFiles {
  private readonly cache = new Map<string, Promise<Buffer | null>>()

  async get(file: string): Promise<StaticFile | null> {
    let entry = this.cache.get(file)
    if (!entry) {
      entry = readFile(file).catch(() => null)
      this.cache.set(file, entry)
    }
    const body = await entry
    if (!body) {
      this.cache.delete(file)
      return null
    }
    return { body, type: TYPES[extname(file)] ?? 'application/octet-stream' }
  }
}
