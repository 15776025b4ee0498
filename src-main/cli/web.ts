import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defaultConfigDir, openConnections } from '../profiles/connections'
import { sessionRouter } from '../ipc/handlers'
import { createWebHost, newAccessToken } from '../web/host'
import { closeOnSignal, listen } from '../server/listen'
import { redact } from '../support/redact'
import { cancelledOnStop, intFlag, parseFlags, type Io } from './args'
import { TesseraError } from '../support/errors'

export const usage = `Usage: tessera web [--keyset FILE] [--port P]

Serves the desktop UI on 127.0.0.1 for a local browser, for machines without
Electron. Prints the address to open; it carries a one-time access token in its
fragment (#access=...), made fresh for each run and never stored. --port 0 picks
a free port. Stops on SIGINT or SIGTERM, saying what it drops: a running
attempt, a finished result never decoded, shares never handed out.`

/** The built renderer sits beside the built main code: out/main/cli.js → out/renderer. */
const RENDERER_DIR = fileURLToPath(new URL('../renderer/', import.meta.url))

export async function web(argv: string[], io: Io): Promise<void> {
  const flags = parseFlags(argv, { keyset: { type: 'string' }, port: { type: 'string' } })
  const port = intFlag(flags.port, '--port', 0)
  if (port > 65535) throw new TesseraError('usage', '--port must be from 0 to 65535')
  if (!existsSync(RENDERER_DIR)) throw new TesseraError('cli', 'the UI is not built: run "npm run build" first')

  const { session, dispatch } = sessionRouter({ connections: await openConnections(), configDir: defaultConfigDir() }, (channel, err) =>
    io.stderr(`${redact(`internal error on ${channel}: ${(err as Error)?.name ?? 'unknown'}`)}\n`),
  )
  if (flags.keyset) await session.ceremony.openKeyset(flags.keyset)
  const token = newAccessToken()
  let bound = 0
  const server = createWebHost({
    rendererDir: RENDERER_DIR,
    token,
    port: () => bound,
    log: (line) => io.stderr(`${redact(line)}\n`),
    dispatch,
  })
  try {
    bound = (await listen(server, '127.0.0.1', port)).port
  } catch (err) {
    throw new TesseraError('cli', `cannot listen on 127.0.0.1:${port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const stopped = closeOnSignal(server, async () => {
    const { cancelled, dropped } = await session.close()
    if (cancelled) io.stderr(cancelledOnStop(cancelled))
    for (const what of dropped) io.stderr(`stopped: ${what}\n`)
  })
  io.stdout(`listening on http://127.0.0.1:${bound}\n`)
  io.stdout(`open http://127.0.0.1:${bound}/#access=${token}\n`)
  await stopped
}
