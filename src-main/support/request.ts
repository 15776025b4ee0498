import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'

/**
 * What every HTTP listener of Tessera needs before it reads a request: a request
 * target that may be anything a client typed (`http://a:99999/`, `//a:99999`,
 * `http://[/`), and sockets that may send garbage or vanish at any byte.
 */

/**
 * The path and query (`search`, "" or "?…") of a request target; null when it
 * is not one a URL parser accepts.
 */
export function requestTarget(req: IncomingMessage): { pathname: string; search: string } | null {
  try {
    const url = new URL(req.url ?? '/', 'http://localhost')
    return { pathname: url.pathname, search: url.search }
  } catch {
    return null
  }
}

/**
 * Answers a request Node's parser refused (malformed line, oversized headers)
 * with a bare 400 instead of letting the error reach the server, and drops a
 * socket that is already gone. Nothing of the input is logged.
 */
export function guardServer(server: Server, log: (line: string) => void): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy()
      return
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request'
    log(`refused a malformed request (${err.code ?? 'parse error'})`)
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
  })
}

/** True when an error means the client went away mid-request: nothing the server did wrong. */
export function isClientGone(err: unknown, req: IncomingMessage): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE' || (req.destroyed && !req.complete)
}
