import { spawn } from 'node:child_process'
import { TesseraError } from '../support/errors'
import { gpgFailure, readStatus } from './gpg-status'
import { MAX_DECOMPRESSED_BYTES } from './pgp'
import { wipe } from './wipe'

export interface GpgOptions {
  /** How long gpg may take, the holder's PIN entry and card touch included. */
  timeoutMs?: number
  /** gpg's environment (GNUPGHOME, PATH, GPG_TTY): this process's own by default. */
  env?: NodeJS.ProcessEnv
}

/** Long enough to fetch a card and type its PIN; a PIN entry left open ends here. */
export const GPG_TIMEOUT_MS = 120_000

/** gpg's own words and status lines are a few lines long; anything more is dropped. */
const MAX_TEXT_BYTES = 64 * 1024

/**
 * `--batch --no-tty`: gpg asks nothing itself; its agent asks for a PIN or
 * passphrase through the holder's pinentry, so a card or an agent-held key works
 * and no passphrase passes through Tessera. `--skip-verify` and
 * `--no-auto-key-retrieve`: a signature on the message is not checked, so it
 * cannot make gpg reach a key server. `--max-output` bounds decompression in gpg
 * itself. No `--quiet`: it also silences the NO_SECKEY and ERROR status lines.
 */
const ARGS = [
  '--batch', '--no-tty',
  '--status-fd', '3',
  '--skip-verify', '--no-auto-key-retrieve',
  '--max-output', String(MAX_DECOMPRESSED_BYTES),
  '--decrypt',
]

const timeoutError = (ms: number) =>
  new TesseraError('gpg_timeout', `decrypting with gpg took longer than ${Math.round(ms / 1000)} s (a PIN entry left open, or a card waiting for a touch): gpg was stopped, and nothing was decrypted; close the PIN entry if it is still on screen, then decode again`)

const tooLarge = () =>
  new TesseraError('gpg_bad_data', `the message decrypts to more than ${MAX_DECOMPRESSED_BYTES / 1024} KiB: a Vault result is a token or a share, so this is not one`)

function startError(err: NodeJS.ErrnoException): TesseraError {
  if (err.code === 'ENOENT') {
    return new TesseraError('gpg_missing', 'GnuPG is not installed here (no gpg on the PATH): install GnuPG 2.2 or later (apt install gnupg, brew install gnupg), or decode with the private key file')
  }
  return new TesseraError('gpg_failed', `GnuPG could not be started (${err.code ?? 'unknown error'})`)
}

/** Appends text to `into` up to MAX_TEXT_BYTES. */
const bounded = (into: string, chunk: Buffer) => (into.length < MAX_TEXT_BYTES ? into + chunk.toString('utf8', 0, MAX_TEXT_BYTES - into.length) : into)

/**
 * Decrypts a binary OpenPGP message with the system's gpg: the message goes to
 * gpg's standard input, the plaintext comes back through a pipe into one buffer
 * (never a file), and the private key stays in gpg-agent or on its card. The
 * plaintext belongs to the caller, who wipes it. gpg runs without a shell, is
 * killed at the time limit or when it writes more than a result can be, and a
 * failure is told apart by its status lines.
 */
export function decryptWithGpg(message: Uint8Array, opts: GpgOptions = {}): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? GPG_TIMEOUT_MS
  return new Promise((resolve, reject) => {
    const child = spawn('gpg', ARGS, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'], windowsHide: true })
    const plain = Buffer.alloc(MAX_DECOMPRESSED_BYTES)
    let used = 0
    let status = ''
    let stderr = ''
    let stopped: TesseraError | null = null
    const stop = (why: TesseraError) => {
      stopped ??= why
      child.kill('SIGKILL')
    }
    const timer = setTimeout(() => stop(timeoutError(timeoutMs)), timeoutMs)

    child.stdout!.on('data', (chunk: Buffer) => {
      // gpg stops at --max-output, the buffer's size: output that fills it was cut there.
      if (used + chunk.length >= plain.length) stop(tooLarge())
      else plain.set(chunk, used)
      used = Math.min(used + chunk.length, plain.length)
      wipe(chunk)
    })
    ;(child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => (status = bounded(status, chunk)))
    child.stderr!.on('data', (chunk: Buffer) => (stderr = bounded(stderr, chunk)))
    // gpg may stop reading early (a message for another key); its verdict comes from the status lines.
    child.stdin!.on('error', () => undefined)
    child.stdin!.end(message)

    const fail = (err: TesseraError) => {
      wipe(plain)
      reject(err)
    }
    child.on('error', (err) => {
      clearTimeout(timer)
      fail(startError(err))
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      if (stopped) return fail(stopped)
      const read = readStatus(status)
      if (code !== 0 || !read.okay) return fail(gpgFailure(read, stderr))
      const out = Buffer.from(plain.subarray(0, used))
      wipe(plain)
      resolve(out)
    })
  })
}
