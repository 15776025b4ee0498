import type { DecodedValue, Flow, TesseraApi } from '../../../src-main/ipc/channels'

/** Decodes an encoded result or share in main: with the OTP Tessera holds, a typed OTP, or a PGP private key. */
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
}
