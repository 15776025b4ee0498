import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { performance } from 'node:perf_hooks'
import { LocalEngine } from '../src-main/engine/local-engine'
import { makeKeyset, SCHEMES, tempDir } from '../test/helpers/keysets'

// Part of `npm run bench`. What a holder waits for: one share checked as it is entered, and the last
// share of a 255-of-255 ceremony (check, combine, verify, token, locked write).
let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir()
})
afterAll(() => tmp.cleanup())

const ms = (n: number) => `${n.toFixed(3)} ms`

describe.each(SCHEMES)('%s keyset, 255 of 255', (scheme) => {
  it('times a share check and the last share of a ceremony', async () => {
    const ks = await makeKeyset(tmp.dir, { scheme, shares: 255, threshold: 255 })
    const engine = await LocalEngine.open(ks.path)

    const rounds = 10
    const t0 = performance.now()
    for (let r = 0; r < rounds; r++) for (const key of ks.keys) expect((await engine.keyset.check(Buffer.from(key))).valid).toBe(true)
    const perCheck = (performance.now() - t0) / (rounds * ks.keys.length)

    const last: number[] = []
    for (let r = 0; r < 5; r++) {
      const { status: { nonce } } = await engine.start('root', {})
      for (const key of ks.keys.slice(0, 254)) await engine.update('root', { key: Buffer.from(key), nonce })
      const t = performance.now()
      const done = await engine.update('root', { key: Buffer.from(ks.keys[254]!), nonce })
      last.push(performance.now() - t)
      expect(done.complete).toBe(true)
    }
    last.sort((a, b) => a - b)
    console.log(`${scheme}: share check ${ms(perCheck)} per share; last share of 255-of-255: median ${ms(last[2]!)}, max ${ms(last[4]!)}`)
  })
})
