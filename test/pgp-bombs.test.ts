import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import * as openpgp from 'openpgp'
import { createRouter } from '../src-main/ipc/router'
import { handlersFor } from '../src-main/ipc/handlers'
import { Session } from '../src-main/session/session'
import { TESSERA } from './helpers/cli'
import { compressionBomb, type BombAlgorithm } from './helpers/bombs'
import { tempDir } from './helpers/keysets'

/**
 * A PGP message of a few KB that decompresses to 1 GiB, encrypted to the
 * operator's own key: decoding it must fail fast with a sentence, in bounded
 * memory, from the CLI and from the app's decode.pgp alike.
 */

const ALGORITHMS: BombAlgorithm[] = ['bzip2', 'zip', 'zlib']
const MAX_RSS_BYTES = 200 * 1024 * 1024

let tmp: Awaited<ReturnType<typeof tempDir>>
let keyFile: string
let armoredKey: string
let publicKey: openpgp.PublicKey
let rssHook: string
const bombs = new Map<BombAlgorithm, string>()

beforeAll(async () => {
  tmp = await tempDir('tessera-bombs-')
  const generated = await openpgp.generateKey({ userIDs: [{ name: 'Holder', email: 'holder@example.com' }], type: 'curve25519', format: 'object' })
  armoredKey = generated.privateKey.armor()
  publicKey = generated.publicKey
  keyFile = join(tmp.dir, 'holder.asc')
  await writeFile(keyFile, armoredKey)
  // Preloaded into the spawned CLI: reports its peak resident memory as it exits.
  rssHook = join(tmp.dir, 'rss-hook.mjs')
  await writeFile(rssHook, "import { writeSync } from 'node:fs'\nprocess.on('exit', () => writeSync(2, `\\nmaxrss=${process.resourceUsage().maxRSS}\\n`))\n")
  for (const algorithm of ALGORITHMS) bombs.set(algorithm, await compressionBomb(algorithm, publicKey))
})
afterAll(() => tmp.cleanup())

function decodeCli(encoded: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number; rssBytes: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, ['--import', pathToFileURL(rssHook).href, TESSERA, 'decode', '--encoded', '-', '--pgp-key', keyFile])
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      const kib = Number(/maxrss=(\d+)/.exec(stderr)?.[1] ?? NaN)
      resolve({ code, stdout, stderr: stderr.replace(/\nmaxrss=\d+\n$/, ''), ms: Date.now() - started, rssBytes: kib * 1024 })
    })
    child.stdin.on('error', () => undefined)
    child.stdin.end(encoded)
  })
}

describe('PGP compression bombs', () => {
  it('are small messages that would expand to 1 GiB', () => {
    expect(bombs.get('bzip2')!.length).toBeLessThan(4 * 1024)
    for (const b of bombs.values()) expect(b.length).toBeLessThan(2 * 1024 * 1024)
  })

  for (const algorithm of ALGORITHMS) {
    it(`tessera decode refuses a ${algorithm} bomb with a sentence, quickly, under 200 MB`, async () => {
      const r = await decodeCli(bombs.get(algorithm)!)
      expect(r.code, r.stderr).toBe(1)
      // A bomb beyond the 64 KiB an encoded value may be is refused before it is read whole, as the app's IPC refuses it.
      expect(r.stderr).toMatch(
        bombs.get(algorithm)!.length > 64 * 1024
          ? /^tessera decode: cannot read --encoded from standard input: it is larger than 64 KiB, the limit for an encoded value\n$/
          : /^tessera decode: the message expands to more than 64 KiB when decompressed: .*not one/,
      )
      expect(r.stdout).toBe('')
      expect(r.rssBytes).toBeGreaterThan(0)
      expect(r.rssBytes).toBeLessThan(MAX_RSS_BYTES)
      // The contract is 2 s; the margin is for a loaded machine (process start included).
      expect(r.ms).toBeLessThan(8000)
    })
  }

  it("the app's decode.pgp refuses a bomb the same way", async () => {
    const dispatch = createRouter(handlersFor(new Session()))
    const started = Date.now()
    const result = await dispatch('decode.pgp', { encoded: bombs.get('bzip2')!, privateKey: armoredKey })
    expect(result).toEqual({ ok: false, error: { code: 'pgp', message: expect.stringMatching(/expands to more than 64 KiB/) } })
    expect(Date.now() - started).toBeLessThan(8000)
  })

  it('a real result, compressed as gpg would, still decodes', async () => {
    const token = 'hvs.' + 'aB3dE5fG7hJ9kL1mN2pQ4rS6'
    const message = await openpgp.createMessage({ binary: Buffer.from(token) })
    const encrypted = await openpgp.encrypt({
      message,
      encryptionKeys: publicKey,
      format: 'binary',
      config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib },
    })
    const r = await decodeCli(Buffer.from(encrypted).toString('base64'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(`${token}\n`)
  })
})
