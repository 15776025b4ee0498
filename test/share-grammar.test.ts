import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { checkForm } from '../src-shared/share-grammar'
import { cardLines } from '../src-main/engine/share-card'
import { Keyset } from '../src-main/engine/keyset'
import { TesseraError } from '../src-main/support/errors'
import { makeKeyset, SCHEMES, tempDir, type TestKeyset } from './helpers/keysets'

// The share field (renderer) and the keyset (main) read a typed share by one
// grammar. Fed the same generated inputs — every form Tessera displays a share
// in, typed as holders type them, intact or with one mistake — both sides must
// come to the same reading.

/** Every way a holder may type or paste a share Tessera showed them. */
function forms(text: string, base64: string): Record<string, string> {
  const card = cardLines(text)
  const withoutNumbers = (l: string) => l.replace(/^\s*\d+:\s*/, '')
  const withoutCheck = (l: string) => l.replace(/\s+[0-9a-f]{4}$/, '')
  const groups = (t: string, n: number) => t.match(new RegExp(`.{1,${n}}`, 'g'))!
  return {
    plain: text,
    base64,
    'groups of four': groups(text, 4).join(' '),
    'groups of five': groups(text, 5).join(' '),
    'wrapped lines': groups(text, 40).join('\n'),
    'base64 in groups': groups(base64, 4).join(' '),
    card: card.join('\n'),
    'card without checks': card.map(withoutCheck).join('\n'),
    'card without numbers': card.map(withoutNumbers).join('\n'),
    'card on one line': card.join(' '),
    'card on one line without numbers': card.map(withoutNumbers).join(' '),
    'card in capitals': card.join('\n').toUpperCase(),
    'card with loose spacing': card.map((l) => `  ${l.replace(/ /g, '   ')}  `).join('\r\n'),
  }
}

/** One mistake a holder makes, or none. */
const MISTAKES: Record<string, (input: string, at: number) => string> = {
  none: (input) => input,
  'a character changed': (input, at) => {
    const i = at % input.length
    return input.slice(0, i) + (input[i] === 'a' ? 'b' : 'a') + input.slice(i + 1)
  },
  'a character dropped': (input, at) => {
    const i = at % input.length
    return input.slice(0, i) + input.slice(i + 1)
  },
  'a character added': (input, at) => {
    const i = at % input.length
    return `${input.slice(0, i)}7${input.slice(i)}`
  },
  'two lines swapped': (input) => {
    const lines = input.split('\n')
    return lines.length > 2 ? [lines[1], lines[0], ...lines.slice(2)].join('\n') : input
  },
  'a line left out': (input) => {
    const lines = input.split('\n')
    return lines.length > 2 ? [lines[0], ...lines.slice(2)].join('\n') : input
  },
}

let tmp: Awaited<ReturnType<typeof tempDir>>
const keysets = new Map<string, { test: TestKeyset; keyset: Keyset }>()

beforeAll(async () => {
  tmp = await tempDir()
  for (const scheme of SCHEMES) {
    const test = await makeKeyset(tmp.dir, { scheme, shares: 3, threshold: 2 })
    keysets.set(scheme, { test, keyset: await Keyset.open(test.path) })
  }
})
afterAll(() => tmp.cleanup())

/** Main's reading: the share's bytes, or the code it refuses the input with. */
function mainReads(keyset: Keyset, input: string): { bytes: string } | { refused: string } {
  try {
    return { bytes: keyset.parseShare(Buffer.from(input, 'utf8')).toString('hex') }
  } catch (err) {
    if (err instanceof TesseraError) return { refused: err.code }
    throw err
  }
}

describe('one share grammar for the share field and the keyset', () => {
  for (const scheme of SCHEMES) {
    it(`reads every displayed form of a ${scheme} share alike on both sides, intact or mistyped`, () => {
      const { test, keyset } = keysets.get(scheme)!
      const seen = new Set<string>()
      fc.assert(
        fc.property(
          fc.nat(test.keys.length - 1),
          fc.constantFrom(...Object.keys(forms('x', 'x'))),
          fc.constantFrom(...Object.keys(MISTAKES)),
          fc.nat(200),
          (index, form, mistake, at) => {
            const share = mainReads(keyset, test.keys[index]!)
            const input = MISTAKES[mistake]!(forms(test.keys[index]!, test.keys_base64[index]!)[form]!, at)
            const field = checkForm(input, scheme)
            const main = mainReads(keyset, input)
            // Nothing the field refuses is taken by the keyset, and what it takes is the share the field read.
            if (!field.ok) expect(main, `${form}, ${mistake}: ${field.message}`).toHaveProperty('refused')
            if (mistake === 'none') {
              expect(field, form).toMatchObject({ ok: true })
              expect(main, form).toEqual(share)
            }
            seen.add(`${field.ok}:${'bytes' in main}`)
          },
        ),
        { seed: 20261207, numRuns: 1500 },
      )
      // The inputs reached both verdicts on both sides, and the field let through mistakes only main can see (a card line's check).
      expect([...seen].sort()).toEqual(['false:false', 'true:false', 'true:true'])
    })
  }
})
