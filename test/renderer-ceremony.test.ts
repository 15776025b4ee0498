import { describe, expect, it } from 'vitest'
import type { BackendInfo, HeldResult, SessionState, ShareCheckResult, ShareList, TesseraApi, UiAttemptStatus } from '../src-main/ipc/channels'
import { ApiError } from '../src-renderer/src/lib/api-error'
import { Ceremony } from '../src-renderer/src/lib/ceremony.svelte'
import fc from 'fast-check'
import { checkForm, readTyped, sentence } from '../src-shared/share-grammar'
import { cardLines, readShareText } from '../src-main/engine/share-card'
import { ShareChecks } from '../src-renderer/src/lib/share-checks.svelte'

const NAMED: ShareList = { canCheck: true, shares: [{ number: 1, holder: 'Alice' }, { number: 2, holder: 'Bob' }, { number: 3, holder: 'Carol' }] }

const LOCAL: BackendInfo = { kind: 'local', label: '/keysets/a.json', risks: [], scheme: 'vault', seal: null }
const RESULT: HeldResult = { flow: 'root', encoded: 'ENCODED', pgp_fingerprint: '', otp_held: true, backend: LOCAL.label, share: null }

function status(over: Partial<UiAttemptStatus> = {}): UiAttemptStatus {
  return {
    started: true, nonce: 'n-1', progress: 0, required: 2, complete: false, encoded_token: '', encoded_root_token: '',
    pgp_fingerprint: '', otp_length: 28, otp_held: true, running_flow: 'root', ...over,
  } as UiAttemptStatus
}

/** The backend seam, answering as main would; `refuse` names calls that fail. */
function fakeApi(state: Partial<SessionState> = {}, refuse: Record<string, string> = {}, list: ShareList = NAMED) {
  const calls: string[] = []
  const record = { directory: null, path: null, finalHash: null, open: false }
  let session: SessionState = { result: null, handOut: null, log: [], record, ...state }
  const answer = async <T>(name: string, value: () => T): Promise<T> => {
    calls.push(name)
    if (refuse[name]) throw new ApiError('bad_request', refuse[name], name === 'attempt.update' ? 'Engine said: refused' : undefined)
    return value()
  }
  const api = {
    app: { info: () => answer('app.info', () => ({ name: 'tessera', version: '0.1.0' })) },
    backend: { describe: () => answer('backend.describe', () => LOCAL) },
    shares: {
      list: () => answer('shares.list', () => list),
      /** "A-n" is share n, "X-n" a mistyped share n. */
      check: ({ share }: { share: string }) =>
        answer('shares.check', (): ShareCheckResult => {
          const number = Number(share.slice(2))
          const holder = list.shares[number - 1]?.holder ?? null
          return share.startsWith('A-')
            ? { number, holder, valid: true }
            : { number, holder, valid: false, code: 'share_mismatch', reason: `this does not match share ${number} (${holder}) — probably a typing mistake` }
        }),
    },
    session: {
      state: () => answer('session.state', () => session),
      snapshot: () =>
        answer('session.snapshot', () => ({ version: '0.1.0', backend: { info: LOCAL, shares: list }, state: session, statuses: { root: status({ started: false }) } })),
      wipe: () => answer('session.wipe', () => ((session = { result: null, handOut: null, log: [], record }), { wiped: true as const })),
    },
    attempt: {
      status: () => answer('attempt.status', () => status({ started: false })),
      start: () => answer('attempt.start', () => status()),
      cancel: () => answer('attempt.cancel', () => ({ cancelled: true as const })),
      update: () =>
        answer('attempt.update', () => {
          session = { ...session, result: RESULT, log: [{ at: '2026-01-01T00:00:00Z', operator: 'Bob', outcome: 'accepted (2 of 2)', ok: true }] }
          return { ...status({ progress: 2, complete: true, encoded_token: 'ENCODED', last_share: { number: 2, holder: 'Bob', checked: true } }), state: session }
        }),
    },
  }
  return { api: api as unknown as TesseraApi, calls }
}

describe('the ceremony step machine', () => {
  it('opens on a result main still holds, then on a hand-out, else on the operations', async () => {
    const withResult = new Ceremony(fakeApi({ result: RESULT }).api)
    await withResult.load()
    expect([withResult.step, withResult.flow, withResult.holdsSecret]).toEqual(['result', 'root', true])

    const summary = { ceremony: 'init' as const, place: { kind: 'keyset' as const, name: '/k.json' }, shares: 2, threshold: 2, scheme: 'vault' as const, recipients: [], holders: [], rootToken: true }
    const handingOut = new Ceremony(fakeApi({ handOut: { summary, handedOut: [true, false] } }).api)
    await handingOut.load()
    expect(handingOut.step).toBe('handout')

    const plain = new Ceremony(fakeApi().api)
    await plain.load()
    expect([plain.step, plain.holdsSecret]).toEqual(['operation', false])
  })

  it('opens on one call to main, whose attempt statuses serve the first screen once', async () => {
    const { api, calls } = fakeApi()
    const c = new Ceremony(api)
    await Promise.all([c.load(), c.load()])
    expect(calls).toEqual(['session.snapshot'])
    expect([c.loaded, c.version, c.backend, c.shares]).toEqual([true, '0.1.0', LOCAL, NAMED])
    expect((await c.backendChoice.attemptStatus('root')).started).toBe(false)
    expect(calls).toEqual(['session.snapshot'])
    // A later screen asks main again: the attempt may have moved meanwhile.
    await c.backendChoice.attemptStatus('root')
    expect(calls).toEqual(['session.snapshot', 'attempt.status'])
  })

  it('takes a share flow\'s new count of shares out from the last share\'s reply, in one call', async () => {
    const { api, calls } = fakeApi()
    const four: ShareList = { canCheck: true, shares: [...NAMED.shares, { number: 4, holder: 'Dan' }] }
    const grown: BackendInfo = { ...LOCAL, label: 'grown' }
    const share = { encrypted: false, handedOut: false, number: 4, holder: 'Dan', card: true }
    const result: HeldResult = { ...RESULT, flow: 'share', share }
    api.attempt.update = async () => {
      calls.push('attempt.update')
      const state = { result, handOut: null, log: [], record: { directory: null, path: null, finalHash: null, open: false } }
      return { ...status({ progress: 2, complete: true }), state, backend: { info: grown, shares: four } }
    }
    const c = new Ceremony(api)
    await c.load()
    await c.choose('share')
    await c.start()
    const before = calls.length
    expect(await c.submit('Bob', 'share')).toBe(true)
    expect(calls.slice(before)).toEqual(['attempt.update'])
    expect([c.step, c.backend, c.shares]).toEqual(['result', grown, four])
  })

  it('goes to the result when the last share completes, with the log main kept, in one call', async () => {
    const { api, calls } = fakeApi()
    const c = new Ceremony(api)
    await c.load()
    await c.choose('root')
    expect(c.step).toBe('protection')
    await c.start()
    expect(c.step).toBe('collect')
    const before = calls.length
    expect(await c.submit('Bob', 'share')).toBe(true)
    // The update's reply carries the log and the result: nothing is read again.
    expect(calls.slice(before)).toEqual(['attempt.update'])
    expect(c.step).toBe('result')
    expect(c.result).toEqual(RESULT)
    expect(c.log.map((e) => e.operator)).toEqual(['Bob'])
    expect(c.accepted).toBe('Accepted share 2 (Bob) from Bob.')
  })

  it('knows whether the open keyset can check shares one by one', async () => {
    const named = new Ceremony(fakeApi().api)
    await named.load()
    expect(named.shares?.canCheck).toBe(true)
    const legacy = new Ceremony(fakeApi({}, {}, { canCheck: false, shares: [] }).api)
    await legacy.load()
    expect(legacy.shares?.canCheck).toBe(false)
    legacy.goTo('check')
    expect(legacy.step).toBe('check')
  })

  it('shows a refusal where it happened, and only there', async () => {
    const { api } = fakeApi({}, { 'attempt.update': 'This share was already entered in this attempt.' })
    const c = new Ceremony(api)
    await c.load()
    await c.choose('root')
    await c.start()
    expect(await c.submit('Alice', 'share')).toBe(false)
    expect(c.step).toBe('collect')
    expect(c.errorAt('collect')).toEqual({ at: 'collect', text: 'This share was already entered in this attempt.', detail: 'Engine said: refused' })
    expect(c.errorAt('operation')).toBeNull()
  })

  it('says that an attempt was cancelled, and that a result was wiped', async () => {
    const c = new Ceremony(fakeApi({ result: RESULT }).api)
    await c.load()
    await c.resultWiped()
    expect([c.step, c.result, c.notice]).toEqual(['operation', null, 'The result was wiped from memory.'])
    await c.choose('root')
    await c.start()
    await c.cancel()
    expect(c.step).toBe('operation')
    expect(c.notice).toMatch(/^The root token attempt was cancelled/)
  })

  it('keeps the result when wiping fails', async () => {
    const c = new Ceremony(fakeApi({ result: RESULT }, { 'session.wipe': 'Tessera is not answering.' }).api)
    await c.load()
    await c.resultWiped()
    expect([c.step, c.result]).toEqual(['result', RESULT])
    expect(c.errorAt('result')?.text).toBe('Tessera is not answering.')
  })

  it('goes back to the open backend in one step after "Change"', async () => {
    const c = new Ceremony(fakeApi().api)
    await c.load()
    c.goTo('backend')
    expect(c.step).toBe('backend')
    c.goTo('operation')
    expect(c.step).toBe('operation')
  })
})

describe('checking shares with no ceremony', () => {
  it('says each verdict, confirms each share once, and forgets everything when done', async () => {
    const { api, calls } = fakeApi()
    const checks = new ShareChecks(api, NAMED)
    expect(checks.summary).toBe('No share of 3 confirmed yet.')
    expect(await checks.check('A-3')).toEqual({ valid: true, text: 'share 3 of 3 (Carol): valid' })
    expect(await checks.check('X-1')).toEqual({ valid: false, text: 'Not valid: this does not match share 1 (Alice) — probably a typing mistake' })
    await checks.check('A-1')
    await checks.check('A-3')
    expect(checks.summary).toBe('2 of 3 shares confirmed: share 1 (Alice), share 3 (Carol).')
    expect(checks.lines).toHaveLength(4)
    // Only checks: nothing started, nothing combined.
    expect(calls.filter((c) => c.startsWith('attempt.'))).toEqual([])
    expect(JSON.stringify(checks.lines)).not.toContain('A-3')
    checks.done()
    expect([checks.lines, checks.confirmed, checks.summary]).toEqual([[], [], 'No share of 3 confirmed yet.'])
  })

  it('shows a refusal from main as the verdict', async () => {
    const checks = new ShareChecks(fakeApi({}, { 'shares.check': 'checking shares needs a local keyset: open one first' }).api, NAMED)
    expect(await checks.check('A-1')).toEqual({ valid: false, text: 'checking shares needs a local keyset: open one first' })
    expect(checks.confirmed).toEqual([])
  })
})

describe('share format', () => {
  // What the share field shows: the grammar's verdict, a problem worded as a sentence.
  const checkShare = (input: string, scheme: 'vault' | 'secretsjs') => {
    const c = checkForm(input, scheme)
    return c.ok ? c : { ok: false as const, message: sentence(c.message) }
  }
  const hex = 'a1'.repeat(33)
  it('accepts a share pasted with spaces and line breaks', () => {
    expect(checkShare(`${hex.slice(0, 20)} ${hex.slice(20, 40)}\n${hex.slice(40)}`, 'vault')).toEqual({ ok: true, form: 'hex', bytes: 33 })
  })
  it('names the position of a look-alike letter in a hex share', () => {
    expect(checkShare(`${hex.slice(0, 9)}O${hex.slice(10)}`, 'vault')).toEqual({ ok: false, message: 'Character 10 is not a hex digit (0–9, a–f).' })
    expect(checkShare(`${hex.slice(0, 4)}l${hex.slice(5, 30)}g${hex.slice(31)}`, 'vault')).toEqual({
      ok: false,
      message: 'Character 5 is not a hex digit (0–9, a–f).',
    })
  })
  it('names a look-alike letter by position whatever the length, and however many there are', () => {
    // 64 characters: a multiple of 4, so it also has the shape of base64.
    expect(checkShare(`${hex.slice(0, 30)}O${hex.slice(31, 64)}`, 'vault')).toEqual({ ok: false, message: 'Character 31 is not a hex digit (0–9, a–f).' })
    expect(checkShare(`${hex.slice(0, 3)}O${hex.slice(4, 20)}l${hex.slice(21, 40)}g${hex.slice(41)}`, 'vault')).toEqual({
      ok: false,
      message: 'Character 4 is not a hex digit (0–9, a–f).',
    })
  })
  it('reads a half-typed hex share as hex, never as a short base64 share', () => {
    expect(checkShare(hex.slice(0, 20), 'vault')).toEqual({ ok: false, message: '20 hex characters: a share has 32 to 66 (usually 66) — keep typing.' })
    expect(checkShare(hex.slice(0, 65), 'vault')).toEqual({ ok: false, message: '65 hex characters: a share has an even number, usually 66 — one may be missing or extra.' })
    expect(checkShare(`${hex}a1`, 'vault')).toEqual({ ok: false, message: '68 hex characters: a share has at most 66 — one may be extra.' })
    // A base64 share being typed is still read as base64.
    const base64 = Buffer.from(hex, 'hex').toString('base64')
    expect(checkShare(base64.slice(0, 20), 'vault')).toEqual({ ok: false, message: 'Too short: 15 bytes, a share has at least 16.' })
    expect(checkShare(base64, 'vault')).toEqual({ ok: true, form: 'base64', bytes: 33 })
  })
  describe('a share card typed back', () => {
    const card = cardLines(hex)
    const numbered = (lines: string[]) => lines.map((l, i) => `${i + 1}: ${l.slice(l.indexOf(':') + 1).trim().split(/\s+/).slice(0, -1).join(' ')}`)
    it('is accepted as printed, without its checks, or typed on one line, and main reads it as the same share', () => {
      for (const typed of [card.join('\n'), numbered(card).join('\n'), card.join('   '), numbered(card).join(' ')]) {
        expect(checkShare(typed, 'vault')).toEqual({ ok: true, form: 'share card' })
        expect(readShareText(typed, 'vault', hex.length)).toBe(hex)
      }
    })
    /** The card on one line, without its line numbers, with each line's check. */
    const oneLine = (lines: string[]) => lines.map((l) => l.slice(l.indexOf(':') + 1).trim()).join(' ')
    it('is recognised typed on one line without its numbers but with its checks, and main names a mistyped line', () => {
      const typed = oneLine(card)
      expect(checkShare(typed, 'vault')).toEqual({ ok: true, form: 'share card' })
      expect(readShareText(typed, 'vault', hex.length)).toBe(hex)
      const wrong = oneLine([card[0]!, card[1]!.replace(/: a/, ': b'), ...card.slice(2)])
      expect(checkShare(wrong, 'vault')).toEqual({ ok: true, form: 'share card' })
      expect(() => readShareText(wrong, 'vault', hex.length)).toThrow(/^line 2 of the share card does not match its check/)
      // A secrets.js share's card (99 characters) the same way.
      const sjs = `8${'0c'.repeat(49)}`
      expect(checkShare(oneLine(cardLines(sjs)), 'secretsjs')).toEqual({ ok: true, form: 'share card' })
      expect(readShareText(oneLine(cardLines(sjs)), 'secretsjs', sjs.length)).toBe(sjs)
      // A group that does not fit a card line is named like any character problem of a share.
      expect(checkShare(typed.replace(/ /, ''), 'vault')).toMatchObject({ ok: false })
    })
    it('is never an ordinary share typed in groups or not', () => {
      const group = (text: string, size: number) => (size === 0 ? text : text.match(new RegExp(`.{1,${size}}`, 'g'))!.join(' '))
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 16, maxLength: 33 }), fc.constantFrom('hex', 'base64', 'secrets.js'), fc.constantFrom(0, 2, 4, 5), (bytes, form, size) => {
          const share = form === 'secrets.js' ? `8${Buffer.from(bytes).toString('hex')}` : Buffer.from(bytes).toString(form as BufferEncoding)
          const scheme = form === 'secrets.js' ? 'secretsjs' : 'vault'
          const check = checkShare(group(share, size), scheme)
          const typed = readTyped(group(share, size))
          return check.ok && check.form !== 'share card' && typed.kind === 'share' && typed.text === share
        }),
        { seed: 20261125, numRuns: 2000 },
      )
    })
    it('names the line of a character that is no share character, a short line, and a line out of order', () => {
      const bad = [...card]
      bad[1] = bad[1]!.replace(/: (.)/, ': #')
      expect(checkShare(bad.join('\n'), 'vault')).toEqual({ ok: false, message: 'Line 2, character 1 is not a share character.' })
      const short = [...card]
      short[2] = short[2]!.replace(/: ./, ': ')
      expect(checkShare(short.join('\n'), 'vault')).toMatchObject({ ok: false, message: expect.stringMatching(/^Line 3 has 19 characters/) })
      expect(checkShare([card[0], card[2], card[1], ...card.slice(3)].join('\n'), 'vault')).toEqual({
        ok: false,
        message: 'Line 2 of the share card carries the number 3: a line is missing or out of order.',
      })
    })
  })
})
