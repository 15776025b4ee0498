import * as fs from 'node:fs'
import { open, link, readdir, realpath, rename, stat, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
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
 * The file a path names, through any symlinks: a write replaces the file the
 * operator's link points to, never the link. A path that names nothing yet is
 * its own target.
 */
async function realTarget(path: string): Promise<string> {
  try {
    return await realpath(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return path
    throw err
  }
}

/** `.NAME.PID.RANDOM.tmp`: the writer's pid lets a later run tell a killed writer's temp file from a live one's. */
function tempName(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
}

/**
 * Writes a file so that readers see the old content or the new, never a torn
 * one: a private temp file beside it, fsync, then rename (or, when the target
 * must not exist yet, a hard link, which fails with EEXIST instead of replacing).
 * The file is always new, mode 0600, and a link at `path` is replaced, never
 * written through: whoever means a link's target (a keyset, a config file
 * reached through a link) passes the target, as withFileLock gives it. With
 * `lock`, the write commits only while that lock is still this process's, and
 * a lock lost during the commit is reported with the file written.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: { overwrite: boolean; lock?: HeldLock }): Promise<void> {
  const dir = dirname(path)
  const temp = tempName(path)
  const handle = await open(temp, 'wx', 0o600)
  try {
    try {
      await handle.writeFile(data, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    await opts.lock?.assertHeld('before')
    if (opts.overwrite) await rename(temp, path)
    else await link(temp, path)
  } finally {
    await unlink(temp).catch(() => undefined)
  }
  await fsyncDir(dir)
  await opts.lock?.assertHeld('after')
}

const LOCK_STALE_MS = 10_000

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists, under another user.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

/** The lock directory's one file: who holds the lock ("HOST PID TOKEN"; earlier versions wrote "HOST PID"). */
const OWNER = 'owner'
const OWNER_LINE = /^(\S+) (\d+)(?: [0-9a-f]+)?$/

type Done = (err: NodeJS.ErrnoException | null) => void

/** The lock's owner file, at most a line of it, read without following a link or waiting on a FIFO; '' when unreadable. */
function readOwner(dir: string, done: (owner: string) => void): void {
  const { O_RDONLY, O_NONBLOCK, O_NOFOLLOW } = fs.constants
  fs.open(join(dir, OWNER), O_RDONLY | O_NONBLOCK | O_NOFOLLOW, (err, fd) => {
    if (err) return done('')
    const buffer = Buffer.alloc(128)
    fs.read(fd, buffer, 0, buffer.length, null, (readErr, n) => fs.close(fd, () => done(readErr ? '' : buffer.toString('utf8', 0, n))))
  })
}

function readOwnerSync(dir: string): string {
  const { O_RDONLY, O_NONBLOCK, O_NOFOLLOW } = fs.constants
  try {
    const fd = fs.openSync(join(dir, OWNER), O_RDONLY | O_NONBLOCK | O_NOFOLLOW)
    try {
      const buffer = Buffer.alloc(128)
      return buffer.toString('utf8', 0, fs.readSync(fd, buffer, 0, buffer.length, null))
    } finally {
      fs.closeSync(fd)
    }
  } catch {
    return ''
  }
}

function removeLockDir(dir: string, done: Done): void {
  fs.unlink(join(dir, OWNER), () => fs.rmdir(dir, done))
}

/**
 * proper-lockfile's file operations for one lock, with its holder recorded in
 * the lock directory (`owner`: this host, pid and a token of this lock): a
 * lock whose holder on this machine is no longer alive reads as stale, and the
 * library takes it over as it takes over any stale lock, at once rather than
 * once the lock has aged. Without an owner file (a holder between its mkdir and
 * its write, another host, another program) the lock's age decides. Once held,
 * the lock is removed only while it is still this one's: a lock another
 * process took over is theirs to release.
 */
function lockFsFor(owner: string, held: () => boolean) {
  return {
    ...fs,
    mkdir: (dir: string, done: Done) =>
      fs.mkdir(dir, (err) => {
        if (err) return done(err)
        // A lock whose owner cannot be written could never be told from one taken over.
        fs.writeFile(join(dir, OWNER), owner, { mode: 0o600 }, (writeErr) => (writeErr ? removeLockDir(dir, () => done(writeErr)) : done(null)))
      }),
    stat: (dir: string, done: (err: NodeJS.ErrnoException | null, stats?: fs.Stats) => void) =>
      fs.stat(dir, (err, stats) => {
        if (err) return done(err)
        readOwner(dir, (line) => {
          const m = OWNER_LINE.exec(line)
          const dead = m !== null && m[1] === hostname() && Number(m[2]) !== process.pid && !isAlive(Number(m[2]))
          // The library reads only `mtime` of a lock that is not its own.
          done(null, dead ? ({ mtime: new Date(0) } as fs.Stats) : stats)
        })
      }),
    rmdir: (dir: string, done: Done) => {
      if (!held()) return removeLockDir(dir, done)
      readOwner(dir, (line) => (line === owner ? removeLockDir(dir, done) : done(null)))
    },
    rmdirSync: (dir: string) => {
      if (held() && readOwnerSync(dir) !== owner) return
      fs.rmSync(join(dir, OWNER), { force: true })
      fs.rmdirSync(dir)
    },
  }
}

/**
 * A lock withFileLock holds, as its task sees it: a write asks it, just
 * before and just after its commit, whether the lock is still this process's.
 * It stops being so when proper-lockfile finds it compromised (its directory
 * removed, or not refreshed within the stale time, as after a suspend, and so
 * open to another process) or when another process's owner is found in it.
 */
export interface HeldLock {
  /** Throws `lock_lost`, saying whether the write happened, once the lock is no longer this process's. */
  assertHeld(moment: 'before' | 'after'): Promise<void>
}

/** Why proper-lockfile gave the lock up, in an operator's words. */
function compromiseReason(err: Error): string {
  if (/^ENOENT/.test(err.message)) return 'its lock was removed by someone else'
  if (/stale threshold/.test(err.message)) return 'its lock could not be refreshed in time (the machine was suspended or too busy), so another process may have taken it'
  return `its lock could not be refreshed: ${systemReason(err)}`
}

function lockLost(path: string, reason: string, moment: 'before' | 'after'): TesseraError {
  const outcome =
    moment === 'before'
      ? 'the change was not written; open it again and retry'
      : 'the change was written, but another process may have changed it since; open it again to see what it holds'
  return new TesseraError('lock_lost', `the lock on ${path} was lost while it was being written (${reason}): ${outcome}`)
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * Temp files of `target` left by a writer that was killed: its pid is no longer
 * alive, or (names without a pid, from earlier versions) it is older than a
 * lock could be held. Called only while holding the target's lock, when no
 * live writer of this path can be between its temp file and its rename.
 */
async function deadTemps(target: string): Promise<string[]> {
  const pattern = new RegExp(`^\\.${escapeRegExp(basename(target))}\\.(?:(\\d+)\\.)?[0-9a-f]{12}\\.tmp$`)
  const dir = dirname(target)
  const dead: string[] = []
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = pattern.exec(name)
    if (!m) continue
    const pid = m[1] === undefined ? undefined : Number(m[1])
    if (pid === process.pid) continue
    if (pid !== undefined ? !isAlive(pid) : await olderThan(join(dir, name), LOCK_STALE_MS)) dead.push(join(dir, name))
  }
  return dead
}

async function olderThan(path: string, ms: number): Promise<boolean> {
  const info = await stat(path).catch(() => undefined)
  return info !== undefined && info.mtimeMs < Date.now() - ms
}

/**
 * Runs `task` while holding an exclusive lock on `path`'s target (through any
 * symlink, so that a link and its target exclude each other), across processes
 * (a `TARGET.lock` directory, refreshed while held and taken over once stale
 * or once its holder is gone, so a killed process blocks nobody). The task gets
 * the target's path and the lock, which its write passes to writeFileAtomic;
 * callers re-read the file there inside the task: that is what makes a change
 * read-modify-write. Temp files a killed writer left are removed first. With
 * `wait: false`, a lock held by another is not waited for. A lock lost while
 * held never throws from a timer: it is recorded, and the write asks.
 */
export async function withFileLock<T>(path: string, task: (target: string, lock: HeldLock) => Promise<T>, opts: { wait?: boolean } = {}): Promise<T> {
  let release: () => Promise<void>
  let target: string
  let acquired = false
  let lost: string | undefined
  const owner = `${hostname()} ${process.pid} ${randomBytes(8).toString('hex')}`
  try {
    target = await realTarget(path)
    release = await lockfile.lock(target, {
      fs: lockFsFor(owner, () => acquired),
      realpath: false,
      lockfilePath: `${target}.lock`,
      stale: LOCK_STALE_MS,
      retries: opts.wait === false ? 0 : { retries: 40, factor: 1.3, minTimeout: 20, maxTimeout: 500 },
      // The library's default throws from its refresh timer: an uncaught exception.
      onCompromised: (err) => {
        lost ??= compromiseReason(err)
      },
    })
    acquired = true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new TesseraError('locked', `${path} is being changed by another process; try again`)
    }
    throw new TesseraError('file_error', `could not lock ${path}: ${systemReason(err)}`)
  }
  const lockDir = `${target}.lock`
  const lock: HeldLock = {
    assertHeld: async (moment) => {
      const line = lost === undefined ? await new Promise<string>((done) => readOwner(lockDir, done)) : owner
      if (line !== owner) lost ??= line === '' ? 'its lock was removed by someone else' : 'another process took its lock over'
      if (lost !== undefined) throw lockLost(path, lost, moment)
    },
  }
  try {
    for (const temp of await deadTemps(target)) await unlink(temp).catch(() => undefined)
    return await task(target, lock)
  } finally {
    await release().catch(() => undefined)
  }
}

/**
 * Removes what a killed process left beside `path`: a lock whose holder is
 * gone (or that has gone stale) is taken over and released, and dead temp
 * files go with it. A lock still held, or a directory Tessera cannot write,
 * is left as it is.
 */
export async function clearLitter(path: string): Promise<void> {
  const target = await realTarget(path).catch(() => path)
  const lockDir = `${target}.lock`
  const names = await readdir(dirname(target)).catch(() => [] as string[])
  const prefix = `.${basename(target)}.`
  const litter = names.includes(basename(lockDir)) || names.some((n) => n.startsWith(prefix) && n.endsWith('.tmp'))
  if (litter) await withFileLock(target, async () => undefined, { wait: false }).catch(() => undefined)
}
