import type { ConnectionTest, Input, ProfileList, ProfileView, TesseraApi } from '../../../src-main/ipc/channels'

/** The remote server profiles main keeps (their tokens in the keychain): the remote panel's calls. */
export class Profiles {
  constructor(private readonly api: TesseraApi) {}

  list(): Promise<ProfileList> {
    return this.api.profiles.list()
  }

  save(input: Input<'profiles.save'>): Promise<ProfileView> {
    return this.api.profiles.save(input)
  }

  async remove(id: string): Promise<void> {
    await this.api.profiles.remove({ id })
  }

  /** Reaches the profile's server without opening it; `token` is tried instead of the saved one. */
  test(id: string, token?: string): Promise<ConnectionTest> {
    return this.api.profiles.test({ id, ...(token ? { token } : {}) })
  }
}
