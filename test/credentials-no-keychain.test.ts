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
    // The headline is for operators; the technical reason is the detail.
    expect(warning?.message).toBe("Tokens can't be saved on this computer: no system keychain is available. You'll be asked for the token each time.")
    expect(warning?.message).not.toMatch(/D-Bus/)
    expect(warning?.detail).toMatch(/secret service did not answer \(.*D-Bus/)
    await store.set('p1', 'hvs.token')
    expect(await store.get('p1')).toBe('hvs.token')
    await store.delete('p1')
    expect(await store.get('p1')).toBeUndefined()
  })
})
