import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as v from 'valibot'
import { codecFor } from '../src-main/engine/share-codec'
import { randomBase62 } from '../src-main/crypto/base62'
import { xorBytes } from '../src-main/crypto/otp'
import { decodeBase64Text } from '../src-main/crypto/base64'
import { base64Bytes, hexBytes, trimBytes, withoutSpaces } from '../src-main/crypto/text-bytes'
import { decodeWithOtp } from '../src-main/decode/decode'
import { TesseraError } from '../src-main/support/errors'
import { CHANNELS } from '../src-main/ipc/channels'
import { schemas } from '../src-main/ipc/schemas'
import { createRouter, type Handlers } from '../src-main/ipc/router'

/** Properties over generated inputs, with a fixed seed so that a failure is reproducible. */
const RUNS = { seed: 20261125, numRuns: 300 }

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
/** Lengths drawn uniformly: fast-check's default size bias would rarely reach token lengths. */
const base62 = (min: number, max: number) =>
  fc.integer({ min, max }).chain((n) => fc.string({ unit: fc.constantFrom(...BASE62), minLength: n, maxLength: n }))

/** Text an operator or an attacker might paste: anything, and near misses of the real forms. */
const pasted = fc.oneof(
  fc.string({ maxLength: 120 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF \n=+/'), maxLength: 100 }),
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('base64')),
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('hex')),
  fc.uint8Array({ maxLength: 40 }).map((b) => `8${Buffer.from(b).toString('hex')}`),
)

function onlyTesseraErrors(run: () => unknown): void {
  try {
    run()
  } catch (err) {
    if (!(err instanceof TesseraError)) throw err
  }
}

describe('hex and base64 read from bytes, never through a string', () => {
  const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
  const HEX = /^(?:[0-9a-fA-F]{2})*$/

  it("agree with Node's decoders on every input Node's would accept, and refuse the rest", () => {
    fc.assert(
      fc.property(pasted, (text) => {
        const bytes = Buffer.from(text, 'utf8')
        const hex = hexBytes(bytes)
        expect(hex === null ? null : hex.toString('hex')).toBe(HEX.test(text) ? Buffer.from(text, 'hex').toString('hex') : null)
        const b64 = base64Bytes(bytes)
        expect(b64 === null ? null : b64.toString('hex')).toBe(STD_BASE64.test(text) ? Buffer.from(text, 'base64').toString('hex') : null)
      }),
      { ...RUNS, numRuns: 2000 },
    )
  })

  it('round-trip any bytes through their hex and base64 text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (raw) => {
        const b = Buffer.from(raw)
        expect(hexBytes(Buffer.from(b.toString('hex').toUpperCase()))).toEqual(b)
        expect(base64Bytes(Buffer.from(b.toString('base64')))).toEqual(b)
      }),
      RUNS,
    )
  })

  it('strip ASCII whitespace as a string trim and replace would', () => {
    const ascii = fc.string({ unit: fc.constantFrom(...'ab01 \t\n\r\f\v'), maxLength: 40 })
    fc.assert(
      fc.property(ascii, (text) => {
        const bytes = Buffer.from(text)
        expect(trimBytes(bytes).toString()).toBe(text.trim())
        expect(withoutSpaces(bytes).toString()).toBe(text.replace(/\s+/g, ''))
      }),
      RUNS,
    )
  })
})

describe('the share codec', () => {
  for (const [scheme, threshold] of [['vault', 3], ['secretsjs', 3], ['vault', 1]] as const) {
    it(`${scheme} (threshold ${threshold}): parse throws nothing but its own refusals`, () => {
      const codec = codecFor(scheme, threshold)
      fc.assert(fc.property(pasted, (input) => onlyTesseraErrors(() => codec.parse(Buffer.from(input)))), RUNS)
    })
  }

  it("Vault shares: hex (either case) and base64 of one share parse to the same bytes", () => {
    const codec = codecFor('vault', 3)
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 17, maxLength: 33 }), (bytes) => {
        const share = Buffer.from(bytes)
        const { key, key_base64 } = codec.forms(share)
        expect(codec.parse(Buffer.from(key))).toEqual(share)
        expect(codec.parse(Buffer.from(key.toUpperCase()))).toEqual(share)
        expect(codec.parse(Buffer.from(key_base64))).toEqual(share)
      }),
      RUNS,
    )
  })

  it('secrets.js shares: the share string and its base64 parse to the same canonical bytes', async () => {
    const codec = codecFor('secretsjs', 3)
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 16, maxLength: 32 }), async (secret) => {
        const shares = await codec.split(secret, 3, 2)
        for (const share of shares) {
          const { key, key_base64 } = codec.forms(share)
          expect(codec.parse(Buffer.from(key))).toEqual(share)
          expect(codec.parse(Buffer.from(key_base64))).toEqual(share)
        }
      }),
      { ...RUNS, numRuns: 50 },
    )
  })
})

describe('base62 and the OTP', () => {
  it('randomBase62 gives exactly n characters of the alphabet, and refuses lengths outside 1..4096', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 5000 }), (n) => {
        if (n < 1 || n > 4096) {
          expect(() => randomBase62(n)).toThrow(RangeError)
          return
        }
        const out = randomBase62(n).toString('latin1')
        expect(out).toHaveLength(n)
        expect([...out].every((c) => BASE62.includes(c))).toBe(true)
      }),
      { ...RUNS, numRuns: 100 },
    )
  })

  it('xorBytes is its own inverse and refuses unequal lengths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), (a, b) => {
        if (a.length !== b.length) {
          expect(() => xorBytes(a, b)).toThrow(RangeError)
          return
        }
        expect(xorBytes(xorBytes(a, b), b)).toEqual(Buffer.from(a))
      }),
      RUNS,
    )
  })

  it('base64 wrapped, indented or unpadded reads back to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 80 }), fc.boolean(), (bytes, width, pad) => {
        let text = Buffer.from(bytes).toString('base64')
        if (!pad) text = text.replace(/=+$/, '')
        const wrapped = `  ${text.replace(new RegExp(`(.{${width}})`, 'g'), '$1\n')}\r\n`
        expect(decodeBase64Text(wrapped)).toEqual(Buffer.from(bytes))
      }),
      RUNS,
    )
  })
})

describe('the decoder', () => {
  /** Encoded values that include the dangerous ones: zero bytes, which XOR back to the OTP. */
  const encoded = fc.oneof(
    pasted,
    fc.integer({ min: 1, max: 80 }).map((n) => Buffer.alloc(n).toString('base64')),
    fc.uint8Array({ minLength: 1, maxLength: 80 }).map((b) => Buffer.from(b).toString('base64').replace(/=+$/, '')),
  )
  const otp = fc.oneof(base62(1, 70), fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64')), pasted)

  it('never returns the OTP as the value, and throws nothing but its own refusals', () => {
    // Half the cases pair an OTP with zero bytes of its own length: the value that XORs back to it.
    const zeroPair = base62(1, 70).map((key) => [Buffer.alloc(key.length).toString('base64'), key] as const)
    fc.assert(
      fc.property(fc.oneof(fc.tuple(encoded, otp), zeroPair), ([enc, key]) => {
        try {
          const { value } = decodeWithOtp(enc, Buffer.from(key))
          expect(value.toString('latin1')).not.toBe(key.trim())
        } catch (err) {
          if (!(err instanceof TesseraError)) throw err
        }
      }),
      { ...RUNS, numRuns: 1000 },
    )
  })

  it('round-trips every token and share a ceremony makes', () => {
    const value = fc.oneof(
      fc.tuple(fc.constantFrom('hvs.', 'hvr.', 's.', 'r.'), base62(24, 24)).map(([p, t]) => p + t),
      fc.uint8Array({ minLength: 17, maxLength: 33 }).map((b) => Buffer.from(b).toString('hex')),
    )
    fc.assert(
      fc.property(value, (text) => {
        const key = randomBase62(text.length)
        fc.pre(!key.equals(Buffer.from(text)))
        const enc = xorBytes(Buffer.from(text), key).toString('base64').replace(/=+$/, '')
        expect(decodeWithOtp(enc, key).value.toString()).toBe(text)
      }),
      RUNS,
    )
  })
})

describe('the request schemas, through the router', () => {
  /** Caller text that no schema word can contain, so that an echo is unmistakable. */
  const marked = base62(10, 40).map((s) => `Zq${s}`)
  const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    any: fc.oneof(
      { depthSize: 'small' },
      marked,
      fc.string({ maxLength: 20 }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.array(tie('any'), { maxLength: 3 }),
      fc.dictionary(fc.oneof(marked, fc.constantFrom('flow', 'key', 'nonce', 'path', 'profile', 'encoded', 'otp', 'id', 'token')), tie('any'), { maxKeys: 4 }),
    ),
  })).any
  const channel = fc.oneof(fc.constantFrom(...CHANNELS), marked.map((m) => `attempt.${m}`))

  it('never throw, and an error never repeats a key or a value it was given', async () => {
    // Handlers that do nothing: what is under test is validation and its errors.
    const handlers = Object.fromEntries(CHANNELS.map((c) => [c, async () => ({ handled: c })])) as unknown as Handlers
    const dispatch = createRouter(handlers)
    await fc.assert(
      fc.asyncProperty(channel, value, async (name, input) => {
        const result = await dispatch(name, input)
        if (result.ok) {
          expect(Object.hasOwn(schemas, name)).toBe(true)
          expect(v.safeParse(schemas[name as keyof typeof schemas], input).success).toBe(true)
          return
        }
        const text = JSON.stringify(result.error)
        expect(text).not.toMatch(/Zq[0-9A-Za-z]{10}/)
        expect(result.error.message.length).toBeLessThanOrEqual(600)
      }),
      { ...RUNS, numRuns: 2000 },
    )
  })
})
