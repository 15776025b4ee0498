import type { DecodedValue, Flow, TesseraApi } from '../../../src-main/ipc/channels'

/** Decodes an encoded result or share in main: with the OTP Tessera holds, a typed OTP, a PGP private key, or the system's gpg. */
export class Decoder {
  constructor(private readonly api: TesseraApi) {}

  /** With the OTP main holds for `flow`'s attempt. */
  held(flow: Flow, encoded: string): Promise<DecodedValue> {
    return this.api.decode.held({ flow, encoded })
  }

  /** `verify`: a decoded token or share must be one the open keyset knows. */
  otp(encoded: string, otp: string, verify: boolean): Promise<DecodedValue> {
    return this.api.decode.otp({ encoded, otp, verify })
  }

  pgp(encoded: string, privateKey: string, passphrase: string, verify: boolean): Promise<DecodedValue> {
    return this.api.decode.pgp({ encoded, privateKey, verify, ...(passphrase ? { passphrase } : {}) })
  }

  /** Main asks the system's gpg: the private key stays in gpg-agent or on the card, whose PIN entry gpg-agent shows. */
  gpg(encoded: string, verify: boolean): Promise<DecodedValue> {
    return this.api.decode.gpg({ encoded, verify })
  }
}
