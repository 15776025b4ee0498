import { open, link, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import lockfile from 'proper-lockfile'
import { systemReason, TesseraError } from './errors'

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

/**
 * Runs `task` while holding an exclusive lock on `path`, across processes (a
 * `PATH.lock` directory, refreshed while held and taken over once stale, so a
 * process killed while holding it blocks nobody for long). Callers re-read the
 * file inside the task: that is what makes a change read-modify-write.
 */
export async function withFileLock<T>(path: string, task: () => Promise<T>): Promise<T> {
  let release: () => Promise<void>
  try {
    release = await lockfile.lock(path, {
      realpath: false,
      lockfilePath: `${path}.lock`,
      stale: 10_000,
      retries: { retries: 40, factor: 1.3, minTimeout: 20, maxTimeout: 500 },
    })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new TesseraError(409, `${path} is being changed by another process; try again`, 'locked')
    }
    throw new TesseraError(500, `could not lock ${path}: ${systemReason(err)}`, 'file_error')
  }
  try {
    return await task()
  } finally {
    await release().catch(() => undefined)
  }
}
