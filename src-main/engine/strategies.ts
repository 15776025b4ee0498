import type { Flow } from '../backend'
import type { Strategy } from './attempt'
import { TesseraError } from '../support/errors'
import type { Keyset } from './keyset'
import { wipe } from '../crypto/wipe'
import { newToken, RECOVERY_TOKEN_PREFIX, ROOT_TOKEN_PREFIX, TOKEN_LENGTH, tokenLimit } from './tokens'

/** What the strategies may read and change in the engine that runs them. */
export interface StrategyHost {
  readonly keyset: Keyset
  readonly recoveryMode: boolean
  /** Recovery mode only: the barrier stays sealed until a recovery token is made. */
  sealed: boolean
  /** The name given for the new share's holder when the running share attempt was started; null if none. */
  readonly newShareHolder: string | null
  addRecoveryToken(token: Buffer): void
}

const TOKEN_OTP_LENGTH = TOKEN_LENGTH + ROOT_TOKEN_PREFIX.length

function notInRecoveryMode(host: StrategyHost, path: string): void {
  if (host.recoveryMode) {
    throw new TesseraError('unsupported_flow', `${path} is not available while the engine runs in recovery mode`)
  }
}

export function makeStrategies(host: StrategyHost): Record<Flow, Strategy> {
  const codec = host.keyset.codec

  const root: Strategy = {
    flow: 'root',
    noun: 'root generation',
    otpLength: () => TOKEN_OTP_LENGTH,
    unencrypted: 'otp',
    nonceOptional: false,
    assertAvailable() {
      notInRecoveryMode(host, 'sys/generate-root')
      if (!host.keyset.hasRoomForToken()) throw tokenLimit()
    },
    authenticate: (combined) => host.keyset.verify(combined),
    async generate() {
      const token = newToken(ROOT_TOKEN_PREFIX)
      return { value: token, commit: async () => void (await host.keyset.addRootToken(token)) }
    },
    resultFields: (result) => (result ? { encoded_root_token: result.encoded } : {}),
  }

  const share: Strategy = {
    flow: 'share',
    noun: 'share generation',
    otpLength: () => 0,
    unencrypted: 'clear',
    nonceOptional: true,
    assertAvailable() {
      notInRecoveryMode(host, 'sys/generate-share')
      if (host.keyset.threshold > 1 && !host.keyset.hasFreeShareNumber()) {
        throw new TesseraError('no_share_slot', 'all 255 share numbers of this keyset are in use; no new share can be made')
      }
    },
    authenticate: (combined) => host.keyset.verify(combined),
    async generate(shares, _combined, recipient) {
      if (host.keyset.threshold === 1) {
        // A threshold-1 keyset has exactly one valid share: the key itself.
        return { value: codec.text(shares[0]!), commit: async () => undefined }
      }
      // The number is taken and recorded under the keyset's lock, so that two
      // programs on one keyset never hand out the same share number.
      // Its holder's key is recorded with it, so that a later share for the same key is noticed.
      const issued = await host.keyset.issueShare(
        shares.map((s) => codec.id(s)),
        (number) => codec.derive(shares, number),
        { holder: host.newShareHolder, pgpKeys: recipient?.keyFingerprints },
      )
      const value = codec.text(issued.share)
      wipe(issued.share)
      return { value, commit: async () => undefined, issued: { number: issued.number, holder: issued.holder } }
    },
    resultFields(result) {
      if (!result) return { key: '', key_base64: '' }
      // As sys/init returns keys/keys_base64: the share itself, or the PGP message.
      let forms: { key: string; key_base64: string }
      if (result.clear) {
        const share = codec.parse(result.bytes)
        forms = codec.forms(share)
        wipe(share)
      } else {
        forms = { key: result.bytes.toString('hex'), key_base64: result.encoded }
      }
      // encoded_token carries the same value, for clients that read a result there.
      return { ...forms, encoded_token: forms.key_base64 }
    },
  }

  const recovery: Strategy = {
    flow: 'recovery',
    // Vault words recovery-token errors as root generation ones.
    noun: 'root generation',
    otpLength: () => TOKEN_LENGTH + RECOVERY_TOKEN_PREFIX.length,
    unencrypted: 'otp',
    nonceOptional: false,
    assertAvailable() {
      if (!host.recoveryMode) {
        throw new TesseraError('unsupported_flow', 'sys/generate-recovery-token is available only in recovery mode (tessera serve --recovery)')
      }
      if (!host.sealed) throw new TesseraError('unsealed', 'attempt to generate recovery operation token when already unsealed')
    },
    authenticate(combined) {
      if (!host.keyset.verify(combined)) return false
      host.sealed = false
      return true
    },
    async generate() {
      const token = newToken(RECOVERY_TOKEN_PREFIX)
      return { value: token, commit: async () => host.addRecoveryToken(token) }
    },
    resultFields: () => ({}),
  }

  return { root, share, recovery }
}
