import type { IncomingMessage } from 'node:http'
import { TesseraError } from './errors'
import { isClientGone } from './request'

/** The client closed the connection before its body was complete: not a server fault, and nobody to answer. */
export class ClientGone extends TesseraError {
  constructor() {
    super(400, 'the client closed the connection before the request body was complete', 'client_gone')
  }
}

/**
 * Reads a request body of at most `max` bytes; null when it is larger (the
 * declared length is checked first, so a large upload is refused unread). The
 * chunks are wiped once joined: a body may hold a share.
 */
export async function readBoundedBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  if (Number(req.headers['content-length'] ?? 0) > max) return null
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > max) return null
      chunks.push(chunk)
    }
    // A socket closed mid-body can end the stream quietly instead of failing it.
    if (!req.complete) throw new ClientGone()
    return Buffer.concat(chunks)
  } catch (err) {
    if (err instanceof ClientGone || isClientGone(err, req)) throw new ClientGone()
    throw err
  } finally {
    for (const c of chunks) c.fill(0)
  }
}
