import type { Server } from 'node:net'
import type { AddressInfo } from 'node:net'

/** Starts listening and resolves with the address actually bound (port 0 picks a free one). */
export function listen(server: Server, host: string, port: number): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      const address = server.address() as AddressInfo
      resolve({ host, port: address.port })
    })
  })
}

/**
 * Closes the server on SIGINT or SIGTERM, then `close` (the backend it served:
 * its attempt cancelled, what it collected wiped), and resolves once both are
 * done. The handlers are in place when this returns: call it before announcing
 * the address, so that a signal right after the announcement still ends the
 * process cleanly.
 */
export function closeOnSignal(server: Server & { closeAllConnections(): void }, close?: () => void | Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = () => {
      const stopped = new Promise<void>((done) => server.close(() => done()))
      server.closeAllConnections()
      Promise.resolve()
        .then(close)
        .then(() => stopped)
        .then(resolve, reject)
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
