import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, execFileSync } from 'node:child_process'
import { closeSync, constants, openSync } from 'node:fs'
import { mkdir, open, symlink, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Keyset } from '../src-main/engine/keyset'
import { readRegularFile } from '../src-main/support/bounded-read'
import { Connections } from '../src-main/profiles/connections'
import { ProfileStore } from '../src-main/profiles/profile-store'
import { SessionCredentials } from '../src-main/profiles/credentials'
import { RecentKeysets } from '../src-main/session/recent-keysets'
import { runCli, spawnWithSinks, TESSERA, waitForOutput } from './helpers/cli'
import { makeKeyset, tempDir, type TestKeyset } from './helpers/keysets'

// npm run build first. Each hostile path is answered at once: a FIFO or a device
// is refused before it is read (a FIFO opened for reading would wait for a writer
// forever), a file above its reader's limit is refused by its size, unread.

let tmp: Awaited<ReturnType<typeof tempDir>>
let ks: TestKeyset
let fifo: string
let zeroLink: string
beforeAll(async () => {
  tmp = await tempDir('tessera-reads-')
  ks = await makeKeyset(tmp.dir, { shares: 3, threshold: 2 })
  fifo = join(tmp.dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  zeroLink = join(tmp.dir, 'zero-link.asc')
  await symlink('/dev/zero', zeroLink)
})
afterAll(async () => {
  // A reader still parked on the FIFO (without the fix) is let go by a writer that comes and goes.
  for (let i = 0; i < 8; i++) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK))
    } catch {
      break
    }
  }
  await tmp.cleanup()
})

/** A sparse file of `size` bytes: as large as it says, and free to make. */
async function sparse(name: string, size: number): Promise<string> {
  const path = join(tmp.dir, name)
  await writeFile(path, '')
  await truncate(path, size)
  return path
}

/** Far above the half second these take, for a loaded machine; a read left waiting never answers at all. */
const ANSWERED_WITHIN_MS = 15_000

describe('the CLI refuses a FIFO, a device or an oversized file at once', () => {
  const cases: Array<[string, () => Promise<string[]>, (a: string[]) => string]> = [
    ['init --pgp-keys naming a link to /dev/zero', async () => ['init', '--keyset', join(tmp.dir, 'new.json'), '--shares', '1', '--threshold', '1', '--pgp-keys', zeroLink],
      () => `tessera init: cannot read --pgp-keys ${zeroLink}: it is a device, not a regular file\n`],
    ['verify-share --share-file /dev/zero', async () => ['verify-share', '--keyset', ks.path, '--share-file', '/dev/zero'],
      () => 'tessera verify-share: cannot read --share-file /dev/zero: it is a device, not a regular file\n'],
    ['verify-share --share-file FIFO', async () => ['verify-share', '--keyset', ks.path, '--share-file', fifo],
      () => `tessera verify-share: cannot read --share-file ${fifo}: it is a FIFO, not a regular file\n`],
    ['verify-share --share-file of 5000 bytes', async () => ['verify-share', '--keyset', ks.path, '--share-file', await sparse('share.txt', 5000)],
      (a) => `tessera verify-share: cannot read --share-file ${a[4]}: it is larger than 4 KiB, the limit for a share\n`],
    ['decode --otp-file FIFO', async () => ['decode', '--encoded', 'AAAA', '--otp-file', fifo],
      () => `tessera decode: cannot read --otp-file ${fifo}: it is a FIFO, not a regular file\n`],
    ['decode --otp-file /dev/zero', async () => ['decode', '--encoded', 'AAAA', '--otp-file', '/dev/zero'],
      () => 'tessera decode: cannot read --otp-file /dev/zero: it is a device, not a regular file\n'],
    ['decode --pgp-key /dev/zero', async () => ['decode', '--encoded', 'AAAA', '--pgp-key', '/dev/zero'],
      () => 'tessera decode: cannot read --pgp-key /dev/zero: it is a device, not a regular file\n'],
    ['decode --pgp-key of 1 GiB', async () => ['decode', '--encoded', 'AAAA', '--pgp-key', await sparse('key.asc', 1024 ** 3)],
      (a) => `tessera decode: cannot read --pgp-key ${a[4]}: it is larger than 1 MiB, the limit for an OpenPGP key\n`],
    ['decode --passphrase-file FIFO', async () => ['decode', '--encoded', 'AAAA', '--pgp-key', ks.path, '--passphrase-file', fifo],
      () => `tessera decode: cannot read --passphrase-file ${fifo}: it is a FIFO, not a regular file\n`],
    ['record verify /dev/zero', async () => ['record', 'verify', '/dev/zero'],
      () => 'tessera record: cannot read /dev/zero: it is a device, not a regular file\n'],
    ['record verify FIFO', async () => ['record', 'verify', fifo],
      () => `tessera record: cannot read ${fifo}: it is a FIFO, not a regular file\n`],
    ['record verify of 2 GiB', async () => ['record', 'verify', await sparse('big.jsonl', 2 * 1024 ** 3)],
      (a) => `tessera record: cannot read ${a[2]}: it is larger than 16 MiB, the limit for a record\n`],
    ['serve --keyset FIFO', async () => ['serve', '--keyset', fifo, '--port', '0'],
      () => `tessera serve: could not read keyset ${fifo}: it is a FIFO, not a regular file\n`],
    ['serve --keyset of 2 GiB', async () => ['serve', '--keyset', await sparse('big.json', 2 * 1024 ** 3), '--port', '0'],
      (a) => `tessera serve: could not read keyset ${a[2]}: it is larger than 6 MiB, the limit for a keyset file\n`],
    ['serve --tls-cert FIFO', async () => ['serve', '--keyset', ks.path, '--port', '0', '--tls-cert', fifo, '--tls-key', fifo],
      () => `tessera serve: cannot read --tls-cert ${fifo}: it is a FIFO, not a regular file\n`],
  ]
  it.for(cases)('%s', async ([, args, message]) => {
    const argv = await args()
    const started = Date.now()
    const r = await runCli(argv, { timeoutMs: ANSWERED_WITHIN_MS })
    expect(r.code, 'answered, not left waiting').toBe(1)
    expect(Date.now() - started).toBeLessThan(ANSWERED_WITHIN_MS)
    expect(r.stderr).toBe(message(argv))
  })
})

describe('standard input is read up to its reader\'s limit', () => {
  it('refuses 1500 MB piped into verify-share after its first 4 KiB, in bounded memory', async () => {
    const started = Date.now()
    const r = await new Promise<{ stderr: string; maxRssKb: number }>((resolve) => {
      // GNU time prints the peak RSS of the command (the shell and the CLI) as the last line.
      const pipeline = `head -c 1500M /dev/zero | "${process.execPath}" "${TESSERA}" verify-share --keyset "${ks.path}"`
      const child = spawn('/usr/bin/time', ['-f', '%M', 'sh', '-c', pipeline])
      let stderr = ''
      child.stderr!.on('data', (d) => (stderr += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
      child.on('close', () => {
        clearTimeout(timer)
        resolve({ stderr, maxRssKb: Number(stderr.trimEnd().split('\n').at(-1)) })
      })
    })
    expect(r.stderr).toContain('tessera verify-share: cannot read --share-file from standard input: it is larger than 4 KiB, the limit for a share\n')
    expect(r.maxRssKb).toBeLessThan(200 * 1024)
    expect(Date.now() - started).toBeLessThan(ANSWERED_WITHIN_MS)
  })

  it('reads /dev/zero as standard input only up to the limit', async () => {
    const zero = openSync('/dev/zero', 'r')
    const child = spawn(process.execPath, [TESSERA, 'verify-share', '--keyset', ks.path], { stdio: [zero, 'pipe', 'pipe'] })
    closeSync(zero)
    let stderr = ''
    child.stderr!.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), ANSWERED_WITHIN_MS)
    const code = await new Promise((resolve) => child.on('close', resolve))
    clearTimeout(timer)
    expect(stderr).toBe('tessera verify-share: cannot read --share-file from standard input: it is larger than 4 KiB, the limit for a share\n')
    expect(code).toBe(1)
  })

  it('refuses an oversized file as standard input by its size', async () => {
    const big = openSync(await sparse('stdin.bin', 1024 ** 3), 'r')
    const child = spawn(process.execPath, [TESSERA, 'decode', '--encoded', '-', '--otp', 'x'], { stdio: [big, 'pipe', 'pipe'] })
    closeSync(big)
    let stderr = ''
    child.stderr!.on('data', (d) => (stderr += d))
    const code = await new Promise((resolve) => child.on('close', resolve))
    expect(stderr).toBe('tessera decode: cannot read --encoded from standard input: it is larger than 64 KiB, the limit for an encoded value\n')
    expect(code).toBe(1)
  })
})

/** Settles with the outcome, or with 'no answer' once `ms` passed: a parked read must fail the test, not hang it. */
async function within<T>(ms: number, work: Promise<T>): Promise<T | 'no answer'> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'no answer'>((resolve) => (timer = setTimeout(() => resolve('no answer'), ms)))
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}

const failure = (p: Promise<unknown>) => p.then(() => 'read', (err: Error) => err.message)

describe('readRegularFile', () => {
  const limit = { bytes: 4096, what: 'a test file' }
  it('reads a file of exactly its limit, and refuses one byte more by its size', async () => {
    const exact = join(tmp.dir, 'exact.bin')
    await writeFile(exact, Buffer.alloc(4096, 7))
    expect((await readRegularFile(exact, limit)).equals(Buffer.alloc(4096, 7))).toBe(true)
    await writeFile(exact, Buffer.alloc(4097, 7))
    await expect(readRegularFile(exact, limit)).rejects.toThrow('it is larger than 4 KiB, the limit for a test file')
  })

  it('reads past a size that understates the content (a file growing while read), up to the limit', async () => {
    // /proc files state a size of 0 and hold more.
    const status = await readRegularFile('/proc/self/status', limit)
    expect(status.toString('utf8')).toMatch(/^Name:.*\n[\s\S]*VmRSS:/)
    await expect(readRegularFile('/proc/self/status', { bytes: 64, what: 'a test file' })).rejects.toThrow('it is larger than 64 bytes')
  })
})

describe('the app\'s own files are refused at once when they are not regular files or too large', () => {
  it('profiles.json', async () => {
    // The store opens without reading (a damaged file stops no local ceremony); listing reads it.
    expect(await within(2000, failure((await ProfileStore.open(fifo)).list()))).toBe(`cannot read profiles ${fifo}: it is a FIFO, not a regular file`)
    const big = await sparse('profiles.json', 64 * 1024 ** 2)
    expect(await within(2000, failure((await ProfileStore.open(big)).list()))).toBe(`cannot read profiles ${big}: it is larger than 1 MiB, the limit for a profiles file`)
  })

  it('recent-keysets.json (an unreadable list is an empty one)', async () => {
    const dir = join(tmp.dir, 'recent')
    await mkdir(dir)
    execFileSync('mkfifo', [join(dir, 'recent-keysets.json')])
    expect(await within(2000, new RecentKeysets(dir).list())).toEqual([])
  })

  it('a profile\'s CA file', async () => {
    const store = await ProfileStore.open(join(tmp.dir, 'ca', 'profiles.json'))
    const connections = new Connections(store, new SessionCredentials())
    const profile = { id: 'p', name: 'p', address: 'https://127.0.0.1:8200', allowInsecureHttp: false, skipVerify: false }
    expect(await within(2000, failure(connections.target({ ...profile, caFile: fifo })))).toBe(`cannot read the CA file ${fifo}: it is a FIFO, not a regular file`)
    expect(await within(2000, failure(connections.target({ ...profile, caFile: '/dev/zero' })))).toBe('cannot read the CA file /dev/zero: it is a device, not a regular file')
  })

  it('a keyset: Keyset.open on a FIFO, twelve times, parks no thread', async () => {
    const opens = Array.from({ length: 12 }, () => failure(Keyset.open(fifo)))
    expect(await within(2000, Promise.all(opens))).toEqual(Array(12).fill(`could not read keyset ${fifo}: it is a FIFO, not a regular file`))
    // Every thread-pool thread is free: a file operation still completes.
    const handle = await within(2000, open(ks.path, 'r'))
    expect(handle).not.toBe('no answer')
    if (handle !== 'no answer') await handle.close()
  })
})

describe('tessera web asked to open a FIFO as a keyset', () => {
  it('refuses it each time, and the next attempt still starts', async () => {
    const run = spawnWithSinks(['web', '--port', '0', '--keyset', ks.path], { stdout: 'read', stderr: 'read' }, { TESSERA_CONFIG_DIR: join(tmp.dir, 'web-config') })
    try {
      const [, port, token] = await waitForOutput(run, /open http:\/\/127\.0\.0\.1:(\d+)\/#access=([A-Za-z0-9_-]+)\n/)
      const rpc = (channel: string, input: unknown) =>
        fetch(`http://127.0.0.1:${port}/rpc/${channel}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(input),
          signal: AbortSignal.timeout(3000),
        }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }))
      for (let i = 0; i < 6; i++) {
        const refused = await rpc('backend.openKeyset', { path: fifo })
        expect(refused.status).toBe(400)
        expect(refused.body.message).toContain('it is a FIFO, not a regular file')
      }
      expect((await rpc('backend.openKeyset', { path: ks.path })).status).toBe(200)
      const start = await rpc('attempt.start', { flow: 'root' })
      expect(start.status).toBe(200)
      expect(start.body).toMatchObject({ started: true, progress: 0, running_flow: 'root' })
    } finally {
      run.child.kill('SIGKILL')
      await run.exited
    }
  })
})
