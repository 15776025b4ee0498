import { KEY_LIMIT, readPublicKey, type PublicKeyInfo } from '../crypto/pgp'
import { checkOneKeyOneHolder } from '../engine/holder-keys'
import { initKeyset, recipientKeys } from '../engine/init'
import { checkHolders, checkShareConfig } from '../engine/keyset'
import { SCHEMES, type Scheme } from '../engine/schemes'
import { outputFailure } from './output'
import { initFacts, InitRecord } from '../record/init-record'
import { formatFlag, intFlag, parseFlags, requireFlag, SecretSource, RECORD_FLAGS, recordFlag, type Io } from './args'
import { hasCode, TesseraError } from '../support/errors'

export const usage = `Usage: tessera init --keyset FILE --shares N --threshold T
                    [--holders alice,bob,...] [--pgp-keys a.asc,b.gpg,...]
                    [--allow-shared-key] [--scheme vault|secretsjs]
                    [--format text|json] [--record FILE]

Creates a new local keyset and prints, once, the key shares and the initial root
token (Vault's sys/init fields: keys, keys_base64, root_token). With --holders,
one name per share, in share order: the keyset records who holds which share.
With --pgp-keys, one public key per share (armored, binary or base64), each share
is encrypted to its holder's key. Never overwrites an existing keyset; the keyset
is written only once its shares were printed.

--allow-shared-key     allow one PGP key (the same primary or subkey fingerprint)
                       for several holders: one person holds several shares.
                       Without it, that is refused; with it, the record's
                       keyset_created says shared_key

--record FILE          record the ceremony (the keyset created, each share written
                       out, the root token written out, the end) in a new
                       hash-chained record; no keyset is created unless it
                       can be recorded (tessera record verify FILE)`

export async function init(argv: string[], io: Io): Promise<void> {
  const flags = parseFlags(argv, {
    ...NEW_SHARE_FLAGS,
    scheme: { type: 'string' },
    format: { type: 'string' },
    ...RECORD_FLAGS,
    'allow-shared-key': { type: 'boolean' },
  })
  const path = requireFlag(flags.keyset, '--keyset')
  const recordPath = recordFlag(flags)
  const shares = intFlag(flags.shares, '--shares')
  const threshold = intFlag(flags.threshold, '--threshold')
  const format = formatFlag(flags.format)
  const scheme = (flags.scheme ?? 'vault') as Scheme
  if (!SCHEMES.includes(scheme)) throw new TesseraError('usage', `--scheme must be vault or secretsjs, got "${flags.scheme}"`)

  const holders = holdersFlag(flags.holders)
  try {
    checkShareConfig(shares, threshold)
    if (holders) checkHolders(holders, shares)
  } catch (err) {
    throw new TesseraError('usage', (err as Error).message)
  }
  const recipients = await readRecipients(flags['pgp-keys'], shares, new SecretSource(io))
  const allowSharedKey = flags['allow-shared-key'] === true
  checkOneKeyOneHolder([], recipientKeys(recipients, holders), allowSharedKey, 'give --allow-shared-key')
  recipients.forEach((r, i) =>
    io.stderr(`Share ${i + 1} will be encrypted to ${r.fingerprint} (${r.userIds.join(', ') || 'no user id'}; ${r.format} key)\n`),
  )

  let record: InitRecord | undefined
  let printed = false
  const run = initKeyset({ path, shares, threshold, scheme, holders, recipients, allowSharedKey }, async (handed, rootToken, prepared) => {
    // Opened before anything is printed: a keyset whose creation cannot be recorded is not created.
    if (recordPath) record = await InitRecord.open(recordPath, initFacts(prepared, handed, recipients))
    const forms = handed.map((s) => s.forms())
    let text: string
    if (format === 'json') {
      const out = { keys: forms.map((f) => f.key), keys_base64: forms.map((f) => f.key_base64), root_token: rootToken.toString('ascii') }
      text = `${JSON.stringify(out, null, 2)}\n`
    } else {
      // Vault's CLI shows base64; secrets.js shares are shown as their own strings.
      const shown = forms.map((f) => (recipients.length > 0 || scheme === 'vault' ? f.key_base64 : f.key))
      const lines = shown.map((k, i) => `Unseal Key ${handed[i]!.number}${handed[i]!.holder ? ` (${handed[i]!.holder})` : ''}: ${k}`)
      text = [...lines, '', `Initial Root Token: ${rootToken.toString('ascii')}`, ''].join('\n')
    }
    // The keyset is linked into place only after this resolves: shares nobody received must not have a keyset.
    try {
      await io.writeOut(text)
    } catch (err) {
      throw new TesseraError('cli', `could not print the shares (standard output: ${outputFailure(err)}); no keyset was created`)
    }
    printed = true
    for (const s of handed) await record?.shareHandedOut(s.number, 'written_to_output')
    await record?.rootTokenRevealed('written_to_output')
  })
  const { keyset } = await run.catch(async (err: unknown) => {
    await record?.ended(printed ? 'keyset_not_written' : 'output_failed').catch(() => record?.writer.abandon())
    throw err
  })
  // The hand-out's secrets are wiped (initKeyset wipes them as it returns): the record ends.
  if (record) io.stderr(`record ${recordPath} closed, final hash ${await record.ended()}\n`)
  if (format === 'text') {
    io.stdout(
      [
        `Keyset ${keyset.path} created: ${keyset.shares} key shares, threshold ${keyset.threshold}, scheme ${keyset.scheme}.`,
        recipients.length > 0
          ? 'Each share is encrypted to its holder\'s PGP key, in the order the keys were given.'
          : 'Hand each share to its holder now: Tessera does not store them and cannot show them again.',
        '',
      ].join('\n'),
    )
  }
}

/** The flags of a command that makes new shares (init, rekey) and writes them out. */
export const NEW_SHARE_FLAGS = {
  keyset: { type: 'string' },
  shares: { type: 'string' },
  threshold: { type: 'string' },
  holders: { type: 'string' },
  'pgp-keys': { type: 'string' },
} as const

/** `--holders`: one name a share, comma-separated. */
export function holdersFlag(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((h) => h.trim())
}

/**
 * `--pgp-keys`: one public key file a share, read. Once it is given, shares
 * are never printed in plain text: it must name every key.
 */
export async function readRecipients(flag: string | undefined, shares: number, source: SecretSource): Promise<PublicKeyInfo[]> {
  const files = flag === undefined ? [] : flag.split(',').filter(Boolean)
  if (flag !== undefined && files.length !== shares) {
    throw new TesseraError('usage', `--pgp-keys names ${files.length} keys for ${shares} shares: give one key per share`)
  }
  const keys: PublicKeyInfo[] = []
  for (const file of files) {
    const bytes = await source.fromStdinOrFile(file, '--pgp-keys', KEY_LIMIT)
    try {
      keys.push(await readPublicKey(bytes))
    } catch (err) {
      if (hasCode(err, 'pgp')) throw new TesseraError('cli', `${file}: ${err.message}`)
      throw err
    }
  }
  return keys
}
