import { TesseraError } from '../support/errors'

/**
 * Where profile tokens live: the OS keychain through keytar, and nowhere else.
 * Without a keychain (no D-Bus session, no secret service) tokens are kept for
 * this session only, in memory, and the operator is told why.
 */
export interface CredentialStore {
  readonly kind: 'keychain' | 'session'
  get(profileId: string): Promise<string | undefined>
  set(profileId: string, token: string): Promise<void>
  delete(profileId: string): Promise<void>
}

const SERVICE = 'dev.tessera.profiles'

type Keytar = {
  getPassword(service: string, account: string): Promise<string | null>
  setPassword(service: string, account: string, password: string): Promise<void>
  deletePassword(service: string, account: string): Promise<boolean>
}

class KeychainStore implements CredentialStore {
  readonly kind = 'keychain'
  constructor(
    private readonly keytar: Keytar,
    private readonly service: string,
  ) {}
  async get(id: string) {
    return (await this.keytar.getPassword(this.service, id)) ?? undefined
  }
  async set(id: string, token: string) {
    await this.keytar.setPassword(this.service, id, token)
  }
  async delete(id: string) {
    await this.keytar.deletePassword(this.service, id)
  }
}

/** Tokens for this run only: what the app falls back to without a keychain. */
export class SessionCredentials implements CredentialStore {
  readonly kind = 'session'
  private readonly tokens = new Map<string, string>()
  async get(id: string) {
    return this.tokens.get(id)
  }
  async set(id: string, token: string) {
    this.tokens.set(id, token)
  }
  async delete(id: string) {
    this.tokens.delete(id)
  }
}

/** Opens the OS keychain and proves it answers; throws `keychain_unavailable` with the reason. */
export async function openKeychain(service = SERVICE): Promise<CredentialStore> {
  let keytar: Keytar
  try {
    const mod = (await import('keytar')) as unknown as Keytar & { default?: Keytar }
    keytar = mod.default ?? mod
  } catch (err) {
    throw new TesseraError('keychain_unavailable', `the keychain module could not be loaded (${(err as Error).message.split('\n')[0]})`)
  }
  try {
    await keytar.getPassword(service, '__tessera_probe__')
  } catch (err) {
    throw new TesseraError('keychain_unavailable', `the secret service did not answer (${(err as Error).message.split('\n')[0]})`)
  }
  return new KeychainStore(keytar, service)
}

/** The keychain where there is one; otherwise session-only tokens and the sentence why. */
export async function credentialStore(
  service = SERVICE,
): Promise<{ store: CredentialStore; warning?: { message: string; detail: string } }> {
  try {
    return { store: await openKeychain(service) }
  } catch (err) {
    return {
      store: new SessionCredentials(),
      warning: {
        message: "Tokens can't be saved on this computer: no system keychain is available. You'll be asked for the token each time.",
        detail: `The OS keychain could not be used: ${(err as Error).message}.`,
      },
    }
  }
}
