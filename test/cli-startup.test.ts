import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as openpgp from 'openpgp'
import { TESSERA } from './helpers/cli'
import { tempDir } from './helpers/keysets'

/**
 * A command loads only what it runs: `tessera decode` is a short-lived process
 * whose wall time is mostly start-up, so the server, the keyset schemas, Shamir,
 * the file lock and the keychain must not be loaded for it, nor OpenPGP for a
 * command that needs none. Run `npm run build` first.
 */

const RECORDER = fileURLToPath(new URL('./helpers/record-imports.mjs', import.meta.url))
/** Modules no decode needs; each was loaded by every command before commands were loaded lazily. */
const NOT_FOR_DECODE = ['valibot', 'proper-lockfile', 'shamir-secret-sharing', 'secrets.js-grempe', 'keytar', 'node:http', 'node:https']

let tmp: Awaited<ReturnType<typeof tempDir>>
let runs = 0
beforeAll(async () => {
  tmp = await tempDir('tessera-startup-')
})
afterAll(() => tmp.cleanup())

/** Runs the built command and returns its exit code, output and the modules it loaded. */
async function loadedBy(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string; modules: string[] }> {
  const log = join(tmp.dir, `imports-${++runs}.log`)
  await writeFile(log, '')
  const child = spawn(process.execPath, ['--import', RECORDER, TESSERA, ...args], { env: { ...process.env, TESSERA_IMPORT_LOG: log } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  child.stdin.end(stdin)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { code, stdout, stderr, modules: (await readFile(log, 'utf8')).split('\n').filter(Boolean) }
}

function packagesIn(modules: string[], names: string[]): string[] {
  return names.filter((name) =>
    name.startsWith('node:') ? modules.includes(name) : modules.some((m) => m.includes(`/node_modules/${name}/`)),
  )
}

describe('each command loads only what it needs', () => {
  it('--version loads neither OpenPGP nor anything a command needs', async () => {
    const run = await loadedBy(['--version'])
    expect(run.code).toBe(0)
    // The recorder works: it saw the command's own entry.
    expect(run.modules.some((m) => m.endsWith('/out/main/cli.js'))).toBe(true)
    expect(packagesIn(run.modules, ['openpgp', ...NOT_FOR_DECODE])).toEqual([])
  })

  it('decode with an OTP loads neither OpenPGP nor the server, keyset, Shamir or keychain modules', async () => {
    const run = await loadedBy(['decode', '--encoded', 'Bxg9JQQqOCNKBRICNwMIRzo2J3cWCBRi', '--otp', '3JhHkONiyiaNYj14nnD9xZQS'])
    expect(run.code, run.stderr).toBe(0)
    // Vault's own test vector (vault/sdk/helper/xor).
    expect(run.stdout.trim()).toBe('4RUmoevJ3lsLni9sTXcNnRE1')
    expect(packagesIn(run.modules, ['openpgp', ...NOT_FOR_DECODE])).toEqual([])
  })

  it('decode with a PGP key loads OpenPGP and still none of the rest', async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Decoder' }], format: 'armored' })
    const keyFile = join(tmp.dir, 'decoder.asc')
    await writeFile(keyFile, privateKey)
    const token = `hvs.${'Ab3'.repeat(8)}`
    const encrypted = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: Buffer.from(token) }),
      encryptionKeys: await openpgp.readKey({ armoredKey: publicKey }),
      format: 'binary',
    })
    const run = await loadedBy(['decode', '--encoded', '-', '--pgp-key', keyFile], Buffer.from(encrypted).toString('base64'))
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout.trim()).toBe(token)
    expect(packagesIn(run.modules, ['openpgp'])).toEqual(['openpgp'])
    expect(packagesIn(run.modules, NOT_FOR_DECODE)).toEqual([])
  })
})
