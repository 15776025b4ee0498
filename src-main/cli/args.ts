import { parseArgs, type ParseArgsConfig } from 'node:util'
import { hasCode, TesseraError } from '../support/errors'
import { readFailure, readRegularFile, type ReadLimit } from '../support/bounded-read'
import type { LineReader } from '../support/stdin-lines'

export interface Io {
  stdout: (text: string) => void
  /** Writes to standard output and settles once the system took it; rejects when it cannot (a full disk, a closed pipe). */
  writeOut: (text: string) => Promise<void>
  stderr: (text: string) => void
  /** Standard input to its end, refused past `limit`. */
  stdin: (limit: ReadLimit) => Promise<Buffer>
  /** Standard input a line at a time (on a terminal: prompted on standard error, not echoed). */
  stdinLines: (limit: ReadLimit) => LineReader
}

type Options = NonNullable<ParseArgsConfig['options']>

/** Said on stopping when a local attempt was still running: it is lost, and what it collected wiped. */
export function cancelledOnStop(flow: string): string {
  return `stopped: the ${flow} attempt in progress was cancelled and the shares given to it wiped\n`
}

export function parseFlags<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values
  } catch (err) {
    throw new TesseraError('usage', (err as Error).message)
  }
}

/** `--record FILE`, the flag that names a ceremony record; `--transcript` is its old name, kept as an alias. */
export const RECORD_FLAGS = { record: { type: 'string' }, transcript: { type: 'string' } } as const

/** The record path given by `--record` or its alias `--transcript`; both at once is a usage mistake. */
export function recordFlag(flags: { record?: string; transcript?: string }): string | undefined {
  if (flags.record !== undefined && flags.transcript !== undefined) throw new TesseraError('usage', 'give --record once (--transcript is its old name)')
  return flags.record ?? flags.transcript
}

export function requireFlag<T>(value: T | undefined, flag: string): T {
  if (value === undefined || value === '') throw new TesseraError('usage', `${flag} is required`)
  return value
}

export function intFlag(value: string | undefined, flag: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new TesseraError('usage', `${flag} is required`)
    return fallback
  }
  if (!/^\d+$/.test(value)) throw new TesseraError('usage', `${flag} must be a whole number, got "${value}"`)
  return Number(value)
}

export function formatFlag(value: string | undefined): 'text' | 'json' {
  if (value === undefined || value === 'text') return 'text'
  if (value === 'json') return 'json'
  throw new TesseraError('usage', `--format must be text or json, got "${value}"`)
}

/**
 * Reads a secret given as `-` (standard input) or a file, so that it never has to
 * appear on a command line, where process lists and shell history would keep it.
 */
export class SecretSource {
  private stdinUsedBy: string | undefined

  constructor(private readonly io: Io) {}

  async fromStdinOrValue(value: string, flag: string, limit: ReadLimit): Promise<string> {
    return value === '-' ? (await this.fromStdinOrFile(value, flag, limit)).toString('utf8').trim() : value
  }

  /** Each caller names its limit: nothing is read past it, and a FIFO or device is refused, not waited on. */
  async fromStdinOrFile(path: string, flag: string, limit: ReadLimit): Promise<Buffer> {
    try {
      return path === '-' ? await this.stdin(flag, limit) : await readRegularFile(path, limit)
    } catch (err) {
      if (hasCode(err, 'usage')) throw err
      throw new TesseraError('cli', `cannot read ${flag} ${path === '-' ? 'from standard input' : path}: ${readFailure(err)}`)
    }
  }

  private async stdin(flag: string, limit: ReadLimit): Promise<Buffer> {
    if (this.stdinUsedBy) throw new TesseraError('usage', `${this.stdinUsedBy} already reads standard input; ${flag} cannot too`)
    this.stdinUsedBy = flag
    return this.io.stdin(limit)
  }
}
