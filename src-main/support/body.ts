import type { IncomingMessage } from 'node:http'
import { TesseraError } from './errors'
import { isClientGone } from './request'

/** The client closed the connection before its body was complete: not a server fault, and nobody to answer. */
const clientGone = () => new TesseraError(400, 'the client closed the connection before the request body was complete', 'client_gone')

/**
 * Reads a request body of at most `max` bytes; null when it is larger (the
 * declared length is checked first, so a large upload is refused unread, and
 * one that grows past `max` is dropped with its connection). The chunks are
 * wiped once joined: a body may hold a share.
 */
export async function readBoundedBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  if (Number(req.headers['content-length'] ?? 0) > max) return null
  // Gone while the request waited (a token lookup): no event will come.
  if (req.destroyed) throw clientGone()
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length
      // Nothing more of it is read: leaving the loop destroys the request, and the connection with it.
      if (size > max) return null
      chunks.push(chunk)
    }
    // A socket closed mid-body can end the stream quietly instead of failing it.
    if (!req.complete) throw clientGone()
    return Buffer.concat(chunks)
  } catch (err) {
    throw isClientGone(err, req) ? clientGone() : err
  } finally {
    for (const c of chunks) c.fill(0)
  }
}
