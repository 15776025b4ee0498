import type { Connections } from '../profiles/connections'
import type { ProfileInput } from '../profiles/profile-schema'
import type { ConnectionTest, ProfileList, ProfileView } from '../profiles/views'
import { noProfiles } from './ceremony-session'

/** The server profiles this window offers; refused where it offers none. */
export class Profiles {
  constructor(private readonly connections: Connections | undefined) {}

  async list(): Promise<ProfileList> {
    const c = this.offered()
    const w = c.keychainWarning
    return { profiles: await c.list(), credentials: c.credentials.kind, warning: w?.message ?? null, warningDetail: w?.detail ?? null }
  }

  save(profile: ProfileInput, id: string | undefined, token: string | null | undefined): Promise<ProfileView> {
    return this.offered().save(profile, id, token)
  }

  async remove(id: string): Promise<{ removed: true }> {
    await this.offered().remove(id)
    return { removed: true }
  }

  test(id: string, token?: string): Promise<ConnectionTest> {
    return this.offered().test(id, token)
  }

  private offered(): Connections {
    if (!this.connections) throw noProfiles()
    return this.connections
  }
}
