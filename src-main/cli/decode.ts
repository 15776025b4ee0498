import { KEY_LIMIT, readPrivateKey } from '../crypto/pgp'
import { decodeWithOtp, decodeWithPgp, type Decoded } from '../decode/decode'
import { formatFlag, parseFlags, SecretSource, UsageError, type Io } from './args'

export const usage = `Usage: tessera decode --encoded STR|- (--otp STR | --otp-file FILE|- | --pgp-key FILE [--passphrase-file FILE|-])
                      [--format text|json]

Decodes a generate-root, generate-share or generate-recovery-token result offline.
"-" reads a value from standard input, so that secrets stay out of process lists
and shell history. The OTP may be a base62 OTP of any length or a legacy base64
16-byte OTP (whose result is a UUID token, which no check can confirm: the
output says so). A value that is not exactly a token or a share is an error.`

/** An encoded result is a token or a share, PGP-encrypted at most: a few KB. */
const ENCODED_LIMIT = { bytes: 64 * 1024, what: 'an encoded value' }
/** generate-otp makes at most 4096 characters; a line break or two may follow. */
const OTP_LIMIT = { bytes: 8 * 1024, what: 'an OTP' }
const PASSPHRASE_LIMIT = { bytes: 64 * 1024, what: 'a passphrase' }

export async function decode(argv: string[], io: Io): Promise<void> {
  const flags = parseFlags(argv, {
    encoded: { type: 'string' },
    otp: { type: 'string' },
    'otp-file': { type: 'string' },
    'pgp-key': { type: 'string' },
    'passphrase-file': { type: 'string' },
    format: { type: 'string' },
  })
  const format = formatFlag(flags.format)
  if (!flags.encoded) throw new UsageError('--encoded is required')
  const methods = [flags.otp, flags['otp-file'], flags['pgp-key']].filter((m) => m !== undefined)
  if (methods.length !== 1) throw new UsageError('give exactly one of --otp, --otp-file or --pgp-key')
  if (flags['passphrase-file'] && !flags['pgp-key']) throw new UsageError('--passphrase-file goes with --pgp-key')

  const source = new SecretSource(io)
  const encoded = await source.fromStdinOrValue(flags.encoded, '--encoded', ENCODED_LIMIT)
  let decoded: Decoded
  if (flags['pgp-key']) {
    const keyBytes = await source.fromStdinOrFile(flags['pgp-key'], '--pgp-key', KEY_LIMIT)
    const passphrase = flags['passphrase-file']
      ? (await source.fromStdinOrFile(flags['passphrase-file'], '--passphrase-file', PASSPHRASE_LIMIT)).toString('utf8').replace(/\r?\n$/, '')
      : undefined
    const key = await readPrivateKey(keyBytes, passphrase)
    keyBytes.fill(0)
    decoded = await decodeWithPgp(encoded, key)
  } else {
    // Bytes from standard input or the file, never made a string; an --otp value
    // arrives as a string from the command line, and is copied once.
    const otp = flags.otp !== undefined && flags.otp !== '-'
      ? Buffer.from(flags.otp, 'utf8')
      : await source.fromStdinOrFile(flags['otp-file'] ?? '-', flags.otp !== undefined ? '--otp' : '--otp-file', OTP_LIMIT)
    try {
      decoded = decodeWithOtp(encoded, otp)
    } finally {
      otp.fill(0)
    }
  }
  const value = decoded.value.toString('utf8')
  decoded.value.fill(0)
  const { kind, verified, note } = decoded
  if (format === 'json') {
    io.stdout(`${JSON.stringify({ value, kind, verified, ...(note ? { note } : {}) })}\n`)
    return
  }
  io.stdout(`${value}\n`)
  // Standard error, so that a script reading the value from standard output still gets only the value.
  if (note) io.stderr(`note: ${note}\n`)
}
