import type { IncomingMessage } from 'node:http'
import { TesseraError } from './errors'
import { isClientGone } from './request'

/** The client closed the connection before its body was complete: not a server fault, and nobody to answer. */
const clientGone = () => new TesseraError('client_gone', 'the client closed the connection before the request body was complete')

/**
 * Reads a request body of at most `max` bytes; null when it is larger (the
 * declared length is checked first, so a large upload is refused unread, and
 * one that grows past `max` is dropped with its connection). The chunks are
 * wiped once joined: a body may hold a share.
 *
 * Plain 'data'/'end' listeners rather than an async iterator: kept for speed
 * (docs/benchmarks.md, "Kept for speed").
 */
export function readBoundedBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  if (Number(req.headers['content-length'] ?? 0) > max) return Promise.resolve(null)
  // Gone while the request waited (a token lookup): no event will come.
  if (req.destroyed) return Promise.reject(clientGone())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const settle = (outcome: () => void) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
      outcome()
      for (const c of chunks) c.fill(0)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        settle(() => resolve(null))
        // Nothing more of it is read: the connection cannot be reused.
        req.destroy()
        return
      }
      chunks.push(chunk)
    }
    // A socket closed mid-body can end the stream quietly instead of failing it.
    const onEnd = () => settle(() => (req.complete ? resolve(Buffer.concat(chunks)) : reject(clientGone())))
    const onError = (err: unknown) => settle(() => reject(isClientGone(err, req) ? clientGone() : err))
    const onClose = () => settle(() => reject(clientGone()))
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose)
  })
}
