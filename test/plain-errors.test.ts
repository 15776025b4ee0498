import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { TesseraError, badRequest } from '../src-main/support/errors'
import { ERRORS, type ErrorCode, type ErrorEntry } from '../src-main/support/error-codes'
import { asSentence, forOperator } from '../src-main/support/plain-errors'
import { toIpcError } from '../src-main/ipc/router'

const codes = Object.keys(ERRORS) as ErrorCode[]

describe('one table of error codes, each with its sentence', () => {
  it('refuses a mistyped code at compile time (npm run typecheck checks these lines)', () => {
    // @ts-expect-error: not a code
    expect(new TesseraError(400, 'x', 'bad_requets').code).toBe('bad_requets')
    // @ts-expect-error: not a code
    expect(badRequest('x', 'share_lenght').code).toBe('share_lenght')
    expect(new TesseraError(400, 'x', 'bad_request').code).toBe('bad_request')
  })

  it('refuses an entry without its sentence at compile time', () => {
    // @ts-expect-error: the table's entries (ERRORS satisfies a record of them) need their sentence
    const entry: ErrorEntry = { status: 400 }
    expect(entry.sentence).toBeUndefined()
  })

  it('writes each sentence as one: a capital first, a full stop last, no Vault jargon', () => {
    for (const code of codes) {
      const { sentence } = ERRORS[code]
      expect(sentence, code).toMatch(/^[A-Z].*\.$/s)
      expect(sentence, code).not.toMatch(/given key|incorrect nonce|generation operation|aborted/)
    }
    expect(ERRORS.duplicate_key.sentence).toMatch(/^This share was already entered in this attempt/)
    expect(ERRORS.wrong_nonce.sentence).toBe('This nonce belongs to another attempt: check the nonce announced by the ceremony lead.')
  })

  it('is the table docs/errors.md shows, code by code', () => {
    const rows = codes.map((code) => {
      const entry: ErrorEntry = ERRORS[code]
      return `| \`${code}\` | ${entry.status ?? '—'} | ${entry.headline ?? 'sentence'} | ${entry.sentence.replaceAll('|', '\\|')} |`
    })
    const table = ['| code | status | shown | sentence |', '| --- | --- | --- | --- |', ...rows].join('\n')
    const documented = readFileSync('docs/errors.md', 'utf8').split('\n').filter((l) => l.startsWith('| ')).join('\n')
    // On a change to the table, this diff is the new table for docs/errors.md.
    expect(documented).toBe(table)
  })
})

describe('an error as the app shows it', () => {
  it('puts the engine\'s Vault wording under the sentence, never as the headline', () => {
    const err = new TesseraError(400, 'given key has already been provided during this generation operation', 'duplicate_key')
    expect(toIpcError(err)).toEqual({
      code: 'duplicate_key',
      message: ERRORS.duplicate_key.sentence,
      detail: 'Engine said: given key has already been provided during this generation operation',
    })
  })

  it('labels a server\'s words as the server\'s, redacted', () => {
    const token = 'hvs.AbCdEfGh1234567890XyZaBcDe'
    const err = new TesseraError(400, 'duplicate unseal key provided', 'duplicate_key', `duplicate unseal key provided: ${token}`)
    const shown = forOperator(err)
    expect(shown).toEqual({ code: 'duplicate_key', message: ERRORS.duplicate_key.sentence, detail: 'Server said: duplicate unseal key provided: [redacted]' })
  })

  it('shows a sentence Tessera wrote where it was raised as written, as a sentence', () => {
    expect(forOperator(new TesseraError(409, 'no backend is open: open or create a keyset, or connect to a server', 'no_backend'))).toEqual({
      code: 'no_backend',
      message: 'No backend is open: open or create a keyset, or connect to a server.',
    })
    // A path or a host keeps its case.
    expect(asSentence('/tmp/k.json is corrupt: not valid JSON')).toBe('/tmp/k.json is corrupt: not valid JSON.')
    expect(asSentence('vault.example:8200 did not answer within 30 s.')).toBe('vault.example:8200 did not answer within 30 s.')
  })

  it('hides what was not written for operators', () => {
    expect(toIpcError(new Error('share 0123abcd leaked'))).toEqual({ code: 'internal', message: ERRORS.internal.sentence })
  })
})
