import { lstat } from 'node:fs/promises'
import { LocalEngine } from '../engine/local-engine'
import { InitRecord, type InitFacts } from '../record/init-record'
import type { InitTarget } from '../server/sys-init'
import { publicError, systemReason } from '../support/errors'
import { readFailure, readRegularFile } from '../support/bounded-read'
import { createApiServer, type ApiServer } from '../server/http-api'
import { closeOnSignal, listen } from '../server/listen'
import { hostPort, isLoopback } from '../support/address'
import { redactingLog } from '../support/redact'
import { AttemptRecord, keysetFacts } from '../record/attempt-record'
import { recording } from '../record/recording-backend'
import { recordRekey } from '../record/rekey-record'
import { cancelledOnStop, intFlag, parseFlags, requireFlag, RECORD_FLAGS, recordFlag, type Io } from './args'
import { TesseraError } from '../support/errors'

export const usage = `Usage: tessera serve --keyset FILE [--host 127.0.0.1] [--port 8200]
                     [--recovery | --sealed | --uninitialized]
                     [--tls-cert FILE --tls-key FILE] [--require-token] [--record FILE]

Serves Vault's HTTP API for the keyset (sys/generate-root, sys/generate-share,
sys/init, sys/seal-status, sys/unseal, sys/seal, sys/rekey/*, sys/rotate/root/*,
sys/health, sys/decode-token, auth/token/lookup-self and revoke-self; with
--recovery, sys/generate-recovery-token instead of the first two, and the rest
sealed). A rekey makes the keyset's next generation. Port 0 picks a free port.
Stops on SIGINT or SIGTERM.

--sealed               start sealed, as a Vault process starts: every other
                       endpoint answers 503 "Vault is sealed" until a threshold
                       of shares is given to sys/unseal; sys/seal (root token)
                       seals again
--uninitialized        FILE must not exist: serve as a Vault before init until
                       PUT sys/init creates FILE (sealed then, as Vault after init)

--tls-cert/--tls-key   serve HTTPS with this PEM certificate (chain) and key
--require-token        behave like a 2026 server: the generate endpoints answer
                       403 "permission denied" without a valid X-Vault-Token
                       (Vault 2.x), the authenticated
                       sys/generate-root-token/{attempt,update} is offered (OpenBao 2.6),
                       and the unauthenticated sys/rekey/{init,update,verify} answer
                       405 (OpenBao 2.5; sys/rotate/root/* takes a token)
--record FILE          record every attempt, unseal, seal, init and rekey this server
                       runs in a new hash-chained record (never overwritten;
                       tessera record verify FILE);
                       with it, use --require-token unless every local process is trusted`

export async function serve(argv: string[], io: Io): Promise<void> {
  const flags = parseFlags(argv, {
    keyset: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    recovery: { type: 'boolean', default: false },
    sealed: { type: 'boolean', default: false },
    uninitialized: { type: 'boolean', default: false },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'require-token': { type: 'boolean', default: false },
    ...RECORD_FLAGS,
  })
  const path = requireFlag(flags.keyset, '--keyset')
  const recordPath = recordFlag(flags)
  const port = intFlag(flags.port, '--port', 8200)
  if (port > 65535) throw new TesseraError('usage', '--port must be from 0 to 65535')
  const host = flags.host
  if ([flags.recovery, flags.sealed, flags.uninitialized].filter(Boolean).length > 1) {
    throw new TesseraError('usage', '--recovery, --sealed and --uninitialized exclude one another')
  }

  if (Boolean(flags['tls-cert']) !== Boolean(flags['tls-key'])) {
    throw new TesseraError('usage', '--tls-cert and --tls-key go together')
  }
  const tls = flags['tls-cert'] ? { cert: await readPem(flags['tls-cert'], '--tls-cert'), key: await readPem(flags['tls-key']!, '--tls-key') } : undefined

  const log = redactingLog((line) => io.stderr(`${line}\n`))
  let engine: LocalEngine | undefined
  let record: AttemptRecord | undefined
  let served: LocalEngine | InitTarget
  if (flags.uninitialized) {
    await assertAbsent(path, 'the keyset', '--uninitialized serves a keyset not created yet; without it, serve this one')
    if (recordPath) await assertAbsent(recordPath, 'the record', 'Tessera never overwrites a record')
    served = {
      uninitialized: true,
      path,
      ...(recordPath ? { record: (facts: InitFacts) => InitRecord.open(recordPath, facts) } : {}),
      async opened(keyset, initRecord) {
        engine = LocalEngine.fromKeyset(keyset, { sealed: true })
        if (!initRecord) return engine
        const attempts = new AttemptRecord(initRecord.writer, engine)
        record = attempts
        recordRekey(engine.rekey, initRecord.writer)
        recordRekey(engine.rotation, initRecord.writer)
        // A record that cannot be written now refuses every recorded call that follows.
        await initRecord.handOutEnded().then(() => attempts.sealed('init')).catch((err: unknown) => log(`record: ${publicError(err).message}`))
        return recording(engine, attempts)
      },
    }
  } else {
    engine = await LocalEngine.open(path, { recovery: flags.recovery, sealed: flags.sealed })
    record = recordPath ? await AttemptRecord.open(recordPath, engine, await keysetFacts(engine.keyset, flags.recovery)) : undefined
    if (flags.sealed) await record?.sealed('start')
    if (record) {
      recordRekey(engine.rekey, record.writer)
      recordRekey(engine.rotation, record.writer)
    }
    served = record ? recording(engine, record) : engine
  }
  let server: ApiServer
  try {
    server = createApiServer(served, { log, requireToken: flags['require-token'], tls, bindHost: host })
  } catch (err) {
    throw new TesseraError('cli', `cannot use the TLS certificate and key: ${(err as Error).message}`)
  }
  let bound: { host: string; port: number }
  try {
    bound = await listen(server, host, port)
  } catch (err) {
    throw new TesseraError('cli', `cannot listen on ${hostPort(host, port)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (record && !flags['require-token']) {
    io.stderr('warning: without --require-token, any process on this machine can start, update or cancel an attempt, and the record holds what it does as part of the ceremony\n')
  }
  if (!tls && !isLoopback(host)) {
    io.stderr(`warning: serving plain HTTP on ${host}, which is not a loopback address; shares would cross the network unencrypted\n`)
  }
  const stopped = closeOnSignal(server, async () => {
    // An attempt or a rekey still running is lost on stop: its shares are wiped with it, and the operator is told.
    const running = engine?.runningFlow
    const rekeys = engine ? await cancelRekeys(engine) : []
    await engine?.close()
    if (running) io.stderr(cancelledOnStop(running))
    for (const line of rekeys) io.stderr(line)
  })
  io.stdout(`listening on ${tls ? 'https' : 'http'}://${hostPort(bound.host, bound.port)}\n`)
  await stopped
  if (record) io.stderr(`record ${recordPath} closed, final hash ${await record.close()}\n`)
}

/**
 * Cancels the rekeys running on `engine` as an operator's cancel would (so the
 * record says so), and says what was lost in a line each: the current shares
 * stay in effect, new shares already made are void (their backup with them),
 * and a backup still held, in memory only, is gone.
 */
async function cancelRekeys(engine: LocalEngine): Promise<string[]> {
  const lines: string[] = []
  for (const [rekeying, path] of [[engine.rekey, 'sys/rekey'], [engine.rotation, 'sys/rotate/root']] as const) {
    const status = rekeying.status()
    if (status.started) {
      const madeBackup = rekeying.readBackup()?.nonce === status.nonce
      // A record that cannot take the line does not keep the rekey alive: the engine closes anyway.
      await rekeying.cancel().catch(() => undefined)
      const made = status.verification_nonce ? `, the new shares it made are void${madeBackup ? ' and so is their backup' : ''}` : ''
      lines.push(`stopped: the rekey in progress (${path}) was cancelled${made}; the shares given to it were wiped and the current shares stay in effect\n`)
    }
    const backup = rekeying.readBackup()
    if (backup) {
      lines.push(`stopped: the backup of the shares in effect (${path}/backup, rekey ${backup.nonce}) was held in memory only and is gone; the shares themselves still work\n`)
    }
  }
  return lines
}

/** Refuses a path that names anything, even a dangling symlink, before the server starts. */
async function assertAbsent(path: string, what: string, why: string): Promise<void> {
  const exists = await lstat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? false : Promise.reject(new TesseraError('cli', `cannot use ${what} ${path}: ${systemReason(err)}`))),
  )
  if (exists) throw new TesseraError('cli', `${path} already exists: ${why}`)
}

/** A certificate chain or a key: a few KB each, a long chain tens of KB. */
const PEM_LIMIT = { bytes: 1024 * 1024, what: 'a PEM file' }

async function readPem(path: string, flag: string): Promise<Buffer> {
  try {
    return await readRegularFile(path, PEM_LIMIT)
  } catch (err) {
    throw new TesseraError('cli', `cannot read ${flag} ${path}: ${readFailure(err)}`)
  }
}
