import { randomBytes } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_SUBKEYS } from '../src-main/crypto/pgp'
import { KEYSET_LIMIT, MAX_EARLIER_GENERATIONS, MAX_TOKENS, serialize, type KeysetV4 } from '../src-main/engine/keyset-format'
import { Keyset } from '../src-main/engine/keyset'
import { LocalEngine } from '../src-main/engine/local-engine'
import { newTokenRecord } from '../src-main/engine/tokens'
import { MAX_HOLDER_CHARS } from '../src-shared/holder-name'
import { makeKeyset, tempDir } from './helpers/keysets'

/**
 * The largest keyset Tessera can write must load again: every limit of the
 * format at once (255 shares with the longest names and most PGP keys, every
 * earlier generation kept, the most root tokens), under the read limit.
 */

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir('tessera-keyset-largest-')
})
afterAll(() => tmp.cleanup())

/** 64 characters of three UTF-8 bytes each (CJK ideographs), each name its own. */
const holder = (i: number) => Array.from({ length: MAX_HOLDER_CHARS }, (_, j) => String.fromCodePoint(0x4e00 + ((i * MAX_HOLDER_CHARS + j) % 20000))).join('')
const check = () => randomBytes(32).toString('base64')

/** `path`'s keyset grown to every limit at once; its keyring, and so its shares, unchanged. */
async function largest(path: string): Promise<KeysetV4> {
  const small = JSON.parse(await readFile(path, 'utf8')) as KeysetV4
  const salt = Buffer.from(small.token_salt, 'base64')
  const shares = Array.from({ length: 255 }, (_, i) => ({ x: i + 1, holder: holder(i), check: check() }))
  return {
    ...small,
    tessera_keyset: 4,
    generation: MAX_EARLIER_GENERATIONS + 1,
    secret_shares: 255,
    secret_threshold: small.secret_threshold,
    issued_shares: shares.map((s) => ({ ...s, pgp_keys: Array.from({ length: MAX_SUBKEYS + 1 }, () => randomBytes(32).toString('hex')) })),
    tokens: Array.from({ length: MAX_TOKENS }, () => newTokenRecord(salt, randomBytes(28))),
    earlier_generations: Array.from({ length: MAX_EARLIER_GENERATIONS }, (_, g) => ({
      generation: g + 1,
      replaced_at: new Date().toISOString(),
      share_check: small.share_check,
      shares: shares.map((s) => ({ ...s, check: check() })),
    })),
  }
}

describe('the largest keyset', () => {
  it('is written within the read limit, not far below it, and loads again', async () => {
    const k = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const { text } = serialize(await largest(k.path))
    await writeFile(k.path, text)
    const size = (await stat(k.path)).size
    expect(size).toBeLessThanOrEqual(KEYSET_LIMIT.bytes)
    expect(size).toBeGreaterThan(KEYSET_LIMIT.bytes * 0.6)
    const opened = await Keyset.open(k.path)
    expect(opened.threshold).toBe(2)
  })

  it('records no root token past its most: refused at the start, and at the last share when another process took the last room', async () => {
    const k = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
    const small = JSON.parse(await readFile(k.path, 'utf8')) as KeysetV4
    const salt = Buffer.from(small.token_salt, 'base64')
    const tokens = Array.from({ length: MAX_TOKENS - 1 }, () => newTokenRecord(salt, randomBytes(28)))
    const { integrity: _, ...content } = small
    await writeFile(k.path, serialize({ ...content, tokens, integrity: '' }).text)

    const engine = await LocalEngine.open(k.path)
    try {
      const { status } = await engine.start('root', {})
      await engine.update('root', { key: Buffer.from(k.keys[0]!), nonce: status.nonce })
      // Another program on this keyset makes the last root token it can hold.
      await (await Keyset.open(k.path)).addRootToken(randomBytes(28))
      await expect(engine.update('root', { key: Buffer.from(k.keys[1]!), nonce: status.nonce })).rejects.toMatchObject({ code: 'token_limit' })
    } finally {
      await engine.close()
    }
    const full = await Keyset.open(k.path)
    expect(JSON.parse(await readFile(k.path, 'utf8')).tokens).toHaveLength(MAX_TOKENS)
    await expect(full.addRootToken(randomBytes(28))).rejects.toMatchObject({ code: 'token_limit' })

    const again = await LocalEngine.open(k.path)
    try {
      await expect(again.start('root', {})).rejects.toMatchObject({
        code: 'token_limit',
        message: 'this keyset already records 10,000 root tokens, the most it holds: revoke tokens no longer used, then start again',
      })
    } finally {
      await again.close()
    }
  })
})
