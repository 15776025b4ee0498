import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { copyFile, readFile } from 'node:fs/promises'
import { scryptSync } from 'node:crypto'
import { join } from 'node:path'
import { LocalEngine } from '../src-main/engine/local-engine'
import { codecFor } from '../src-main/engine/share-codec'
import { makeKeyset, mistypeAt, SCHEMES, tempDir } from './helpers/keysets'

/** Every scrypt the process runs, counted: a share check must derive one check value, not one per share. */
const derived = vi.hoisted(() => ({ count: 0 }))
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>()
  const scrypt = ((...args: Parameters<typeof real.scrypt>) => {
    derived.count++
    return real.scrypt(...args)
  }) as typeof real.scrypt
  return { ...real, scrypt, default: { ...real, scrypt } }
})

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())
beforeEach(() => {
  derived.count = 0
})

const FIXTURES = join(import.meta.dirname, 'fixtures')

describe('format 3: a share\'s check value is scrypt, slow on purpose', () => {
  it('records the scrypt parameters and salt, and each check value is scrypt of the share', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 6, threshold: 3 })
    const json = JSON.parse(await readFile(ks.path, 'utf8'))
    expect(json.tessera_keyset).toBe(3)
    expect(json).not.toHaveProperty('share_salt')
    expect(json.share_check).toMatchObject({ kdf: 'scrypt', n: 16384, r: 8, p: 1 })
    const salt = Buffer.from(json.share_check.salt, 'base64')
    expect(salt).toHaveLength(32)
    const codec = codecFor('vault', 3)
    for (const [i, key] of ks.keys.entries()) {
      const share = codec.parse(Buffer.from(key))
      const expected = scryptSync(share, salt, 32, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 })
      expect(json.issued_shares[i].check).toBe(expected.toString('base64'))
    }
  })

  it('checks an entered share with one derivation (the one its number names), taking at least 10 ms of a core', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 20, threshold: 3, holders: Array.from({ length: 20 }, (_, i) => `Holder ${i + 1}`) })
    const engine = await LocalEngine.open(ks.path)
    try {
      derived.count = 0
      const times: number[] = []
      for (const at of [17, 3, 11]) {
        const t0 = performance.now()
        expect(await engine.keyset.check(Buffer.from(ks.keys[at]!))).toEqual({ number: at + 1, holder: `Holder ${at + 1}`, checked: true, valid: true })
        times.push(performance.now() - t0)
      }
      expect(derived.count).toBe(3)
      expect(Math.min(...times)).toBeGreaterThanOrEqual(10)

      const typo = await engine.keyset.check(Buffer.from(mistypeAt(ks.keys[4]!, 6)))
      expect(typo).toMatchObject({ valid: false, code: 'share_mismatch', reason: 'this does not match share 5 (Holder 5) — probably a typing mistake' })
      expect(derived.count).toBe(4)

      // An update checks the share it is given, once.
      const { status: { nonce } } = await engine.start('root', {})
      await engine.update('root', { key: Buffer.from(ks.keys[9]!), nonce })
      await expect(engine.update('root', { key: Buffer.from(mistypeAt(ks.keys[2]!, 8)), nonce })).rejects.toMatchObject({ code: 'share_mismatch' })
      expect(derived.count).toBe(6)
    } finally {
      await engine.close()
    }
  })

  it.each(SCHEMES)('proves the share that completes the set by the combination, and checks it alone only to refuse it (%s shares)', async (scheme) => {
    const ks = await makeKeyset(tmp.dir, { scheme, shares: 5, threshold: 3, holders: ['Ann', 'Ben', 'Cy', 'Di', 'Ed'] })
    const engine = await LocalEngine.open(ks.path)
    derived.count = 0
    try {
      const { status: { nonce } } = await engine.start('root', {})
      await engine.update('root', { key: Buffer.from(ks.keys[0]!), nonce })
      await engine.update('root', { key: Buffer.from(ks.keys[3]!), nonce })
      expect(derived.count).toBe(2)

      // A mistyped last share, and a mistyped copy of a share already given: the
      // combination fails, the share's own check names it, and the progress stays.
      for (const typo of [mistypeAt(ks.keys[2]!, 8), mistypeAt(ks.keys[0]!, 8)]) {
        const before = derived.count
        await expect(engine.update('root', { key: Buffer.from(typo), nonce })).rejects.toMatchObject({ code: 'share_mismatch' })
        expect(derived.count).toBe(before + 1)
        expect((await engine.status('root')).progress).toBe(2)
      }
      // A typing mistake in the share's number that makes it another holder's
      // number is a mistyped share, not someone else's: its own check says so.
      const numberOf = (share: string, other: string) => (scheme === 'vault' ? share.slice(0, -2) + other.slice(-2) : share[0] + other.slice(1, 3) + share.slice(3))
      await expect(engine.update('root', { key: Buffer.from(numberOf(ks.keys[2]!, ks.keys[4]!)), nonce, holder: 'Cy' })).rejects.toMatchObject({
        code: 'share_mismatch',
        message: 'this does not match share 5 (Ed) — probably a typing mistake',
      })
      // Another holder's share is refused, once its own check proved it is theirs.
      await expect(engine.update('root', { key: Buffer.from(ks.keys[2]!), nonce, holder: 'Ed' })).rejects.toMatchObject({ code: 'share_other_holder' })
      expect((await engine.status('root')).progress).toBe(2)
      const before = derived.count

      // The right last share: no check value derived, its number and holder from the keyset, proven.
      const done = await engine.update('root', { key: Buffer.from(ks.keys[2]!), nonce, holder: 'Cy' })
      expect(derived.count).toBe(before)
      expect(done.status.complete).toBe(true)
      expect(done.share).toEqual({ number: 3, holder: 'Cy', checked: true })
    } finally {
      await engine.close()
    }
  })

  it('derives the check value of a share the share flow issues with the keyset\'s own parameters', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const engine = await LocalEngine.open(ks.path)
    try {
      await engine.start('share', {})
      await engine.update('share', { key: Buffer.from(ks.keys[0]!), nonce: '' })
      const { status: done } = await engine.update('share', { key: Buffer.from(ks.keys[2]!), nonce: '' })
      expect(done.complete).toBe(true)
      const json = JSON.parse(await readFile(ks.path, 'utf8'))
      expect(json.tessera_keyset).toBe(3)
      const share = codecFor('vault', 2).parse(Buffer.from(done.key!))
      const expected = scryptSync(share, Buffer.from(json.share_check.salt, 'base64'), 32, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 })
      expect(json.issued_shares[3].check).toBe(expected.toString('base64'))
      expect(await engine.keyset.check(Buffer.from(done.key!))).toMatchObject({ number: 4, valid: true })
    } finally {
      await engine.close()
    }
  })
})

describe.each(SCHEMES)('a format-2 keyset written before format 3 (%s shares)', (scheme) => {
  it('opens, checks shares by their HMAC, runs both flows and stays format 2 when written', async () => {
    const path = join(tmp.dir, `v2-${scheme}.json`)
    await copyFile(join(FIXTURES, `keyset-v2-${scheme}.json`), path)
    const handed = JSON.parse(await readFile(join(FIXTURES, `keyset-v2-${scheme}.handed-out.json`), 'utf8')) as { keys: string[]; root_token: string }
    const engine = await LocalEngine.open(path)
    try {
      expect(engine.keyset.canCheckShares).toBe(true)
      expect(await engine.keyset.check(Buffer.from(handed.keys[1]!))).toEqual({ number: 2, holder: 'Bob', checked: true, valid: true })
      expect(await engine.keyset.check(Buffer.from(mistypeAt(handed.keys[2]!, 8)))).toMatchObject({ valid: false, code: 'share_mismatch' })
      expect(await engine.lookupToken(handed.root_token)).toMatchObject({ type: 'root' })

      await engine.start('share', {})
      await engine.update('share', { key: Buffer.from(handed.keys[0]!), nonce: '' })
      const { status: done } = await engine.update('share', { key: Buffer.from(handed.keys[2]!), nonce: '' })
      expect(await engine.keyset.check(Buffer.from(done.key!))).toEqual({ number: 4, holder: null, checked: true, valid: true })

      const { status: { nonce } } = await engine.start('root', {})
      await engine.update('root', { key: Buffer.from(done.key!), nonce })
      expect((await engine.update('root', { key: Buffer.from(handed.keys[1]!), nonce })).status.complete).toBe(true)
      // Format 2 derives no scrypt: its check values stay HMACs.
      expect(derived.count).toBe(0)

      const json = JSON.parse(await readFile(path, 'utf8'))
      expect(json).toMatchObject({ tessera_keyset: 2 })
      expect(json.share_salt).toEqual(expect.any(String))
      expect(json).not.toHaveProperty('share_check')
      expect(json.issued_shares).toHaveLength(4)
      expect(json.tokens).toHaveLength(2)
    } finally {
      await engine.close()
    }
  })
})
