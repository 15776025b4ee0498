import { access, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import * as v from 'valibot'
import { readRegularFile } from '../support/bounded-read'
import { writeFileAtomic, withFileLock } from '../support/files'
import type { RecentKeyset } from './views'

const MAX_RECENT = 8
/** Eight paths of at most 4096 characters, as JSON. */
const RECENT_LIMIT = { bytes: 64 * 1024, what: 'the list of recent keysets' }
const Stored = v.array(v.strictObject({ path: v.pipe(v.string(), v.minLength(1), v.maxLength(4096)), recovery: v.boolean() }))

/** Keysets opened lately, newest first, kept beside the profiles: paths and modes only, never a secret. */
export class RecentKeysets {
  private readonly file: string

  constructor(private readonly dir: string) {
    this.file = join(dir, 'recent-keysets.json')
  }

  /** A missing or unreadable list is an empty one: it is a convenience, never a reason to fail. */
  async list(): Promise<RecentKeyset[]> {
    try {
      const parsed = v.safeParse(Stored, JSON.parse((await readRegularFile(this.file, RECENT_LIMIT)).toString('utf8')))
      return parsed.success ? parsed.output.slice(0, MAX_RECENT) : []
    } catch {
      return []
    }
  }

  /** The list as offered to open: a keyset moved or deleted since is not offered. */
  async existing(): Promise<RecentKeyset[]> {
    const all = await this.list()
    const found = await Promise.all(all.map((r) => access(r.path).then(() => true, () => false)))
    return all.filter((_, i) => found[i])
  }

  async add(entry: RecentKeyset): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    await withFileLock(this.file, async (target, lock) => {
      const rest = (await this.list()).filter((r) => r.path !== entry.path)
      await writeFileAtomic(target, `${JSON.stringify([entry, ...rest].slice(0, MAX_RECENT), null, 2)}\n`, { overwrite: true, lock })
    })
  }
}
