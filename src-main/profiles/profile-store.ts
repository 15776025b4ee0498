import { randomUUID } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import * as v from 'valibot'
import { writeFileAtomic } from '../support/files'
import { TesseraError } from '../support/errors'

import { Profile, ProfileInput } from './profile-schema'

export type { Profile, ProfileInput }

const ProfilesFile = v.strictObject({ tessera_profiles: v.literal(1), profiles: v.array(Profile) })

export class ProfileError extends TesseraError {
  constructor(message: string) {
    super(400, message, 'profile')
  }
}

export class ProfileStore {
  private constructor(
    private readonly path: string,
    private profiles: Profile[],
  ) {}

  static async open(path: string): Promise<ProfileStore> {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new ProfileStore(path, [])
      throw new ProfileError(`cannot read profiles ${path}: ${(err as Error).message}`)
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new ProfileError(`${path} is corrupt: not valid JSON`)
    }
    const parsed = v.safeParse(ProfilesFile, json)
    if (!parsed.success) throw new ProfileError(`${path} is not a Tessera profiles file: ${parsed.issues[0].message}`)
    return new ProfileStore(path, parsed.output.profiles)
  }

  list(): Profile[] {
    return this.profiles.map((p) => ({ ...p }))
  }

  get(id: string): Profile {
    const found = this.profiles.find((p) => p.id === id)
    if (!found) throw new ProfileError(`no profile ${id}`)
    return { ...found }
  }

  /** Adds a profile, or replaces the one with `id`. */
  async save(input: ProfileInput, id?: string): Promise<Profile> {
    const parsed = v.safeParse(ProfileInput, input)
    if (!parsed.success) throw new ProfileError(`profile ${parsed.issues[0].path?.[0]?.key ?? ''}: ${parsed.issues[0].message}`)
    if (id !== undefined) this.get(id)
    const profile: Profile = { id: id ?? randomUUID(), ...parsed.output }
    const next = id === undefined ? [...this.profiles, profile] : this.profiles.map((p) => (p.id === id ? profile : p))
    await this.write(next)
    return { ...profile }
  }

  async remove(id: string): Promise<void> {
    this.get(id)
    await this.write(this.profiles.filter((p) => p.id !== id))
  }

  private async write(next: Profile[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 })
    await writeFileAtomic(this.path, `${JSON.stringify({ tessera_profiles: 1, profiles: next }, null, 2)}\n`, { overwrite: true })
    this.profiles = next
  }
}
