import { access } from 'node:fs/promises'
import { encryptTo, PgpError, readPublicKey, type PublicKeyInfo } from '../crypto/pgp'
import { checkShareConfig, Keyset } from '../engine/keyset'
import { SCHEMES, type Scheme } from '../engine/schemes'
import { newToken, ROOT_TOKEN_PREFIX } from '../engine/tokens'
import { CliError, formatFlag, intFlag, parseFlags, requireFlag, SecretSource, UsageError, type Io } from './args'

export const usage = `Usage: tessera init --keyset FILE --shares N --threshold T
                    [--pgp-keys a.asc,b.gpg,...] [--scheme vault|secretsjs] [--format text|json]

Creates a new local keyset and prints, once, the key shares and the initial root
token (Vault's sys/init fields: keys, keys_base64, root_token). With --pgp-keys,
one public key per share (armored, binary or base64), each share is encrypted to
its holder's key. Never overwrites an existing keyset.`

interface InitOutput {
  keys: string[]
  keys_base64: string[]
  root_token: string
}

export async function init(argv: string[], io: Io): Promise<void> {
  const flags = parseFlags(argv, {
    keyset: { type: 'string' },
    shares: { type: 'string' },
    threshold: { type: 'string' },
    'pgp-keys': { type: 'string' },
    scheme: { type: 'string' },
    format: { type: 'string' },
  })
  const path = requireFlag(flags.keyset, '--keyset')
  const shares = intFlag(flags.shares, '--shares')
  const threshold = intFlag(flags.threshold, '--threshold')
  const format = formatFlag(flags.format)
  const scheme = (flags.scheme ?? 'vault') as Scheme
  if (!SCHEMES.includes(scheme)) throw new UsageError(`--scheme must be vault or secretsjs, got "${flags.scheme}"`)

  try {
    checkShareConfig(shares, threshold)
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  // Once --pgp-keys is given, shares are never printed in plain text: it must name every key.
  const keyFiles = flags['pgp-keys'] === undefined ? [] : flags['pgp-keys'].split(',').filter(Boolean)
  if (flags['pgp-keys'] !== undefined && keyFiles.length !== shares) {
    throw new UsageError(`--pgp-keys names ${keyFiles.length} keys for ${shares} shares: give one key per share`)
  }
  if (await exists(path)) throw new CliError(`${path} already exists; Tessera never overwrites a keyset`)
  const recipients = await readRecipients(keyFiles, new SecretSource(io))
  recipients.forEach((r, i) =>
    io.stderr(`Share ${i + 1} will be encrypted to ${r.fingerprint} (${r.userIds.join(', ') || 'no user id'}; ${r.format} key)\n`),
  )

  const rootToken = newToken(ROOT_TOKEN_PREFIX)
  try {
    const { keyset, handedOut } = await Keyset.create(path, { shares, threshold, scheme, rootToken }, async (parts, codec) => {
      const out: InitOutput = { keys: [], keys_base64: [], root_token: rootToken.toString('ascii') }
      for (const [i, share] of parts.entries()) {
        const recipient = recipients[i]
        if (recipient) {
          // As Vault's sys/init: the share's hex text is what gets encrypted.
          const text = codec.text(share)
          const message = Buffer.from(await encryptTo(recipient.key, text))
          text.fill(0)
          out.keys.push(message.toString('hex'))
          out.keys_base64.push(message.toString('base64'))
        } else {
          const forms = codec.forms(share)
          out.keys.push(forms.key)
          out.keys_base64.push(forms.key_base64)
        }
      }
      return out
    })
    if (format === 'json') {
      io.stdout(`${JSON.stringify(handedOut, null, 2)}\n`)
      return
    }
    // Vault's CLI shows base64; secrets.js shares are shown as their own strings.
    const shown = recipients.length > 0 || scheme === 'vault' ? handedOut.keys_base64 : handedOut.keys
    const lines = shown.map((k, i) => `Unseal Key ${i + 1}: ${k}`)
    io.stdout(
      [
        ...lines,
        '',
        `Initial Root Token: ${handedOut.root_token}`,
        '',
        `Keyset ${keyset.path} created: ${keyset.shares} key shares, threshold ${keyset.threshold}, scheme ${keyset.scheme}.`,
        recipients.length > 0
          ? 'Each share is encrypted to its holder\'s PGP key, in the order the keys were given.'
          : 'Hand each share to its holder now: Tessera does not store them and cannot show them again.',
        '',
      ].join('\n'),
    )
  } finally {
    rootToken.fill(0)
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}

async function readRecipients(files: string[], source: SecretSource): Promise<PublicKeyInfo[]> {
  const keys: PublicKeyInfo[] = []
  for (const file of files) {
    const bytes = await source.fromStdinOrFile(file, '--pgp-keys')
    try {
      keys.push(await readPublicKey(bytes))
    } catch (err) {
      if (err instanceof PgpError) throw new CliError(`${file}: ${err.message}`)
      throw err
    }
  }
  return keys
}
