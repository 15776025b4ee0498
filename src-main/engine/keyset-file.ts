import { stat } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { clearLitter, withFileLock, writeFileAtomic, type HeldLock } from '../support/files'
import { readFailure, readRegularFile } from '../support/bounded-read'
import { hasCode, systemReason, TesseraError } from '../support/errors'
import { sameKeyring } from './keyring'
import { KEYSET_LIMIT, parseKeysetText, serialize, type KeysetData, type KeysetText } from './keyset-format'

/**
 * The keyset file on disk: read bounded, written atomically (a new file renamed
 * over the old, so every change makes a new inode), changed only under a
 * cross-process lock, and stamped so that an unchanged file is not read again.
 */

/** What changes whenever a file is replaced (Tessera's writes make a new inode) or written in place. */
type FileStamp = Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs' | 'ctimeMs'>

/** A keyset file's text, what it was validated into, and which version of the file it was read from. */
export interface KeysetSource extends KeysetText {
  stamp?: FileStamp
}

async function stampOf(path: string): Promise<FileStamp | undefined> {
  const s = await stat(path).catch(() => undefined)
  return s && { dev: s.dev, ino: s.ino, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs }
}

function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return !!a && !!b && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs
}

async function readBounded(path: string): Promise<string> {
  try {
    return (await readRegularFile(path, KEYSET_LIMIT)).toString('utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TesseraError('keyset_missing', `no keyset at ${path}; create one with tessera init`)
    throw new TesseraError('keyset', `could not read keyset ${path}: ${readFailure(err)}`)
  }
}

/**
 * Reads, bounds and validates a keyset file. The stamp is taken before the
 * read, so a change made during it is seen as a change next time.
 */
async function readKeyset(path: string): Promise<KeysetSource> {
  const stamp = await stampOf(path)
  const text = await readBounded(path)
  return { text, data: parseKeysetText(path, text), stamp }
}

/** Opens the keyset at `path`, after clearing what a killed process left there. */
export async function openKeysetFile(path: string): Promise<KeysetSource> {
  await clearLitter(path)
  return readKeyset(path)
}

/**
 * `known` while the file is unchanged since it was read or written (one stat),
 * else the file read again: an unknown share or token, which any local caller
 * can send at will, costs no read of an unchanged keyset.
 */
export async function readKeysetIfChanged(path: string, known?: KeysetSource): Promise<KeysetSource> {
  if (known && sameStamp(known.stamp, await stampOf(path))) return known
  return readKeyset(path)
}

function writeError(path: string, err: unknown): TesseraError {
  // A lost lock's sentence says whether the keyset was written: it passes as it is.
  if (hasCode(err, 'lock_lost')) return err
  return new TesseraError('keyset_write', `could not write the keyset ${path}: ${systemReason(err)}`)
}

/** Writes a new keyset file (under `lock`, where it is held); an existing file at `path` is never overwritten. */
export async function createKeysetFile(path: string, content: KeysetText, lock?: HeldLock): Promise<KeysetSource> {
  try {
    await writeFileAtomic(path, content.text, { overwrite: false, lock })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new TesseraError('keyset_exists', `${path} already exists; Tessera never overwrites a keyset`)
    }
    throw writeError(path, err)
  }
  return { ...content, stamp: await stampOf(path) }
}

/**
 * Read-modify-write under an exclusive cross-process lock: another program on
 * the same keyset (the app and `tessera serve`) may have changed it since
 * `opened` was read, and its change must survive ours. A file that now holds
 * another keyset is refused, never written over.
 */
export async function rewriteKeysetFile(
  path: string,
  opened: KeysetData,
  apply: (fresh: KeysetData) => Promise<KeysetData>,
): Promise<KeysetSource> {
  // Through a symlink, the lock, the read and the write are all the target's:
  // a program using the link and one using the target exclude each other.
  return withFileLock(path, async (target, lock) => {
    const fresh = await readKeyset(target)
    if (!sameKeyring(fresh.data.keyring, opened.keyring)) {
      throw new TesseraError('keyset_replaced', `${path} now holds another keyset than the one opened; open it again`)
    }
    const next = serialize(await apply(fresh.data))
    try {
      await writeFileAtomic(target, next.text, { overwrite: true, lock })
    } catch (err) {
      throw writeError(path, err)
    }
    return { ...next, stamp: await stampOf(target) }
  })
}
