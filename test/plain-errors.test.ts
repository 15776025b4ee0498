import { describe, expect, it } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { TesseraError, type RaisedCode } from '../src-main/support/errors'
import { ERRORS, type ErrorCode, type ErrorEntry } from '../src-main/support/error-codes'
import { asSentence, forOperator } from '../src-main/support/plain-errors'
import { REASONS, reasonFor } from '../src-main/record/events'

const codes = Object.keys(ERRORS) as ErrorCode[]

describe('one table of error codes, each with its sentence', () => {
  it('refuses a mistyped code at compile time (npm run typecheck checks these lines)', () => {
    // @ts-expect-error: not a code (at run time it has no entry, so no status)
    expect(() => new TesseraError('bad_requets', 'x')).toThrow(TypeError)
    // @ts-expect-error: a code only the page gives itself, which no Tessera server answers with
    expect(new TesseraError('offline', 'x').status).toBeNull()
    expect(new TesseraError('bad_request', 'x').code).toBe('bad_request')
  })

  it('answers each code with the status the table gives it, wherever it is raised', () => {
    for (const code of codes) {
      const { status } = ERRORS[code] as ErrorEntry
      if (status === null) continue
      expect(new TesseraError(code as RaisedCode, 'x').status, code).toBe(status)
    }
  })

  it('is the one error class main raises: no other class extends an error', () => {
    const files = readdirSync('src-main', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
    const classes = files.flatMap((f) => [...readFileSync(join('src-main', f), 'utf8').matchAll(/class (\w+) extends (\w*Error)\b/g)].map((m) => `${f}: ${m[1]}`))
    expect(classes).toEqual([join('support', 'errors.ts: TesseraError')])
  })

  it("types the record's refusal reasons by the table (npm run typecheck checks these lines)", () => {
    // @ts-expect-error: not a code
    expect(reasonFor('share_lenght')).toBe('other')
    expect(reasonFor('share_length')).toBe('share_length')
    expect(REASONS.filter((r) => r !== 'other' && r !== 'reset_requested' && !(r in ERRORS))).toEqual([])
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
    const err = new TesseraError('duplicate_key', 'given key has already been provided during this generation operation')
    expect(forOperator(err)).toEqual({
      code: 'duplicate_key',
      message: ERRORS.duplicate_key.sentence,
      detail: 'Engine said: given key has already been provided during this generation operation',
    })
  })

  it('labels a server\'s words as the server\'s, redacted', () => {
    const token = 'hvs.AbCdEfGh1234567890XyZaBcDe'
    const err = new TesseraError('duplicate_key', 'duplicate unseal key provided', `duplicate unseal key provided: ${token}`)
    const shown = forOperator(err)
    expect(shown).toEqual({ code: 'duplicate_key', message: ERRORS.duplicate_key.sentence, detail: 'Server said: duplicate unseal key provided: [redacted]' })
  })

  it('shows a sentence Tessera wrote where it was raised as written, as a sentence', () => {
    expect(forOperator(new TesseraError('no_backend', 'no backend is open: open or create a keyset, or connect to a server'))).toEqual({
      code: 'no_backend',
      message: 'No backend is open: open or create a keyset, or connect to a server.',
    })
    // A path or a host keeps its case.
    expect(asSentence('/tmp/k.json is corrupt: not valid JSON')).toBe('/tmp/k.json is corrupt: not valid JSON.')
    expect(asSentence('vault.example:8200 did not answer within 30 s.')).toBe('vault.example:8200 did not answer within 30 s.')
  })

  it('hides what was not written for operators', () => {
    expect(forOperator(new Error('share 0123abcd leaked'))).toEqual({ code: 'internal', message: ERRORS.internal.sentence })
  })
})
