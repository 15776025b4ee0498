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

/** host:port as it goes in a URL: IPv6 literals in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
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
