import type { Flow } from '../backend'
import { readPrivateKey } from '../crypto/pgp'
import { wipe } from '../crypto/wipe'
import { decodeWithGpg, decodeWithOtp, decodeWithPgp, type Decoded } from '../decode/decode'
import { verifyDecoded, type Reference } from '../decode/verify'
import type { DecodedValue } from '../decode/views'
import { TesseraError } from '../support/errors'
import type { CeremonySession } from './ceremony-session'
import { checksum } from './checksum'
import type { ResultKeeper } from './held-result'

/**
 * A decoded value for the screen, checked against the keyset that should know
 * it: a mistyped OTP yields a plausible token or share that nobody issued, and
 * that must never look like success. Without such a keyset it is shown unverified, with a note.
 */
async function shown(decoded: Decoded, reference: Reference | null): Promise<DecodedValue> {
  try {
    const { verified, note } = await verifyDecoded(decoded, reference, 'app')
    const result: DecodedValue = { value: decoded.value.toString('utf8'), kind: decoded.kind, checksum: checksum(decoded.value), verified }
    if (note) result.note = note
    return result
  } finally {
    wipe(decoded.value)
  }
}

/**
 * Decodes an encoded token or share on screen: with the OTP held here, one the
 * operator types, a PGP private key, or the system's gpg. A decode of the held result is recorded.
 */
export class Decoding {
  /** A gpg decryption waiting for its holder's PIN entry: a second one would open a second PIN entry. */
  private gpgRunning = false

  constructor(
    private readonly ceremony: CeremonySession,
    private readonly result: ResultKeeper,
  ) {}

  /** With the OTP held for `flow`: the held result's, else the running attempt's. */
  async held(flow: Flow, encoded: string): Promise<DecodedValue> {
    const otp = this.result.otpFor(flow) ?? this.ceremony.heldOtp(flow)
    if (!otp) {
      throw new TesseraError('no_held_otp', 'Tessera holds no OTP for this attempt (it was started elsewhere, or its result was wiped): enter the OTP or use a PGP key')
    }
    return this.recorded(encoded, await shown(decodeWithOtp(encoded, otp), this.checker(encoded, true)))
  }

  async otp(encoded: string, otp: string, verify: boolean): Promise<DecodedValue> {
    const key = Buffer.from(otp, 'utf8')
    let decoded: Decoded
    try {
      decoded = decodeWithOtp(encoded, key)
    } finally {
      wipe(key)
    }
    return this.recorded(encoded, await shown(decoded, this.checker(encoded, verify)))
  }

  async pgp(encoded: string, privateKey: string, passphrase: string | undefined, verify: boolean): Promise<DecodedValue> {
    const decoded = await decodeWithPgp(encoded, await readPrivateKey(privateKey, passphrase))
    return this.recorded(encoded, await shown(decoded, this.checker(encoded, verify)))
  }

  /** With the system's gpg, run here in main: the private key never reaches Tessera. */
  async gpg(encoded: string, verify: boolean): Promise<DecodedValue> {
    if (this.gpgRunning) {
      throw new TesseraError('gpg_busy', 'a gpg decryption is already running (its PIN entry may be waiting on screen): answer or cancel it, then decode again')
    }
    this.gpgRunning = true
    let decoded: Decoded
    try {
      decoded = await decodeWithGpg(encoded)
    } finally {
      this.gpgRunning = false
    }
    return this.recorded(encoded, await shown(decoded, this.checker(encoded, verify)))
  }

  /** The keyset that can check a decoded value: the one that made the held result, else the open one. */
  private checker(encoded: string, verify: boolean): Reference | null {
    if (!verify) return null
    return this.result.isResult(encoded) ? this.result.reference : this.ceremony.reference
  }

  private recorded(encoded: string, value: DecodedValue): Promise<DecodedValue> {
    return this.result.decoded(encoded, value)
  }
}
