import { X509Certificate } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { canonicalHost, isLoopback } from '../support/address'

/**
 * Which Host and Origin headers `tessera serve` answers. On a loopback address a
 * browser page could reach it through DNS rebinding (a name of the attacker's that
 * now resolves to 127.0.0.1) and cancel or restart an attempt: there only loopback
 * names and the certificate's own names are served. On any other address it is a
 * real server, reached by whatever name its operators use, so any Host is served.
 * Vault clients send no Origin: one that is not this server's own is a page of
 * another site, and is refused either way.
 */

/** The DNS names and IP addresses a certificate is valid for (its subjectAltName), lowercased. */
export function certificateNames(pem: Buffer): string[] {
  let altNames: string | undefined
  try {
    altNames = new X509Certificate(pem).subjectAltName
  } catch {
    return []
  }
  const names: string[] = []
  for (const entry of (altNames ?? '').split(',')) {
    const [kind, ...rest] = entry.trim().split(':')
    if (kind === 'DNS' || kind === 'IP Address') names.push(canonicalHost(rest.join(':')))
  }
  return names.filter((n) => n !== '')
}

/** A Host header's name and port ("[::1]:8200", "localhost", "127.0.0.1:8200"); null when malformed. */
function splitHost(value: string): { name: string; port?: number } | null {
  if (value.length === 0 || value.length > 300) return null
  let name: string
  let port: string | undefined
  if (value.startsWith('[')) {
    const end = value.indexOf(']')
    if (end < 0) return null
    name = value.slice(1, end)
    const after = value.slice(end + 1)
    if (after !== '' && !after.startsWith(':')) return null
    port = after === '' ? undefined : after.slice(1)
  } else {
    const colon = value.indexOf(':')
    if (colon >= 0 && value.indexOf(':', colon + 1) >= 0) return null
    name = colon < 0 ? value : value.slice(0, colon)
    port = colon < 0 ? undefined : value.slice(colon + 1)
  }
  if (port !== undefined && !/^\d{1,5}$/.test(port)) return null
  if (!/^[A-Za-z0-9.:%_-]+$/.test(name)) return null
  return { name: canonicalHost(name), port: port === undefined ? undefined : Number(port) }
}

/** "*.example.com" covers exactly one label in front of example.com, as TLS does. */
function certCovers(names: string[], host: string): boolean {
  return names.some((n) => n === host || (n.startsWith('*.') && host.endsWith(n.slice(1)) && !host.slice(0, -n.length + 1).includes('.')))
}

export interface HostPolicyOptions {
  /** The address the server is bound to. */
  bindHost: string
  tls: boolean
  /** The TLS certificate's own names. */
  certNames: string[]
}

/** What a Host header says: its canonical name, and why it is refused (null: served). */
interface HostVerdict {
  name: string | undefined
  refusal: string | null
}

/** Returns why a request is refused (403), or null when its Host and Origin are acceptable. */
export function hostPolicy(opts: HostPolicyOptions): (req: IncomingMessage) => string | null {
  const loopbackOnly = isLoopback(opts.bindHost)
  const ours = (name: string) => isLoopback(name) || certCovers(opts.certNames, name)

  const judge = (header: string): HostVerdict => {
    const host = splitHost(header)
    if (host === null) return { name: undefined, refusal: 'forbidden: malformed Host header' }
    if (loopbackOnly && !ours(host.name)) {
      return { name: host.name, refusal: 'forbidden: this server answers only to loopback names and the names of its certificate (Host header refused)' }
    }
    return { name: host.name, refusal: null }
  }
  return (req) => {
    const header = req.headers.host
    const host = header === undefined ? undefined : judge(header)
    if (host?.refusal) return host.refusal
    const origin = req.headers.origin
    if (origin === undefined) return null
    const scheme = opts.tls ? 'https://' : 'http://'
    const from = origin.startsWith(scheme) ? splitHost(origin.slice(scheme.length)) : null
    const port = from ? (from.port ?? (opts.tls ? 443 : 80)) : undefined
    if (!from || port !== req.socket.localPort || !(ours(from.name) || from.name === host?.name)) {
      return 'forbidden: cross-origin requests are refused (Origin header)'
    }
    return null
  }
}
