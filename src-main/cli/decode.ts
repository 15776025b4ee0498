import { GPG_TIMEOUT_MS } from '../crypto/gpg'
import { KEY_LIMIT, readPrivateKey } from '../crypto/pgp'
import { decodeWithGpg, decodeWithOtp, decodeWithPgp, type Decoded } from '../decode/decode'
import { verifyDecoded, type Reference } from '../decode/verify'
import type { Keyset } from '../engine/keyset'
import { formatFlag, parseFlags, SecretSource, type Io } from './args'
import { TesseraError } from '../support/errors'

export const usage = `Usage: tessera decode --encoded STR|- (--otp STR | --otp-file FILE|- | --pgp-key FILE [--passphrase-file FILE|-] | --gpg)
                      [--keyset FILE] [--format text|json]

Decodes a generate-root, generate-share or generate-recovery-token result offline.
"-" reads a value from standard input, so that secrets stay out of process lists
and shell history. The OTP may be a base62 OTP of any length or a legacy base64
16-byte OTP (whose result is a UUID token, which no check can confirm: the
output says so). A value that is not exactly a token or a share is an error.

--gpg           decrypts with the system's gpg (gpg --decrypt; GNUPGHOME is
                respected): the private key stays in gpg-agent or on a
                smartcard, and its PIN or passphrase is asked by gpg-agent's
                pinentry (in a terminal, set GPG_TTY=$(tty)). A PIN entry left
                open ends after ${GPG_TIMEOUT_MS / 1000} s.

--keyset FILE   checks the value against the keyset that made it: a token
                against its token hashes, a share against its check values.
                One that is not of the keyset exits 1 ("not a token of this
                keyset"). Without it nothing is checked, and "verified" is
                false: a mistyped OTP gives a plausible but wrong value.`

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
    gpg: { type: 'boolean' },
    keyset: { type: 'string' },
    format: { type: 'string' },
  })
  const format = formatFlag(flags.format)
  if (!flags.encoded) throw new TesseraError('usage', '--encoded is required')
  const methods = [flags.otp, flags['otp-file'], flags['pgp-key'], flags.gpg].filter((m) => m !== undefined)
  if (methods.length !== 1) throw new TesseraError('usage', 'give exactly one of --otp, --otp-file, --pgp-key or --gpg')
  if (flags['passphrase-file'] && !flags['pgp-key']) throw new TesseraError('usage', '--passphrase-file goes with --pgp-key')

  // Opened first, so that a keyset that cannot be read fails before any secret is read;
  // loaded only here, so that a decode without it loads no keyset code.
  const reference = flags.keyset === undefined ? null : keysetReference(await (await import('../engine/keyset')).Keyset.open(flags.keyset))
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
  } else if (flags.gpg) {
    decoded = await decodeWithGpg(encoded)
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
  const { verified, note } = await verifyDecoded(decoded, reference, 'cli').catch((err: unknown) => {
    decoded.value.fill(0)
    throw err
  })
  const value = decoded.value.toString('utf8')
  decoded.value.fill(0)
  const { kind } = decoded
  if (format === 'json') {
    io.stdout(`${JSON.stringify({ value, kind, verified, ...(note ? { note } : {}) })}\n`)
    return
  }
  io.stdout(`${value}\n`)
  // Standard error, so that a script reading the value from standard output still gets only the value.
  if (note) io.stderr(`note: ${note}\n`)
}

/** A keyset file as a reference: it keeps root tokens and share check values; recovery tokens live only in the server that made them. */
function keysetReference(keyset: Keyset): Reference {
  return {
    name: `the keyset ${keyset.path}`,
    knowsToken: async (token, kind) => (kind === 'recovery token' ? undefined : (await keyset.findTokenCurrent(token)) !== undefined),
    checkShare: (text) => keyset.check(text),
  }
}
