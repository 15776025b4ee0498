import { describe, expect, it } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import ts from 'typescript'
import { TesseraError } from '../src-main/support/errors'
import { AS_WRITTEN, asSentence, forOperator, PLAIN_SENTENCES } from '../src-main/support/plain-errors'
import { toIpcError } from '../src-main/ipc/router'

/**
 * Every code the engine, the remote client and the session can raise, read from
 * their sources: the string literals given to an error constructor, to
 * `badRequest` or to the remote client's `refused`, and the codes error classes
 * default to. A new code that the
 * mapping does not know fails here.
 */
function raisedCodes(rooms: string[]): Map<string, string> {
  const codes = new Map<string, string>()
  for (const room of rooms) {
    for (const file of readdirSync(`src-main/${room}`).filter((f) => f.endsWith('.ts'))) {
      const where = `src-main/${room}/${file}`
      const source = ts.createSourceFile(where, readFileSync(where, 'utf8'), ts.ScriptTarget.Latest, true)
      const visit = (node: ts.Node): void => {
        if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && /(Error|^badRequest|^refused)$/.test(node.expression.getText(source))) {
          for (const arg of node.arguments ?? []) {
            if (ts.isStringLiteral(arg) && /^[a-z]+(_[a-z]+)*$/.test(arg.text)) codes.set(arg.text, where)
          }
        }
        if (ts.isParameter(node) && node.name.getText(source) === 'code' && node.initializer && ts.isStringLiteral(node.initializer)) {
          codes.set(node.initializer.text, where)
        }
        ts.forEachChild(node, visit)
      }
      visit(source)
    }
  }
  return codes
}

describe('one mapping from error codes to plain sentences', () => {
  const raised = raisedCodes(['engine', 'remote', 'session'])

  it('finds the codes where they are raised (the scan itself works)', () => {
    for (const code of ['duplicate_key', 'wrong_nonce', 'no_attempt', 'attempt_in_progress', 'authentication_failed', 'token_required', 'keyset', 'bad_request']) {
      expect(raised.has(code), code).toBe(true)
    }
    expect(raised.size).toBeGreaterThan(50)
  })

  it('knows every code the engine, the remote client and the session raise', () => {
    const unknown = [...raised].filter(([code]) => !(code in PLAIN_SENTENCES)).map(([code, where]) => `${code} (${where})`)
    expect(unknown).toEqual([])
  })

  it('writes each sentence as one: a capital first, a full stop last, no Vault jargon as a headline', () => {
    for (const [code, sentence] of Object.entries(PLAIN_SENTENCES)) {
      if (sentence === AS_WRITTEN) continue
      expect(sentence, code).toMatch(/^[A-Z].*\.$/s)
      expect(sentence, code).not.toMatch(/given key|incorrect nonce|generation operation|aborted/)
    }
  })

  it('covers what an operator meets most', () => {
    for (const code of [
      'duplicate_key', 'wrong_nonce', 'no_attempt', 'attempt_in_progress', 'authentication_failed', 'combine_failed',
      'invalid_key', 'sealed', 'standby', 'permission_denied', 'token_required',
    ]) {
      expect(typeof PLAIN_SENTENCES[code], code).toBe('string')
    }
    expect(PLAIN_SENTENCES.duplicate_key).toMatch(/^This share was already entered in this attempt/)
    expect(PLAIN_SENTENCES.wrong_nonce).toBe('This nonce belongs to another attempt: check the nonce announced by the ceremony lead.')
  })
})

describe('an error as the app shows it', () => {
  it('puts the engine\'s Vault wording under the sentence, never as the headline', () => {
    const err = new TesseraError(400, 'given key has already been provided during this generation operation', 'duplicate_key')
    expect(toIpcError(err)).toEqual({
      code: 'duplicate_key',
      message: PLAIN_SENTENCES.duplicate_key,
      detail: 'Engine said: given key has already been provided during this generation operation',
    })
  })

  it('labels a server\'s words as the server\'s, redacted', () => {
    const token = 'hvs.AbCdEfGh1234567890XyZaBcDe'
    const err = new TesseraError(400, 'duplicate unseal key provided', 'duplicate_key', `duplicate unseal key provided: ${token}`)
    const shown = forOperator(err)
    expect(shown).toEqual({ code: 'duplicate_key', message: PLAIN_SENTENCES.duplicate_key, detail: 'Server said: duplicate unseal key provided: [redacted]' })
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
    expect(toIpcError(new Error('share 0123abcd leaked'))).toEqual({ code: 'internal', message: PLAIN_SENTENCES.internal })
  })
})
