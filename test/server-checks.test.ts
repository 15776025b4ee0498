import { randomBytes } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_SUBKEYS } from '../src-main/crypto/pgp'
import { SCRYPT_WRITTEN, withIntegrity } from '../src-main/engine/keyset-format'
import { MAX_HOLDER_CHARS } from '../src-shared/holder-name'
import {
  CHECKS_LIMIT,
  MAX_EARLIER_SERVER_GENERATIONS,
  identifyServerShare,
  newServerChecks,
  promotePending,
  readServerChecks,
  SERVER_CHECKS_FORMAT,
  withPending,
  writeServerChecks,
  type ServerChecks,
} from '../src-main/profiles/server-checks'
import { tempDir } from './helpers/keysets'

/**
 * The server check file on its own: its generations (current, pending and
 * earlier ones) and its size at the largest a file may be.
 */

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir('tessera-server-checks-')
})
afterAll(() => tmp.cleanup())

const SERVER = 'http://127.0.0.1:8200'
/** A Vault share (32 bytes and its number), as hex text. */
const shareText = (x: number) => Buffer.concat([randomBytes(32), Buffer.of(x)]).toString('hex')

/** Generation `generation` at its largest: 255 shares, each with the longest holder name in UTF-8 bytes and the most PGP fingerprints. */
function largestGeneration(generation: number) {
  const salt = randomBytes(16).toString('base64')
  // 64 characters of three UTF-8 bytes each (CJK ideographs), each name its own.
  const holder = (i: number) => Array.from({ length: MAX_HOLDER_CHARS }, (_, j) => String.fromCodePoint(0x4e00 + ((i * MAX_HOLDER_CHARS + j) % 20000))).join('')
  const fingerprint = () => randomBytes(32).toString('hex')
  return {
    generation,
    created_at: new Date().toISOString(),
    secret_shares: 255,
    secret_threshold: 255,
    share_check: { ...SCRYPT_WRITTEN, n: 2 ** 16, r: 16, p: 2, salt },
    shares: Array.from({ length: 255 }, (_, i) => ({
      number: i + 1,
      x: i + 1,
      holder: holder(i),
      check: randomBytes(32).toString('base64'),
      pgp_keys: Array.from({ length: MAX_SUBKEYS + 1 }, fingerprint),
    })),
  }
}

describe('the server check file', () => {
  it('at its largest (every earlier generation kept, a pending one, 255 shares with the longest names and most keys) is written and read back under its limit', async () => {
    const path = join(tmp.dir, 'largest.json')
    const earlier = Array.from({ length: MAX_EARLIER_SERVER_GENERATIONS }, (_, i) => {
      const { generation, share_check, shares } = largestGeneration(i + 1)
      return { generation, replaced_at: new Date().toISOString(), share_check, shares: shares.map(({ x, holder, check }) => ({ x, holder, check })) }
    })
    const checks = withIntegrity({
      tessera_server_checks: SERVER_CHECKS_FORMAT,
      server: `https://${'v'.repeat(240)}.example:8200`,
      cluster_id: 'c'.repeat(128),
      ...largestGeneration(MAX_EARLIER_SERVER_GENERATIONS + 2),
      pending: largestGeneration(MAX_EARLIER_SERVER_GENERATIONS + 3),
      earlier_generations: earlier,
    }) as ServerChecks
    await writeServerChecks(path, checks)
    const size = (await stat(path)).size
    expect(size).toBeLessThanOrEqual(CHECKS_LIMIT.bytes)
    // The limit is the worst case's, not far above it.
    expect(size).toBeGreaterThan(CHECKS_LIMIT.bytes * 0.75)
    expect(await readServerChecks(path)).toEqual(checks)

    // One earlier generation more is refused by name.
    const { integrity: _, ...content } = checks
    const tooMany = withIntegrity({ ...content, earlier_generations: [...earlier, { ...earlier[0]!, generation: MAX_EARLIER_SERVER_GENERATIONS + 1 }] })
    await writeFile(path, JSON.stringify(tooMany))
    await expect(readServerChecks(path)).rejects.toThrow(/is not a valid server check file: earlier_generations has too many entries$/)
  })

  it('keeps the generations a rekey replaced, at most MAX_EARLIER_SERVER_GENERATIONS, and refuses their shares as replaced, with the date', async () => {
    let checks = await newServerChecks(SERVER, 1, [{ share: Buffer.from(shareText(1), 'hex'), holder: 'Alice' }])
    const byGeneration: string[] = []
    for (let g = 1; g <= MAX_EARLIER_SERVER_GENERATIONS + 1; g++) {
      const share = shareText(1)
      byGeneration.push(share)
      checks = promotePending(await withPending(checks, g, 1, [{ share: Buffer.from(share, 'hex'), holder: 'Alice' }]), `2026-01-${String(g).padStart(2, '0')}T10:00:00.000Z`)
    }
    expect(checks.generation).toBe(MAX_EARLIER_SERVER_GENERATIONS + 2)
    expect(checks.earlier_generations!.map((g) => g.generation)).toEqual(Array.from({ length: MAX_EARLIER_SERVER_GENERATIONS }, (_, i) => i + 2))
    const path = join(tmp.dir, 'generations.json')
    await writeServerChecks(path, checks)
    const read = (await readServerChecks(path))!
    // Nothing but check values is kept of an earlier generation.
    expect(Object.keys(read.earlier_generations![0]!.shares[0]!).sort()).toEqual(['check', 'holder', 'x'])
    // Generation 4's share, its x the current one's: replaced, not mistyped.
    await expect(identifyServerShare(read, Buffer.from(byGeneration[2]!))).rejects.toMatchObject({
      code: 'share_replaced',
      message: "this share is from generation 4 of this server's shares; it was replaced on 2026-01-04: a rekey made new shares, and only those open it now",
    })
    expect(await identifyServerShare(read, Buffer.from(byGeneration.at(-1)!))).toEqual({ number: 1, holder: 'Alice', generation: MAX_EARLIER_SERVER_GENERATIONS + 2 })
  })

  it('reads format 1 and 2 files as they were written, and names a newer format', async () => {
    const path = join(tmp.dir, 'old.json')
    const current = await newServerChecks(SERVER, 2, [1, 2, 3].map((x) => ({ share: Buffer.from(shareText(x), 'hex'), holder: null })))
    const { integrity: _i, earlier_generations: _e, ...content } = current
    for (const format of [1, 2]) {
      const old = withIntegrity({ ...content, tessera_server_checks: format })
      await writeFile(path, JSON.stringify(old))
      expect(await readServerChecks(path)).toEqual(old)
    }
    // A format 2 file carries no earlier generations.
    await writeFile(path, JSON.stringify(withIntegrity({ ...content, tessera_server_checks: 2, earlier_generations: [] })))
    await expect(readServerChecks(path)).rejects.toThrow(/earlier_generations needs format 3/)
    await writeFile(path, JSON.stringify(withIntegrity({ ...content, tessera_server_checks: 4 })))
    await expect(readServerChecks(path)).rejects.toThrow(`the server check file ${path} uses format 4; this Tessera reads formats 1 to 3: upgrade Tessera`)
    expect(await readFile(path, 'utf8')).not.toContain('key')
  })
})
