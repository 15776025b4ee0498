import { afterAll, describe, expect, it } from 'vitest'
import { randomUUID } from 'node:crypto'
import { openKeychain, type CredentialStore } from '../src-main/profiles/credentials'

// A real secret service: gnome-keyring under dbus-run-session in CI (.ci/run).
// Where none runs, say so; CI must have one, so there the absence fails.
const service = `dev.tessera.test-${randomUUID()}`
let keychain: CredentialStore | undefined
let reason = ''
try {
  keychain = await openKeychain(service)
} catch (err) {
  reason = (err as Error).message
}
if (!keychain) console.log(`[keychain] no OS keychain here: ${reason}`)

describe('the OS keychain (keytar)', () => {
  const ids: string[] = []
  afterAll(async () => {
    for (const id of ids) await keychain?.delete(id)
  })

  it.runIf(process.env.CI === 'true')('is available in CI', () => {
    expect(reason).toBe('')
    expect(keychain?.kind).toBe('keychain')
  })

  it.skipIf(!keychain)('stores, reads back, replaces and deletes a token', async () => {
    const id = randomUUID()
    ids.push(id)
    expect(await keychain!.get(id)).toBeUndefined()
    await keychain!.set(id, 'hvs.first')
    expect(await keychain!.get(id)).toBe('hvs.first')
    await keychain!.set(id, 'hvs.second')
    expect(await keychain!.get(id)).toBe('hvs.second')
    await keychain!.delete(id)
    expect(await keychain!.get(id)).toBeUndefined()
  })
})
