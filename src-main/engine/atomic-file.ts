import { open, link, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Writes a file so that readers see the old content or the new, never a torn
 * one: a private temp file beside it, fsync, then rename (or, when the target
 * must not exist yet, a hard link, which fails with EEXIST instead of replacing).
 */
export async function writeFileAtomic(path: string, data: string, opts: { overwrite: boolean }): Promise<void> {
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(temp, 'wx', 0o600)
  try {
    try {
      await handle.writeFile(data, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (opts.overwrite) await rename(temp, path)
    else await link(temp, path)
  } finally {
    await unlink(temp).catch(() => undefined)
  }
  await fsyncDir(dir)
}
