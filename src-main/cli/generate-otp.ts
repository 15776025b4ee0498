import { randomBase62 } from '../crypto/base62'
import { intFlag, parseFlags, type Io } from './args'
import { TesseraError } from '../support/errors'
import { ROOT_TOKEN_PREFIX, TOKEN_LENGTH } from '../engine/tokens'

export const usage = `Usage: tessera generate-otp [--length N]

Prints a one-time password of Vault's alphabet (base62). The default length, 28,
fits servers that issue hvs. tokens; take the length from the server's otp_length.`

export async function generateOtp(argv: string[], io: Io): Promise<void> {
  const flags = parseFlags(argv, { length: { type: 'string' } })
  const length = intFlag(flags.length, '--length', TOKEN_LENGTH + ROOT_TOKEN_PREFIX.length)
  if (length < 1 || length > 4096) throw new TesseraError('usage', '--length must be from 1 to 4096')
  const otp = randomBase62(length)
  io.stdout(`${otp.toString('ascii')}\n`)
  otp.fill(0)
}
