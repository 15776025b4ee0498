import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as openpgp from 'openpgp'
import { expect } from 'vitest'
import { callApi } from './server'
import { runCli, startServe } from './cli'

/**
 * Drives an installed `tessera` command as an operator would: init a keyset,
 * one root ceremony over HTTP through `serve`, decode the result with `decode`,
 * prove the token with lookup-self, hand a share out to a PGP key and decode
 * it back, and load the web app through `web`.
 */
export async function exerciseInstalled(bin: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-installed-'))
  try {
    const keyset = join(dir, 'keyset.json')
    const init = await runCli(['init', '--keyset', keyset, '--shares', '3', '--threshold', '2', '--format', 'json'], { bin })
    expect(init.stderr).toBe('')
    expect(init.code).toBe(0)
    const { keys } = JSON.parse(init.stdout) as { keys: string[] }

    const serve = await startServe(['--keyset', keyset], { bin })
    try {
      const started = await callApi(serve.url, 'PUT', 'sys/generate-root/attempt', {})
      expect(started.status).toBe(200)
      const { nonce, otp } = started.json as { nonce: string; otp: string }
      await callApi(serve.url, 'PUT', 'sys/generate-root/update', { key: keys[0], nonce })
      const done = await callApi(serve.url, 'PUT', 'sys/generate-root/update', { key: keys[2], nonce })
      expect(done.json).toMatchObject({ complete: true })
      const encoded = (done.json as { encoded_token: string }).encoded_token

      const decoded = await runCli(['decode', '--encoded', encoded, '--otp-file', '-'], { bin, stdin: otp })
      expect(decoded.code).toBe(0)
      const token = decoded.stdout.trim()
      expect(token).toMatch(/^hvs\.[A-Za-z0-9]{24}$/)
      const lookup = await callApi(serve.url, 'GET', 'auth/token/lookup-self', undefined, { 'X-Vault-Token': token })
      expect(lookup.status).toBe(200)
    } finally {
      await serve.stop()
    }

    await pgpHandOut(bin, dir)
    await loadWebApp(bin)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** A share encrypted to a holder's key by `init`, decoded by `decode` and accepted by `verify-share`: openpgp both ways. */
async function pgpHandOut(bin: string, dir: string): Promise<void> {
  const key = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Holder' }], format: 'armored' })
  const [publicKey, privateKey, keyset] = ['holder.asc', 'holder-secret.asc', 'pgp-keyset.json'].map((f) => join(dir, f)) as [string, string, string]
  await writeFile(publicKey, key.publicKey)
  await writeFile(privateKey, key.privateKey, { mode: 0o600 })
  const init = await runCli(['init', '--keyset', keyset, '--shares', '1', '--threshold', '1', '--pgp-keys', publicKey, '--format', 'json'], { bin })
  expect(init.code, init.stderr).toBe(0)
  const encrypted = (JSON.parse(init.stdout) as { keys_base64: string[] }).keys_base64[0]!
  const decoded = await runCli(['decode', '--encoded', '-', '--pgp-key', privateKey], { bin, stdin: encrypted })
  expect(decoded.code, decoded.stderr).toBe(0)
  const checked = await runCli(['verify-share', '--keyset', keyset], { bin, stdin: decoded.stdout.trim() })
  expect(checked.code, checked.stderr).toBe(0)
}

/** Starts `tessera web`, loads the page and its script, and calls app.info with the printed token. */
async function loadWebApp(bin: string): Promise<void> {
  const child = spawn(bin, ['web', '--port', '0'], { env: { ...process.env, TESSERA_CONFIG_DIR: await mkdtemp(join(tmpdir(), 'tessera-cfg-')) } })
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (d) => {
        out += d
        const m = /open (http:\/\/127\.0\.0\.1:\d+\/#access=[A-Za-z0-9_-]+)/.exec(out)
        if (m) resolve(m[1]!)
      })
      child.on('close', (code) => reject(new Error(`tessera web exited with ${code}`)))
    })
    const url = new URL(address)
    const token = url.hash.slice('#access='.length)
    const page = await fetch(new URL('/', url))
    expect(page.status).toBe(200)
    const html = await page.text()
    const script = /<script[^>]+src="([^"]+)"/.exec(html)?.[1]
    expect(script).toBeDefined()
    const js = await fetch(new URL(script!, url))
    expect(js.status).toBe(200)
    expect((await js.arrayBuffer()).byteLength).toBeGreaterThan(1000)
    const info = await fetch(new URL('/rpc/app.info', url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: 'null',
    })
    expect(await info.json()).toMatchObject({ name: 'tessera' })
  } finally {
    child.kill('SIGTERM')
  }
}
