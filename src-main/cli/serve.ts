import { LocalEngine } from '../engine/local-engine'
import { readFailure, readRegularFile } from '../support/bounded-read'
import { createApiServer, type ApiServer } from '../server/http-api'
import { closeOnSignal, listen } from '../server/listen'
import { hostPort, isLoopback } from '../support/address'
import { redactingLog } from '../support/redact'
import { AttemptRecord, keysetFacts } from '../record/attempt-record'
import { recording } from '../record/recording-backend'
import { cancelledOnStop, intFlag, parseFlags, requireFlag, RECORD_FLAGS, recordFlag, type Io } from './args'
import { TesseraError } from '../support/errors'

export const usage = `Usage: tessera serve --keyset FILE [--host 127.0.0.1] [--port 8200] [--recovery]
                     [--tls-cert FILE --tls-key FILE] [--require-token] [--record FILE]

Serves Vault's HTTP API for the keyset (sys/generate-root, sys/generate-share,
sys/seal-status, sys/health, sys/decode-token, auth/token/lookup-self and
revoke-self; with --recovery, sys/generate-recovery-token instead of the first
two). Port 0 picks a free port. Stops on SIGINT or SIGTERM.

--tls-cert/--tls-key   serve HTTPS with this PEM certificate (chain) and key
--require-token        behave like a 2026 server: the generate endpoints answer
                       403 "permission denied" without a valid X-Vault-Token
                       (Vault 2.x), and the authenticated
                       sys/generate-root-token/{attempt,update} is offered (OpenBao 2.6)
--record FILE          record every attempt this server runs in a new hash-chained
                       record (never overwritten; tessera record verify FILE);
                       with it, use --require-token unless every local process is trusted`

export async function serve(argv: string[], io: Io): Promise<void> {
  const flags = parseFlags(argv, {
    keyset: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    recovery: { type: 'boolean', default: false },
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

  if (Boolean(flags['tls-cert']) !== Boolean(flags['tls-key'])) {
    throw new TesseraError('usage', '--tls-cert and --tls-key go together')
  }
  const tls = flags['tls-cert'] ? { cert: await readPem(flags['tls-cert'], '--tls-cert'), key: await readPem(flags['tls-key']!, '--tls-key') } : undefined

  const engine = await LocalEngine.open(path, { recovery: flags.recovery })
  const record = recordPath ? await AttemptRecord.open(recordPath, engine, await keysetFacts(engine.keyset, flags.recovery)) : undefined
  let server: ApiServer
  try {
    server = createApiServer(record ? recording(engine, record) : engine, { log: redactingLog((line) => io.stderr(`${line}\n`)), requireToken: flags['require-token'], tls, bindHost: host })
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
    // An attempt still running is lost on stop: its shares are wiped with it, and the operator is told.
    const running = engine.runningFlow
    await engine.close()
    if (running) io.stderr(cancelledOnStop(running))
  })
  io.stdout(`listening on ${tls ? 'https' : 'http'}://${hostPort(bound.host, bound.port)}\n`)
  await stopped
  if (record) io.stderr(`record ${recordPath} closed, final hash ${await record.close()}\n`)
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
