import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import * as v from 'valibot'
import { readFailure, readRegularFile } from '../support/bounded-read'
import { withFileLock, writeFileAtomic } from '../support/files'
import { hasCode, systemReason, TesseraError } from '../support/errors'
import { describeIssue } from '../support/issues'

import { Profile, ProfileInput } from './profile-schema'

export type { Profile, ProfileInput }

/** Hundreds of profiles fit in a small fraction of this. */
const PROFILES_LIMIT = { bytes: 1024 * 1024, what: 'a profiles file' }

const ProfilesFile = v.strictObject({ tessera_profiles: v.literal(1), profiles: v.array(Profile) })

const profileError = (message: string) => new TesseraError('profile', message)

/**
 * A file that cannot be read as profiles: named with the field and what was
 * expected, never with what the file holds (a hand-edited file may hold anything,
 * a token pasted in the wrong place included).
 */
function damaged(path: string, problem: string): TesseraError {
  return profileError(
    `The server profiles file ${path} is damaged (${problem}): remote servers are unavailable until it is repaired or removed. Local keysets work as before.`,
  )
}

/** The profiles in the file now; none when it does not exist yet. */
async function readProfiles(path: string): Promise<Profile[]> {
  let text: string
  try {
    text = (await readRegularFile(path, PROFILES_LIMIT)).toString('utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw profileError(`cannot read profiles ${path}: ${readFailure(err)}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw damaged(path, 'not valid JSON')
  }
  const parsed = v.safeParse(ProfilesFile, json)
  if (!parsed.success) throw damaged(path, describeIssue(parsed.issues, 'file'))
  return parsed.output.profiles
}

/**
 * Profiles in one JSON file that several processes (the app, `tessera web`) may
 * change at once: every change re-reads the file under a cross-process lock and
 * writes it atomically, and every read comes from the file, so no process works
 * from a stale copy.
 */
export class ProfileStore {
  private constructor(private readonly path: string) {}

  /** Reads nothing yet: a damaged file is reported where profiles are used, and stops nothing else. */
  static async open(path: string): Promise<ProfileStore> {
    return new ProfileStore(path)
  }

  /**
   * Where the check file of the server profile `id` initialized lives: beside
   * the profiles, one per profile. An id that cannot name a file (a hand-edited
   * profile) has none.
   */
  serverChecksPath(id: string): string {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw profileError('this profile\'s id is not made of letters, digits, - and _ only: it cannot name a server check file; save the profile again under a new id')
    return join(dirname(this.path), 'server-checks', `${id}.json`)
  }

  async list(): Promise<Profile[]> {
    return readProfiles(this.path)
  }

  async get(id: string): Promise<Profile> {
    return find(await readProfiles(this.path), id)
  }

  /** Adds a profile, or replaces the one with `id`. */
  async save(input: ProfileInput, id?: string): Promise<Profile> {
    const parsed = v.safeParse(ProfileInput, input)
    if (!parsed.success) throw profileError(`profile ${describeIssue(parsed.issues, 'profile')}`)
    const profile: Profile = { id: id ?? randomUUID(), ...parsed.output }
    await this.change((current) => {
      if (id === undefined) return [...current, profile]
      find(current, id)
      return current.map((p) => (p.id === id ? profile : p))
    })
    return { ...profile }
  }

  async remove(id: string): Promise<void> {
    await this.change((current) => {
      find(current, id)
      return current.filter((p) => p.id !== id)
    })
  }

  /** Read-modify-write under the lock: the file is re-read inside it. */
  private async change(edit: (current: Profile[]) => Profile[]): Promise<void> {
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 })
    } catch (err) {
      throw profileError(`cannot create the directory for ${this.path}: ${systemReason(err)}`)
    }
    await withFileLock(this.path, async (target, lock) => {
      const next = edit(await readProfiles(target))
      try {
        await writeFileAtomic(target, `${JSON.stringify({ tessera_profiles: 1, profiles: next }, null, 2)}\n`, { overwrite: true, lock })
      } catch (err) {
        if (hasCode(err, 'lock_lost')) throw err
        throw profileError(`cannot save profiles to ${this.path}: ${systemReason(err)}`)
      }
    })
  }
}

function find(profiles: Profile[], id: string): Profile {
  const found = profiles.find((p) => p.id === id)
  if (!found) throw profileError(`no profile ${id}`)
  return { ...found }
}
