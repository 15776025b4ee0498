import type { ShareCheck } from '../engine/keyset'
import { TesseraError } from '../support/errors'
import type { Decoded, ValueKind } from './decode'

/**
 * What can tell a correctly decoded value from a plausible wrong one. An OTP
 * with one character changed XORs into another well-formed token or share, so
 * the value's shape proves nothing: only the keyset that made it can say.
 */
export interface Reference {
  /** Names it in messages: "the keyset vault.json". */
  name: string
  /** True when it minted this token; undefined when it cannot know (a token it never keeps). */
  knowsToken(token: string, kind: ValueKind): Promise<boolean | undefined>
  /** The keyset's own share check (`Keyset.check`): which share this is, or why it is not one of its shares. */
  checkShare(text: Buffer): Promise<ShareCheck>
}

/** The checked value: `verified` only when a reference confirmed it; otherwise `note` says why not and how to check. */
export interface Verdict {
  verified: boolean
  note?: string
}

/** How the operator gives a reference where they are: a CLI flag, or the keyset opened in the app. */
export type HowToCheck = 'cli' | 'app'

const CHECK_LOCALLY: Record<HowToCheck, string> = {
  cli: 'give --keyset FILE, the keyset that made it',
  app: 'open the keyset that made it and decode again',
}

const isToken = (kind: ValueKind) => kind.endsWith('token')

/** Why an unchecked value may be wrong, and what would check it. */
export function uncheckedNote(decoded: Pick<Decoded, 'kind' | 'method'>, how: HowToCheck, why = 'nothing checked it'): string {
  const what = isToken(decoded.kind) ? 'token' : 'share'
  const risk =
    decoded.method === 'otp'
      ? `a mistyped OTP or encoded value gives a plausible but wrong ${what} without an error`
      : `the ${what} is what was encrypted to this key, but not known to be one a keyset issued`
  const check = isToken(decoded.kind)
    ? `${CHECK_LOCALLY[how]}, or ask the server: VAULT_TOKEN=... vault token lookup`
    : `${CHECK_LOCALLY[how]}, or check it with tessera verify-share --keyset FILE`
  return `not verified (${why}): ${risk}; to check it, ${check}.`
}

/**
 * Checks a decoded value against `ref`: a token against its token hashes, a
 * share against its check values. A value it does not know is an error, and
 * the caller wipes the value; a value it cannot judge comes back unverified, with the reason.
 */
export async function verifyDecoded(decoded: Decoded, ref: Reference | null, how: HowToCheck): Promise<Verdict> {
  if (!ref) return { verified: false, note: decoded.note ?? uncheckedNote(decoded, how) }
  if (isToken(decoded.kind)) {
    const known = await ref.knowsToken(decoded.value.toString('latin1'), decoded.kind)
    if (known === undefined) {
      return { verified: false, note: uncheckedNote(decoded, how, `${ref.name} does not keep ${decoded.kind}s`) }
    }
    if (!known) {
      throw new TesseraError('token_mismatch', `not a token of this keyset (${ref.name}): the OTP or the encoded value is probably mistyped`)
    }
    return { verified: true }
  }
  const check = await ref.checkShare(decoded.value)
  if (check.valid) return { verified: true }
  if (check.code === 'cannot_check') return { verified: false, note: uncheckedNote(decoded, how, check.reason) }
  // The keyset's reason points at a typing mistake, which only an OTP can make: a PGP message decrypts intact or not at all.
  const why = decoded.method === 'pgp' ? 'it was decrypted intact, so it is a share of another keyset' : check.reason
  throw new TesseraError('share_mismatch', `not a share of this keyset (${ref.name}): ${why ?? 'it does not match'}`)
}
