import fc from 'fast-check'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { HolderName } from '../src-main/engine/holders'
import { looksLikeSecret } from '../src-main/support/secret-shape'
import { holderNameProblem, holderNamesProblems } from '../src-shared/holder-name'

describe('the holder-name rule, one for the form and for main', () => {
  it('main refuses exactly what the form refuses, in the same words, plus names shaped like a secret', () => {
    const names = fc.oneof(fc.string({ maxLength: 80 }), fc.stringMatching(/^[A-Za-z0-9 .'()_@#-]{0,70}$/))
    fc.assert(
      fc.property(names, (name) => {
        const form = holderNameProblem(name)
        const main = v.safeParse(HolderName, name)
        if (form) expect(main.success ? null : main.issues[0].message).toBe(form)
        else expect(main.success).toBe(!looksLikeSecret(name))
      }),
      { seed: 22, numRuns: 2000 },
    )
  })

  it('names every bad name of a list at once, a repeat by its later place', () => {
    expect(holderNamesProblems(['Dana', '#2', 'dana', '', 'Erin'])).toEqual([
      null,
      "must be letters, digits, spaces and . ' ( ) _ @ -, starting with a letter or digit",
      'repeats an earlier one: each holder needs their own name',
      'must not be empty',
      null,
    ])
  })
})
