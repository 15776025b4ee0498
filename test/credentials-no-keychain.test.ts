import { describe, expect, it } from 'vitest'
import { credentialStore, openKeychain } from '../src-main/profiles/credentials'

// This file runs in its own process: without a D-Bus session no keychain can answer.
delete process.env.DBUS_SESSION_BUS_ADDRESS
delete process.env.DISPLAY

describe('without an OS keychain', () => {
  it('says why, instead of crashing', async () => {
    await expect(openKeychain('dev.tessera.test-none')).rejects.toThrow(/the secret service did not answer \(.*D-Bus/)
  })

  it('falls back to tokens kept for this session only, and says so', async () => {
    const { store, warning } = await credentialStore('dev.tessera.test-none')
    expect(store.kind).toBe('session')
    expect(warning).toMatch(/^No OS keychain is available: .*Tokens are asked for each session and never saved\.$/)
    await store.set('p1', 'hvs.token')
    expect(await store.get('p1')).toBe('hvs.token')
    await store.delete('p1')
    expect(await store.get('p1')).toBeUndefined()
  })
})
