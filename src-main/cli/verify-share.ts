import { trimBytes } from '../crypto/text-bytes'
import { Keyset, type ShareCheck } from '../engine/keyset'
import { parseFlags, requireFlag, SecretSource, type Io } from './args'
import { TesseraError } from '../support/errors'

export const usage = `Usage: tessera verify-share --keyset FILE [--share-file FILE|-]

Checks one share against the keyset, with no ceremony: reads the share (hex,
base64 or a secrets.js share) from standard input, or from --share-file, and
prints "share 3 of 5 (Carol): valid", or why it is not (exit 1). Keysets of
format 1 record no check values and cannot check a share on its own.`

/** Longer than any share in any spelling, a card's included; anything more is not a share. */
const SHARE_LIMIT = { bytes: 4096, what: 'a share' }

export async function verifyShare(argv: string[], io: Io): Promise<void> {
  const flags = parseFlags(argv, { keyset: { type: 'string' }, 'share-file': { type: 'string' } })
  const path = requireFlag(flags.keyset, '--keyset')
  const source = flags['share-file'] ?? '-'
  const raw = await new SecretSource(io).fromStdinOrFile(source, '--share-file', SHARE_LIMIT)
  let result: ShareCheck
  let keyset: Keyset
  try {
    // The share stays bytes, wiped after the check: a string could not be.
    const typed = trimBytes(raw)
    if (typed.length === 0) throw new TesseraError('usage', source === '-' ? 'no share on standard input' : `no share in ${source}`)
    keyset = await Keyset.open(path)
    result = await keyset.check(typed)
  } finally {
    raw.fill(0)
  }
  if (!result.valid) throw new TesseraError('cli', result.reason ?? 'this share is not valid')
  const holder = result.holder ? ` (${result.holder})` : ''
  // Of the shares out, as seal status counts them (the share flow adds to them).
  io.stdout(`share ${result.number} of ${keyset.shares}${holder}: valid\n`)
}
