import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Keyset } from '../src-main/engine/keyset'
import { checkHolders, withIntegrity } from '../src-main/engine/keyset-format'
import { codecFor } from '../src-main/engine/share-codec'
import { initKeyset } from '../src-main/engine/init'
import { makeKeyset, SCHEMES, tempDir } from './helpers/keysets'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

describe.each(SCHEMES)('%s keyset file', (scheme) => {
  it('is private, versioned, and holds no share or token', async () => {
    const ks = await makeKeyset(tmp.dir, { scheme })
    const info = await stat(ks.path)
    expect(info.mode & 0o777).toBe(0o600)
    const text = await readFile(ks.path, 'utf8')
    const json = JSON.parse(text)
    expect(json).toMatchObject({ tessera_keyset: 3, scheme, secret_shares: 5, secret_threshold: 3 })
    for (const secret of [...ks.keys, ...ks.keys_base64, ks.rootToken]) expect(text).not.toContain(secret)
  })

  it('verifies the combined key and rejects any other', async () => {
    const ks = await makeKeyset(tmp.dir, { scheme })
    const keyset = await Keyset.open(ks.path)
    const codec = codecFor(scheme, 3)
    const shares = ks.keys.slice(0, 3).map((k) => codec.parse(Buffer.from(k)))
    const combined = await codec.combine(shares)
    expect(keyset.verify(combined)).toBe(true)
    combined[0] = combined[0]! ^ 1
    expect(keyset.verify(combined)).toBe(false)
    expect(keyset.verify(Buffer.alloc(32))).toBe(false)
    expect(keyset.verify(Buffer.alloc(16))).toBe(false)
  })

  it('refuses to overwrite an existing keyset', async () => {
    const ks = await makeKeyset(tmp.dir, { scheme })
    const before = await readFile(ks.path, 'utf8')
    await expect(makeKeyset(tmp.dir, { scheme, name: ks.path.split('/').pop()! })).rejects.toThrow(/already exists/)
    expect(await readFile(ks.path, 'utf8')).toBe(before)
  })
})

describe('keyset validation', () => {
  it('applies Vault\'s share limits', async () => {
    const cases: Array<[number, number, RegExp]> = [
      [0, 0, /shares must be/],
      [256, 3, /shares must be/],
      [3, 4, /threshold cannot be larger/],
      [3, 1, /threshold must be greater than one/],
      [3, 0, /threshold must be/],
    ]
    for (const [shares, threshold, message] of cases) {
      await expect(
        initKeyset({ path: join(tmp.dir, `bad-${shares}-${threshold}.json`), shares, threshold, scheme: 'vault' }, async () => 0),
      ).rejects.toThrow(message)
    }
  })

  it('words a bad holder name as every schema issue is worded, never repeating what was given', () => {
    expect(() => checkHolders([''], 1)).toThrow(/^holder name 1 must not be empty$/)
    expect(() => checkHolders(['Alice', 'x'.repeat(65)], 2)).toThrow(/^holder name 2 must be at most 64 characters$/)
    // A caller past the IPC schema could pass anything; valibot's own message would quote it.
    expect(() => checkHolders([4242 as unknown as string], 1)).toThrow(/^holder name 1: expected string$/)
    expect(() => checkHolders([{ share: 'hvs.secret' } as unknown as string], 1)).toThrow(/^holder name 1: expected string$/)
  })

  it('leaves no keyset behind when handing out the shares fails', async () => {
    const path = join(tmp.dir, 'never.json')
    await expect(
      initKeyset({ path, shares: 3, threshold: 2, scheme: 'vault' }, async () => {
        throw new Error('PGP encryption failed')
      }),
    ).rejects.toThrow('PGP encryption failed')
    expect((await readdir(tmp.dir)).filter((f) => f.includes('never'))).toEqual([])
  })

  it('names what is wrong with a corrupt or foreign file', async () => {
    const ks = await makeKeyset(tmp.dir)
    const good = JSON.parse(await readFile(ks.path, 'utf8'))
    const write = async (name: string, content: string) => {
      const p = join(tmp.dir, name)
      await writeFile(p, content)
      return p
    }
    await expect(Keyset.open(join(tmp.dir, 'missing.json'))).rejects.toThrow(/no keyset at .*tessera init/)
    await expect(Keyset.open(await write('trunc.json', '{"tessera_keyset": 1, "sch'))).rejects.toThrow(/is corrupt: not valid JSON/)
    await expect(Keyset.open(await write('future.json', JSON.stringify({ ...good, tessera_keyset: 5 })))).rejects.toThrow(
      /format 5; this Tessera reads formats 1 to 4/,
    )
    await expect(Keyset.open(await write('noring.json', JSON.stringify(withIntegrity({ ...good, keyring: undefined }))))).rejects.toThrow(
      /not a valid Tessera keyset: keyring/,
    )
    await expect(
      Keyset.open(await write('inverted.json', JSON.stringify(withIntegrity({ ...good, secret_threshold: 9 })))),
    ).rejects.toThrow(/secret_threshold exceeds secret_shares/)
    await expect(Keyset.open(await write('other.json', '{"hello": "world"}'))).rejects.toMatchObject({ code: 'keyset' })
  })

  it('binds the threshold configuration to the keyring', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 5, threshold: 3 })
    const json = JSON.parse(await readFile(ks.path, 'utf8'))
    const edited = join(tmp.dir, 'edited.json')
    await writeFile(edited, JSON.stringify(withIntegrity({ ...json, secret_threshold: 2 })))
    const keyset = await Keyset.open(edited)
    const codec = codecFor('vault', 3)
    const combined = await codec.combine(ks.keys.slice(0, 3).map((k) => codec.parse(Buffer.from(k))))
    expect(keyset.verify(combined)).toBe(false)
  })
})
