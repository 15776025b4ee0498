import { LocalEngine } from '../engine/local-engine'
import type { NewShares } from '../engine/rekey'
import { wipe } from '../crypto/wipe'
import { trimBytes } from '../crypto/text-bytes'
import { keysetFacts } from '../record/attempt-record'
import { recordRekey } from '../record/rekey-record'
import { RecordWriter } from '../record/writer'
import { TesseraError } from '../support/errors'
import type { LineReader } from '../support/stdin-lines'
import { holdersFlag, NEW_SHARE_FLAGS, readRecipients } from './init'
import { outputFailure } from './output'
import { formatFlag, intFlag, parseFlags, requireFlag, SecretSource, RECORD_FLAGS, recordFlag, type Io } from './args'

export const usage = `Usage: tessera rekey --keyset FILE --shares N --threshold T
                     [--holders alice,bob,...] [--pgp-keys a.asc,b.gpg,...]
                     [--verify threshold|all] [--format text|json] [--record FILE]

Replaces a local keyset's shares with new ones (its next generation), as
sys/rekey does: reads the current shares from standard input, one a line (on a
terminal, prompted without echo), each checked as it is entered; then prints
the new shares as tessera init does (--holders, --pgp-keys alike). Root tokens
stay valid. The keyset is changed only once the new shares were printed.

--verify threshold|all   before the new shares take effect, read them back
                         from standard input: a threshold of them (Vault's
                         require_verification) or every one; until then the
                         current shares stay in effect
--record FILE            record the rekey in a new hash-chained record`

/** Longer than any share in any spelling, a card's included. */
const LINE_LIMIT = { bytes: 4096, what: 'a share' }

export async function rekey(argv: string[], io: Io): Promise<void> {
  const flags = parseFlags(argv, {
    ...NEW_SHARE_FLAGS,
    verify: { type: 'string' },
    format: { type: 'string' },
    ...RECORD_FLAGS,
  })
  const path = requireFlag(flags.keyset, '--keyset')
  const shares = intFlag(flags.shares, '--shares')
  const threshold = intFlag(flags.threshold, '--threshold')
  const format = formatFlag(flags.format)
  const verify = flags.verify ?? 'none'
  if (!['none', 'threshold', 'all'].includes(verify)) throw new TesseraError('usage', `--verify must be threshold or all, got "${verify}"`)
  const holders = holdersFlag(flags.holders)
  const recipients = await readRecipients(flags['pgp-keys'], shares, new SecretSource(io))

  const engine = await LocalEngine.open(path)
  const recordPath = recordFlag(flags)
  let writer: RecordWriter | undefined
  const lines = io.stdinLines(LINE_LIMIT)
  try {
    const checked = await engine.rekey
      .check({
        shares,
        threshold,
        pgpKeys: recipients.map((r) => r.key.write()),
        backup: false,
        requireVerification: verify === 'threshold',
        verifyAll: verify === 'all',
        ...(holders ? { holders } : {}),
        hold: true,
      })
      .catch((err: unknown) => {
        // Every refusal of the request is of its flags (Vault answers the limits with a 500).
        throw err instanceof TesseraError ? new TesseraError('usage', err.message) : err
      })
    if (recordPath) {
      writer = await RecordWriter.create(recordPath, await keysetFacts(engine.keyset, false))
      recordRekey(engine.rekey, writer)
    }
    const { nonce } = await engine.rekey.start(checked)
    io.stderr(`Enter ${engine.keyset.threshold} of the current shares of ${path}, one a line.\n`)
    const made = await enterCurrent(engine, lines, nonce, io)
    try {
      await io.writeOut(newSharesText(made, { holders, format, encrypted: recipients.length > 0 }))
    } catch (err) {
      throw new TesseraError('cli', `could not print the new shares (standard output: ${outputFailure(err)}); nothing was changed: the current shares stay in effect`)
    }
    if (verify === 'none') await engine.rekey.release()
    else await enterNew(engine, lines, verify === 'all' ? shares : threshold, io)
    io.stderr(
      `Keyset ${path} rekeyed: generation ${engine.keyset.generation}, ${shares} key shares, threshold ${threshold}. ` +
        'The earlier shares no longer open it; root tokens stay valid.\n',
    )
  } finally {
    lines.close()
    // A rekey not completed is dropped here, and what it held wiped; the record says so.
    await engine.rekey.cancel().catch(() => undefined)
    await engine.close()
    if (writer) io.stderr(`record ${recordPath} closed, final hash ${await writer.close()}\n`)
  }
}

/** Reads current shares until the rekey has a threshold of them; a refused share is said and skipped. */
async function enterCurrent(engine: LocalEngine, lines: LineReader, nonce: string, io: Io): Promise<NewShares> {
  for (;;) {
    const share = await nextShare(lines, 'Current share: ', () => `standard input ended after ${engine.rekey.status().progress} of ${engine.keyset.threshold} current shares: nothing was changed`)
    const answer = await refusalsSaid(io, () => engine.rekey.update(engine.rekey.parse(share), nonce)).finally(() => wipe(share))
    if (answer && 'keys' in answer) return answer
    if (answer) io.stderr(`accepted: ${answer.progress} of ${answer.required}\n`)
  }
}

/** Reads the new shares back until `required` of them are verified; each is checked as entered. */
async function enterNew(engine: LocalEngine, lines: LineReader, required: number, io: Io): Promise<void> {
  io.stderr(`Enter ${required} of the new shares, one a line, to put them in effect.\n`)
  for (;;) {
    const share = await nextShare(lines, 'New share: ', () => 'standard input ended before the new shares were verified: nothing was changed; the current shares stay in effect')
    const answer = await refusalsSaid(io, () => engine.rekey.verify(engine.rekey.parse(share), engine.rekey.verifyStatus().nonce)).finally(() => wipe(share))
    if (answer && 'complete' in answer) return
    if (answer) io.stderr(`verified: ${answer.progress} of ${required}\n`)
  }
}

async function nextShare(lines: LineReader, prompt: string, ended: () => string): Promise<Buffer> {
  for (;;) {
    const line = await lines.next(prompt)
    if (line === null) throw new TesseraError('cli', ended())
    // The share is a view of the line: wiping it wipes what the holder typed.
    const share = trimBytes(line)
    if (share.length > 0) return share
    wipe(line)
  }
}

/** Runs `call`; a refusal (a 400) is said on standard error and answers undefined, so the next line is read. */
async function refusalsSaid<T>(io: Io, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call()
  } catch (err) {
    if (!(err instanceof TesseraError) || err.status !== 400) throw err
    io.stderr(`refused: ${err.message}\n`)
    return undefined
  }
}

function newSharesText(made: NewShares, opts: { holders?: readonly string[]; format: 'text' | 'json'; encrypted: boolean }): string {
  if (opts.format === 'json') return `${JSON.stringify({ keys: made.keys, keys_base64: made.keys_base64 }, null, 2)}\n`
  const lines = made.keys_base64.map((k, i) => `New Unseal Key ${i + 1}${opts.holders?.[i] ? ` (${opts.holders[i]})` : ''}: ${k}`)
  const after = opts.encrypted ? "Each new share is encrypted to its holder's PGP key, in the order the keys were given." : 'Hand each new share to its holder now: Tessera does not store them and cannot show them again.'
  return [...lines, '', after, ''].join('\n')
}
