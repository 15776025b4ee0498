import type { Io } from './args'
import { Output, outputFailure } from './output'
import { readStdin } from '../support/bounded-read'
import { ERRORS, type ErrorEntry } from '../support/error-codes'
import { stdinLines } from '../support/stdin-lines'
import { TesseraError } from '../support/errors'
import { redact } from '../support/redact'
import { VERSION } from '../version'

type Command = readonly [run: (argv: string[], io: Io) => Promise<void>, usage: string]

/**
 * Each command's module is loaded only when that command runs: a decode must
 * not pay for the server, the keyset schemas, Shamir or the web host.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  init: async () => import('./init').then((m) => [m.init, m.usage]),
  rekey: async () => import('./rekey').then((m) => [m.rekey, m.usage]),
  serve: async () => import('./serve').then((m) => [m.serve, m.usage]),
  decode: async () => import('./decode').then((m) => [m.decode, m.usage]),
  'generate-otp': async () => import('./generate-otp').then((m) => [m.generateOtp, m.usage]),
  'verify-share': async () => import('./verify-share').then((m) => [m.verifyShare, m.usage]),
  web: async () => import('./web').then((m) => [m.web, m.usage]),
  record: async () => import('./record').then((m) => [m.record, m.usage]),
  transcript: async () => import('./record').then((m) => [m.record, m.usage]),
}

const OVERVIEW = `Tessera ${VERSION}: key ceremonies for HashiCorp Vault and OpenBao.

Usage: tessera <command> [flags]

Commands:
  init           create a local keyset and hand out its shares
  rekey          replace a local keyset's shares with new ones
  serve          serve Vault's HTTP API for a keyset on loopback
  decode         decode an OTP- or PGP-protected result offline
  generate-otp   print a one-time password
  verify-share   check one share against a keyset, with no ceremony
  web            the desktop UI in a local browser (no Electron needed)
  record         verify a ceremony record or print it for witnesses to sign
  transcript     old name of record

"tessera <command> --help" shows a command's flags.
Exit codes: 0 success, 1 operational failure, 2 usage error.`

export async function run(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined) {
    io.stderr(`${OVERVIEW}\n`)
    return 2
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(`${OVERVIEW}\n`)
    return 0
  }
  if (name === '--version') {
    io.stdout(`${VERSION}\n`)
    return 0
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (!load) {
    io.stderr(`tessera: unknown command "${name}"\n\n${OVERVIEW}\n`)
    return 2
  }
  const [fn, usage] = await load()
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`${usage}\n`)
    return 0
  }
  try {
    await fn(rest, io)
    return 0
  } catch (err) {
    if (err instanceof TesseraError) {
      // A usage mistake is answered with the command's usage below it.
      io.stderr(`tessera ${name}: ${err.message}\n${err.code === 'usage' ? `\n${usage}\n` : ''}`)
      const entry: ErrorEntry = ERRORS[err.code]
      return entry.exit ?? 1
    }
    // A bug: say so, in one redacted line; the input that caused it is never echoed.
    io.stderr(`tessera ${name}: unexpected error (${(err as Error)?.name ?? 'unknown'}): ${redact(String((err as Error)?.message ?? ''))}\n`)
    return 1
  }
}

/** These answer requests until stopped: a lost log must not stop them. */
const SERVING = new Set(['serve', 'web'])

export async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  // Only a known command's name is repeated: the first argument could be anything.
  const name = argv[0] !== undefined && Object.hasOwn(COMMANDS, argv[0]) ? `tessera ${argv[0]}` : 'tessera'
  const serving = SERVING.has(argv[0] ?? '')
  // A server says once, on the other stream while it can, that one went silent.
  const tellOther = (failed: Output) => {
    if (!serving) return
    const other = failed === stdout ? stderr : stdout
    other.say(`${name}: ${failed.name} can no longer be written (${outputFailure(failed.failure)}); its messages are dropped from now on\n`)
  }
  const stdout = new Output(process.stdout, 'standard output', tellOther)
  const stderr = new Output(process.stderr, 'standard error', tellOther)
  let code = await run(argv, {
    stdout: (t) => stdout.say(t),
    writeOut: (t) => stdout.write(t),
    stderr: (t) => stderr.say(t),
    stdin: readStdin,
    stdinLines: (limit) => stdinLines(limit, (prompt) => stderr.say(prompt)),
  })
  await Promise.all([stdout.settled(), stderr.settled()])
  // Anything else that was meant to be seen and was not is a failure, said in one sentence.
  const lost = [stdout, stderr].find((o) => o.failure !== undefined)
  if (lost && code === 0 && !serving) {
    stderr.say(`${name}: could not write to ${lost.name}: ${outputFailure(lost.failure)}\n`)
    await stderr.settled()
    code = 1
  }
  process.exitCode = code
}
