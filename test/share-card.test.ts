import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { cardLines, readShareText } from '../src-main/engine/share-card'

const readVault = (input: string, textLength: number) => readShareText(input, 'vault', textLength)
import { LocalEngine } from '../src-main/engine/local-engine'
import { runCli } from './helpers/cli'
import { makeKeyset, mistypeAt, tempDir, type TestKeyset } from './helpers/keysets'

const SHARE = '9f2c41aa0b7ed0c35e1b77a0c4d2e9f18a3b6c5d4e7f8091a2b3c4d5e6f708192a'

/** What a holder types from a card: each line as printed, or shaped another way. */
const typed = (lines: string[], shape: (line: string) => string = (l) => l) => lines.map(shape).join('\n')
const withoutChecks = (line: string) => line.replace(/\s+[0-9a-f]{4}$/, '')
const withoutNumbers = (line: string) => line.replace(/^\s*\d+:\s*/, '')
/** The card typed back on one line, without its line numbers but with each line's check. */
const oneLine = (lines: string[]) => lines.map(withoutNumbers).join(' ')

describe('share cards', () => {
  it('lays a share out in numbered lines of four groups of four, each with its check', () => {
    const lines = cardLines(SHARE)
    expect(lines).toHaveLength(5)
    expect(lines[0]).toMatch(/^ 1: 9f2c 41aa 0b7e d0c3 {2}[0-9a-f]{4}$/)
    expect(lines[4]).toMatch(/^ 5: 2a {19}[0-9a-f]{4}$/)
  })

  it('reads a card typed back with or without its numbers, checks and spaces', () => {
    const lines = cardLines(SHARE)
    for (const input of [
      typed(lines),
      typed(lines, withoutChecks),
      typed(lines, withoutNumbers),
      typed(lines, (l) => withoutNumbers(withoutChecks(l))),
      typed(lines, (l) => l.replace(/ /g, '')),
      typed(lines, (l) => l.toUpperCase()).toLowerCase(),
    ]) {
      expect(readVault(input, SHARE.length), input).toBe(SHARE)
    }
    // A share pasted on one line, with spaces, is the share.
    expect(readVault('9f2c 41aa 0b7e d0c3 5e1b 77a0 c4d2 e9f1 8a3b 6c5d 4e7f 8091 a2b3 c4d5 e6f7 0819 2a', SHARE.length)).toBe(SHARE)
  })

  it('names the line that carries a typing mistake', () => {
    const lines = cardLines(SHARE)
    const wrong = [...lines]
    wrong[2] = wrong[2]!.replace(/(\d: )(.)/, (_, p: string, c: string) => `${p}${c === 'a' ? 'b' : 'a'}`)
    expect(() => readVault(typed(wrong), SHARE.length)).toThrow(/^line 3 of the share card does not match its check/)
    const swapped = [lines[1]!, lines[0]!, ...lines.slice(2)]
    expect(() => readVault(typed(swapped), SHARE.length)).toThrow(/line 1 of the share card carries the number 2/)
    expect(() => readVault(typed(swapped, withoutNumbers), SHARE.length)).toThrow(/^line 1 of the share card does not match its check/)
    expect(() => readVault(typed(lines.slice(0, 4), withoutChecks), SHARE.length)).toThrow(/holds 64 characters; a share of this keyset has 66/)
  })

  it('reads a card typed on one line without its numbers but with its checks, and names the mistyped line', () => {
    const lines = cardLines(SHARE)
    expect(readVault(oneLine(lines), SHARE.length)).toBe(SHARE)
    expect(readVault(`  ${oneLine(lines).replace(/ +/g, '   ').toUpperCase()} `, SHARE.length)).toBe(SHARE.toUpperCase())
    // Line 3's first character, mistyped: named by its line, never quoted.
    const at = 32
    const wrong = mistypeAt(SHARE, at)
    const typedWrong = oneLine(lines).replace(SHARE.slice(32, 36), wrong.slice(32, 36))
    expect(() => readVault(typedWrong, SHARE.length)).toThrow(/^line 3 of the share card does not match its check: a character on that line is mistyped$/)
    // A line's check mistyped is that line's mistake too.
    const check5 = lines[4]!.slice(-4)
    const badCheck = oneLine(lines).replace(new RegExp(`${check5}$`), check5[0] === '0' ? `1${check5.slice(1)}` : `0${check5.slice(1)}`)
    expect(() => readVault(badCheck, SHARE.length)).toThrow(/^line 5 of the share card/)
  })

  it('never takes an ordinary hex or base64 share, grouped or not, for a card', () => {
    const group = (text: string, size: number) => text.match(new RegExp(`.{1,${size}}`, 'g'))!.join(' ')
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 34 }),
        fc.constantFrom('hex', 'base64'),
        fc.constantFrom(0, 4, 5, 8),
        // This keyset's share text length (Vault, secrets.js, a single key), or the share's own.
        fc.constantFrom(66, 99, 64, 0),
        (bytes, form, size, length) => {
          const share = Buffer.from(bytes).toString(form as BufferEncoding)
          const input = size === 0 ? share : group(share, size)
          const textLength = length || share.length
          try {
            return readVault(input, textLength) === share
          } catch {
            return false
          }
        },
      ),
      { seed: 20261125, numRuns: 2000 },
    )
  })

  it('finds every single mistyped character of a one-line card by its line', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 33, maxLength: 33 }), fc.nat(65), fc.constantFrom(...'0123456789abcdef'), (bytes, at, c) => {
        const share = Buffer.from(bytes).toString('hex')
        const checks = cardLines(share).map((l) => l.slice(-4))
        // The card's groups, each line followed by its check, all on one line.
        const typedOneLine = (text: string) => checks.map((check, i) => `${text.slice(i * 16, i * 16 + 16).match(/.{1,4}/g)!.join(' ')} ${check}`).join(' ')
        expect(typedOneLine(share)).toBe(oneLine(cardLines(share)).replace(/ +/g, ' '))
        expect(readVault(typedOneLine(share), share.length)).toBe(share)
        if (share[at] === c) return
        const mistyped = share.slice(0, at) + c + share.slice(at + 1)
        expect(() => readVault(typedOneLine(mistyped), share.length)).toThrow(new RegExp(`^line ${Math.floor(at / 16) + 1} of the share card`))
      }),
      { seed: 20261125, numRuns: 300 },
    )
  })

  it('finds every single mistyped character by its line', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 33, maxLength: 33 }), fc.nat(65), fc.constantFrom(...'0123456789abcdef'), (bytes, at, c) => {
        const share = Buffer.from(bytes).toString('hex')
        expect(readVault(typed(cardLines(share)), share.length)).toBe(share)
        if (share[at] === c) return
        const mistyped = share.slice(0, at) + c + share.slice(at + 1)
        const lines = cardLines(share).map((line, i) => {
          const [head, body, check] = /^(\s*\d+: )(.*?)(\s+[0-9a-f]{4})$/.exec(line)!.slice(1)
          const chars = mistyped.slice(i * 16, i * 16 + 16).match(/.{1,4}/g)!.join(' ')
          return `${head}${body!.trim() === chars ? body : chars}${check}`
        })
        expect(() => readVault(typed(lines), share.length)).toThrow(new RegExp(`^line ${Math.floor(at / 16) + 1} of the share card`))
      }),
      { seed: 20261125, numRuns: 300 },
    )
  })
})

describe('share cards against a keyset', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>
  let ks: TestKeyset
  beforeAll(async () => {
    tmp = await tempDir()
    ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
  })
  afterAll(() => tmp.cleanup())

  it('tessera verify-share reads a card, and names a mistyped line', async () => {
    const ok = await runCli(['verify-share', '--keyset', ks.path], { stdin: `${cardLines(ks.keys[1]!).join('\n')}\n` })
    expect(ok.stderr).toBe('')
    expect(ok).toMatchObject({ code: 0, stdout: 'share 2 of 3: valid\n' })
    const lines = cardLines(ks.keys[1]!)
    lines[3] = lines[3]!.replace(/(\d: )(.)/, (_, p: string, c: string) => `${p}${c === '0' ? '1' : '0'}`)
    const bad = await runCli(['verify-share', '--keyset', ks.path], { stdin: lines.join('\n') })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/line 4 of the share card does not match its check/)
    expect(bad.stderr).not.toContain(ks.keys[1]!.slice(16, 32))
  })

  it('tessera verify-share reads a card typed on one line without numbers, and names a mistyped line', async () => {
    const lines = cardLines(ks.keys[2]!)
    const ok = await runCli(['verify-share', '--keyset', ks.path], { stdin: `${oneLine(lines)}\n` })
    expect(ok).toEqual({ code: 0, stdout: 'share 3 of 3: valid\n', stderr: '' })
    lines[1] = lines[1]!.replace(/(\d: )(.)/, (_, p: string, c: string) => `${p}${c === '0' ? '1' : '0'}`)
    const bad = await runCli(['verify-share', '--keyset', ks.path], { stdin: oneLine(lines) })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toBe('tessera verify-share: line 2 of the share card does not match its check: a character on that line is mistyped\n')
  })

  it('a ceremony takes shares typed back from cards', async () => {
    const engine = await LocalEngine.open(ks.path)
    const { status: { nonce } } = await engine.start('root', {})
    await engine.update('root', { key: Buffer.from(cardLines(ks.keys[0]!).join('\n')), nonce })
    const { status: done } = await engine.update('root', { key: Buffer.from(cardLines(ks.keys[2]!).map(withoutChecks).join('\n')), nonce })
    expect(done.complete).toBe(true)
  })
})
