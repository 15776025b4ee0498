import type { Flow } from '../backend'
import type { Strategy } from './attempt'
import { badRequest, EngineError } from './errors'
import { ROOT_KEY_BYTES, type Keyset } from './keyset'
import { newToken, RECOVERY_TOKEN_PREFIX, ROOT_TOKEN_PREFIX, TOKEN_LENGTH } from './tokens'

/** What the strategies may read and change in the engine that runs them. */
export interface StrategyHost {
  readonly keyset: Keyset
  readonly recoveryMode: boolean
  /** Recovery mode only: the barrier stays sealed until a recovery token is made. */
  sealed: boolean
  addRecoveryToken(token: Buffer): void
}

const TOKEN_OTP_LENGTH = TOKEN_LENGTH + ROOT_TOKEN_PREFIX.length

const MISMATCH = 'the shares given do not reconstruct this keyset\'s root key (a foreign or mistyped share); ' +
  'progress was reset, the attempt and its nonce remain: enter the shares again'

function verifyRootKey(host: StrategyHost, combined: Buffer): void {
  if (!host.keyset.verify(combined)) throw new Error(MISMATCH)
}

function notInRecoveryMode(host: StrategyHost, path: string): void {
  if (host.recoveryMode) {
    throw new EngineError(404, `${path} is not available while the engine runs in recovery mode`, 'unsupported_flow')
  }
}

export function makeStrategies(host: StrategyHost): Record<Flow, Strategy> {
  const codec = host.keyset.codec
  const shareTextLength = codec.textLength(ROOT_KEY_BYTES)

  const root: Strategy = {
    flow: 'root',
    noun: 'root generation',
    otpLength: () => TOKEN_OTP_LENGTH,
    assertAvailable: () => notInRecoveryMode(host, 'sys/generate-root'),
    authenticate: (combined) => verifyRootKey(host, combined),
    async generate() {
      const token = newToken(ROOT_TOKEN_PREFIX)
      return { value: token, commit: async () => void (await host.keyset.addRootToken(token)) }
    },
    resultFields: (result) => (result ? { encoded_root_token: result.encoded } : {}),
  }

  const share: Strategy = {
    flow: 'share',
    noun: 'share generation',
    otpLength: () => shareTextLength,
    assertAvailable() {
      notInRecoveryMode(host, 'sys/generate-share')
      if (host.keyset.threshold > 1 && host.keyset.nextShareId([]) === undefined) {
        throw badRequest('all 255 share indexes of this keyset are in use; no new share can be made', 'no_share_slot')
      }
    },
    authenticate: (combined) => verifyRootKey(host, combined),
    async generate(shares) {
      if (host.keyset.threshold === 1) {
        // A threshold-1 keyset has exactly one valid share: the key itself.
        return { value: codec.text(shares[0]!), commit: async () => undefined }
      }
      const id = host.keyset.nextShareId(shares.map((s) => codec.id(s)))
      if (id === undefined) throw badRequest('all 255 share indexes of this keyset are in use', 'no_share_slot')
      const fresh = await codec.derive(shares, id)
      const value = codec.text(fresh)
      fresh.fill(0)
      return { value, commit: () => host.keyset.recordShareId(id) }
    },
    resultFields: (result) => ({
      key: result ? result.bytes.toString('hex') : '',
      key_base64: result ? result.bytes.toString('base64') : '',
    }),
  }

  const recovery: Strategy = {
    flow: 'recovery',
    // Vault words recovery-token errors as root generation ones.
    noun: 'root generation',
    otpLength: () => TOKEN_LENGTH + RECOVERY_TOKEN_PREFIX.length,
    assertAvailable() {
      if (!host.recoveryMode) {
        throw new EngineError(
          404,
          'sys/generate-recovery-token is available only in recovery mode (tessera serve --recovery)',
          'unsupported_flow',
        )
      }
      if (!host.sealed) throw badRequest('attempt to generate recovery operation token when already unsealed', 'unsealed')
    },
    authenticate(combined) {
      verifyRootKey(host, combined)
      host.sealed = false
    },
    async generate() {
      const token = newToken(RECOVERY_TOKEN_PREFIX)
      return { value: token, commit: async () => host.addRecoveryToken(token) }
    },
    resultFields: () => ({}),
  }

  return { root, share, recovery }
}
