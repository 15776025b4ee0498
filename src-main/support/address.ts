/**
 * Address rules shared by every room that listens or connects: what counts as
 * loopback, and how a host goes into a URL. An IPv4 address written in its
 * IPv6-mapped form (::ffff:127.0.0.1, ::ffff:7f00:1) is that IPv4 address.
 */

/** Strips URL brackets and a zone, lowercases, and unwraps IPv4-mapped IPv6. */
export function canonicalHost(host: string): string {
  let h = host.trim().toLowerCase().replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  if (h.endsWith('.')) h = h.slice(0, -1)
  const mapped = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:(.+)$/.exec(h)
  if (mapped) {
    const rest = mapped[1]!
    if (/^\d+\.\d+\.\d+\.\d+$/.test(rest)) return rest
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(rest)
    if (hex) {
      const hi = parseInt(hex[1]!, 16)
      const lo = parseInt(hex[2]!, 16)
      return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
    }
  }
  return h
}

export function isLoopback(host: string): boolean {
  const h = canonicalHost(host)
  return h === 'localhost' || h === '::1' || /^0{0,4}(:0{0,4}){0,6}:0{0,3}1$/.test(h) || /^127\.\d+\.\d+\.\d+$/.test(h)
}

/** host:port as it goes in a URL: IPv6 literals in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
