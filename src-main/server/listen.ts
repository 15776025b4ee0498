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
 * Closes the server on SIGINT or SIGTERM and resolves once it has. The handlers
 * are in place when this returns: call it before announcing the address, so that
 * a signal right after the announcement still ends the process cleanly.
 */
export function closeOnSignal(server: Server & { closeAllConnections(): void }, beforeClose?: () => void): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      beforeClose?.()
      server.close(() => resolve())
      server.closeAllConnections()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
