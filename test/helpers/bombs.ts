import { execFileSync } from 'node:child_process'
import { deflateRawSync, constants } from 'node:zlib'
import * as openpgp from 'openpgp'

/**
 * OpenPGP compression bombs: a message of a few KB that decompresses to 1 GiB
 * of zeros, encrypted to a key, as an attacker would hand one to an operator.
 * Built from repeated, independently decodable compressed pieces so that the
 * test never holds the gigabyte itself.
 */
export const BOMB_BYTES = 1024 * 1024 * 1024

const PIECE = 64 * 1024 * 1024

/** Raw deflate: one full-flushed block of 64 MiB of zeros repeated, then an empty final block. */
function deflateBomb(): Uint8Array {
  const piece = deflateRawSync(Buffer.alloc(PIECE), { level: 9, finishFlush: constants.Z_FULL_FLUSH })
  const final = deflateRawSync(Buffer.alloc(0))
  return Buffer.concat([...Array<Buffer>(BOMB_BYTES / PIECE).fill(piece), final])
}

/** zlib framing around the raw stream (the checksum is never reached). */
function zlibBomb(): Uint8Array {
  return Buffer.concat([Buffer.of(0x78, 0xda), deflateBomb(), Buffer.alloc(4)])
}

/**
 * bzip2 streams may be concatenated; one stream of 64 MiB of zeros is about 80
 * bytes. Node has no bzip2 compressor: python3 (which CI installs) has one.
 */
function bzip2Bomb(): Uint8Array {
  const script = `import bz2, sys; sys.stdout.buffer.write(bz2.compress(bytes(${PIECE}), 9))`
  const piece = execFileSync('python3', ['-c', script], { maxBuffer: 1024 * 1024 })
  return Buffer.concat(Array<Buffer>(BOMB_BYTES / PIECE).fill(piece))
}

export type BombAlgorithm = 'zip' | 'zlib' | 'bzip2'

/** Base64 of a binary OpenPGP message to `publicKey` whose one packet is a compressed 1 GiB of zeros. */
export async function compressionBomb(algorithm: BombAlgorithm, publicKey: openpgp.PublicKey): Promise<string> {
  const packet = new openpgp.CompressedDataPacket()
  // Set what read() would have parsed, so that write() sends these bytes as they are.
  Object.assign(packet, {
    algorithm: openpgp.enums.compression[algorithm],
    compressed: algorithm === 'zip' ? deflateBomb() : algorithm === 'zlib' ? zlibBomb() : bzip2Bomb(),
  })
  const list = new openpgp.PacketList<openpgp.AnyPacket>()
  list.push(packet)
  const message = new openpgp.Message(list)
  const encrypted = await openpgp.encrypt({ message, encryptionKeys: publicKey, format: 'binary' })
  return Buffer.from(encrypted).toString('base64')
}
