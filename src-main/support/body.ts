import type { IncomingMessage } from 'node:http'

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
    return Buffer.concat(chunks)
  } finally {
    for (const c of chunks) c.fill(0)
  }
}
