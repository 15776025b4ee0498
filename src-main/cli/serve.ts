import { LocalEngine } from '../engine/local-engine'
import { createApiServer } from '../server/http-api'
import { hostPort, isLoopback, listen } from '../server/listen'
import { CliError, intFlag, parseFlags, requireFlag, UsageError, type Io } from './args'

export const usage = `Usage: tessera serve --keyset FILE [--host 127.0.0.1] [--port 8200] [--recovery]

Serves Vault's HTTP API for the keyset (sys/generate-root, sys/generate-share,
sys/seal-status, sys/health, sys/decode-token, auth/token/lookup-self and
revoke-self; with --recovery, sys/generate-recovery-token instead of the first
two). Port 0 picks a free port. Stops on SIGINT or SIGTERM.`

export async function serve(argv: string[], io: Io): Promise<void> {
  const flags = parseFlags(argv, {
    keyset: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    recovery: { type: 'boolean', default: false },
  })
  const path = requireFlag(flags.keyset, '--keyset')
  const port = intFlag(flags.port, '--port', 8200)
  if (port > 65535) throw new UsageError('--port must be from 0 to 65535')
  const host = flags.host

  const engine = await LocalEngine.open(path, { recovery: flags.recovery })
  const server = createApiServer(engine, { log: (line) => io.stderr(`${line}\n`) })
  let bound: { host: string; port: number }
  try {
    bound = await listen(server, host, port)
  } catch (err) {
    throw new CliError(`cannot listen on ${hostPort(host, port)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (!isLoopback(host)) {
    io.stderr(`warning: serving plain HTTP on ${host}, which is not a loopback address; shares would cross the network unencrypted\n`)
  }
  io.stdout(`listening on http://${hostPort(bound.host, bound.port)}\n`)

  await new Promise<void>((resolve) => {
    const stop = () => {
      server.close(() => resolve())
      server.closeAllConnections()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
