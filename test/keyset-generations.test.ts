import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFile, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LocalEngine } from '../src-main/engine/local-engine'
import { Keyset } from '../src-main/engine/keyset'
import { MAX_EARLIER_GENERATIONS } from '../src-main/engine/keyset-format'
import { downgradeToV1, makeKeyset, tempDir } from './helpers/keysets'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name)

/** A rekey without verification through the engine, as sys/rekey runs it: the new shares (hex). */
async function rekey(engine: LocalEngine, old: string[], to: { shares: number; threshold: number }): Promise<string[]> {
  const checked = await engine.rekey.check({ ...to, pgpKeys: [], backup: false, requireVerification: false, verifyAll: false })
  const { nonce } = await engine.rekey.start(checked)
  for (const key of old) {
    const answer = await engine.rekey.update(engine.rekey.parse(Buffer.from(key)), nonce)
    if ('keys' in answer) return answer.keys
  }
  throw new Error('the rekey did not complete')
}

/** What the keyset says of `key` (hex). */
const check = (keyset: Keyset, key: string) => keyset.check(Buffer.from(key))

describe('keyset generations (format 4)', () => {
  it('a format-2 keyset rekeys into format 4 and still tells its old shares apart by their HMAC check values', async () => {
    const path = join(tmp.dir, 'v2.json')
    await copyFile(fixture('keyset-v2-vault.json'), path)
    const old: string[] = JSON.parse(await readFile(fixture('keyset-v2-vault.handed-out.json'), 'utf8')).keys
    const engine = await LocalEngine.open(path)
    const fresh = await rekey(engine, old, { shares: 3, threshold: 2 })
    const file = JSON.parse(await readFile(path, 'utf8'))
    expect(file).toMatchObject({ tessera_keyset: 4, generation: 2 })
    expect(file.earlier_generations[0]).toHaveProperty('share_salt')
    const reopened = await Keyset.open(path)
    expect(await check(reopened, old[0]!)).toMatchObject({ valid: false, code: 'share_replaced', reason: expect.stringMatching(/^this share is from generation 1 of this keyset/) })
    expect(await check(reopened, fresh[2]!)).toMatchObject({ valid: true, number: 3 })
    // Nothing that opens a generation is kept: no share, no key, in the file's text.
    const text = await readFile(path, 'utf8')
    for (const share of [...old, ...fresh]) expect(text).not.toContain(share.slice(0, 20))
  })

  it('a format-1 keyset rekeys into format 4 (its generation kept no check values to tell its shares by)', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    await downgradeToV1(ks.path)
    const engine = await LocalEngine.open(ks.path)
    const fresh = await rekey(engine, ks.keys.slice(0, 2), { shares: 2, threshold: 2 })
    expect(JSON.parse(await readFile(ks.path, 'utf8')).earlier_generations).toEqual([{ generation: 1, replaced_at: expect.any(String), shares: [] }])
    expect(await check(engine.keyset, fresh[0]!)).toMatchObject({ valid: true, number: 1 })
    expect((await check(engine.keyset, ks.keys[2]!)).valid).toBe(false)
  })

  it('a changed byte in an earlier generation is damage, found when the file is opened', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    await rekey(await LocalEngine.open(ks.path), ks.keys.slice(0, 2), { shares: 3, threshold: 2 })
    const file = JSON.parse(await readFile(ks.path, 'utf8'))
    file.earlier_generations[0].replaced_at = '2020-01-01T00:00:00.000Z'
    await writeFile(ks.path, JSON.stringify(file))
    await expect(Keyset.open(ks.path)).rejects.toThrow(/the keyset file is damaged: .* does not match its integrity check/)
  })

  it(`remembers the last ${MAX_EARLIER_GENERATIONS} earlier generations, and tokens survive every rekey`, async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 1, threshold: 1 })
    const engine = await LocalEngine.open(ks.path)
    let keys = ks.keys
    for (let i = 0; i < MAX_EARLIER_GENERATIONS + 2; i++) keys = await rekey(engine, keys, { shares: 1, threshold: 1 })
    const file = JSON.parse(await readFile(ks.path, 'utf8'))
    expect(file.generation).toBe(MAX_EARLIER_GENERATIONS + 3)
    expect(file.earlier_generations).toHaveLength(MAX_EARLIER_GENERATIONS)
    expect(file.earlier_generations[0].generation).toBe(3)
    expect(await engine.lookupToken(ks.rootToken)).toMatchObject({ type: 'root' })
    expect((await check(await Keyset.open(ks.path), keys[0]!)).valid).toBe(true)
  })

  it('a rekey to a new threshold changes the codec: a 3-of-5 keyset becomes 1-of-1 and back', async () => {
    const ks = await makeKeyset(tmp.dir, { shares: 5, threshold: 3 })
    const engine = await LocalEngine.open(ks.path)
    const single = await rekey(engine, ks.keys.slice(0, 3), { shares: 1, threshold: 1 })
    expect(single[0]).toMatch(/^[0-9a-f]{64}$/)
    const back = await rekey(engine, single, { shares: 4, threshold: 2 })
    expect(back).toHaveLength(4)
    expect(engine.keyset.verify(await engine.keyset.codec.combine(back.slice(1, 3).map((k) => engine.keyset.parseShare(Buffer.from(k)))))).toBe(true)
  })
})
