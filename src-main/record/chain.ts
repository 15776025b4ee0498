import { createHash } from 'node:crypto'
import type { Line } from './events'

/** The `prev` of the first line: no line came before it. */
export const GENESIS = '0'.repeat(64)

/** Bounds that keep writing and verifying linear and small. */
export const MAX_LINE_BYTES = 64 * 1024
export const MAX_FILE_BYTES = 16 * 1024 * 1024
/** What a reader of a record file takes at most. */
export const RECORD_LIMIT = { bytes: MAX_FILE_BYTES, what: 'a record' }

/** SHA-256 of a line's UTF-8 bytes without its newline: what the next line's `prev` holds. */
export function lineHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/** One line of JSON with its keys in a fixed order, so that the same line hashes the same. */
export function serializeLine(line: Line): string {
  return JSON.stringify({ seq: line.seq, time: line.time, type: line.type, data: line.data, prev: line.prev })
}

/** Groups a hash in fours for reading aloud and comparing by eye. */
export function groupHash(hash: string): string {
  return hash.match(/.{1,4}/g)?.join(' ') ?? hash
}
